"""Covariance kernels evaluated block by block: the ``Kernel`` base class, Matérn, Gaussian.

A kernel is called on two point sets and returns their covariance block,
``kernel(X, Y)[..., a, b] = k(X[..., a, :], Y[..., b, :])``. Leading batch axes are
allowed, so that many small blocks (one per supernode) are formed in one call, and
the N×N matrix is never built unless the caller asks for it with
``kernel(X, X)``.

Rows need not be plain points: the factor functions
(:func:`~refimpl.vecchia.factor.kl_factor`,
:func:`~refimpl.vecchia.factor.supernodal_kl_factor`) only ask a kernel for the
blocks of rows they name, so a *measurement kernel* whose rows carry a point and a
measurement type (a value, a derivative) works with them unchanged, repeated
coordinates included. Only the orderings and patterns read the rows as points.

Examples
--------
>>> import numpy as np
>>> from refimpl.vecchia import Matern
>>> k = Matern(nu=1.5, length_scale=0.5)
>>> x = np.array([[0.0], [1.0]])
>>> k(x, x).round(4)
array([[1.    , 0.1397],
       [0.1397, 1.    ]])
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from refimpl import backend
from refimpl.validation import as_float_array, check_array_size, check_integer, check_positive

from .distances import check_point_arrays, distances_of_checked

__all__ = ["Kernel", "Matern", "Gaussian"]

_BLOCK_ENTRIES = 1 << 15  # entries per block of rows: temporaries stay in the L2 cache
_LARGE_PROFILE = 1e3  # profiles vanish to rounding beyond this scaled distance: e^-1000 = 0


class Kernel:
    r"""A stationary covariance ``k(x, y) = variance · profile(|x − y| / length_scale)``.

    Subclasses define :meth:`profile`, which :meth:`__call__` calls on scaled distances
    it computed itself (finite and non-negative), so a subclass's profile need not check
    them. With a scalar length scale the kernel is
    isotropic and works in any dimension; with an array of d length scales each
    coordinate is scaled by its own, and points of another dimension raise
    ValueError (as does a dimension mismatch between the two point sets).

    Parameters
    ----------
    length_scale : float or array_like, shape (d,)
        l > 0, or one length scale per coordinate.
    variance : float, optional
        σ² > 0, the value at distance 0.

    Attributes
    ----------
    length_scale : float or ndarray
    variance : float

    Notes
    -----
    .. math::

        k(x, y) = \sigma^2\, \phi\big(\|D^{-1}(x - y)\|\big),
        \qquad D = \operatorname{diag}(l_1, \dots, l_d),

    with :math:`\phi(0) = 1` the profile (a scalar l is :math:`D = l I`).

    References
    ----------
    .. [1] Rasmussen, Williams, "Gaussian Processes for Machine Learning", 2006,
       Sec. 4.2.

    Examples
    --------
    >>> import numpy as np
    >>> class Exponential(Kernel):
    ...     def profile(self, r):
    ...         return np.exp(-r)
    >>> float(Exponential(2.0)(np.zeros((1, 1)), np.ones((1, 1)))[0, 0])  # exp(-1/2)
    0.6065306597126334
    """

    def __init__(self, length_scale, variance=1.0):
        # a NumPy scalar (shape ()) is one length scale, like a float
        if isinstance(length_scale, list | tuple) or np.ndim(length_scale) > 0:
            if getattr(length_scale, "dtype", None) == np.bool_:
                raise ValueError(f"length_scale: expected numbers, received {length_scale!r:.60}")
            scales = backend.to_numpy(as_float_array("length_scale", length_scale, ndim=1))
            if scales.size == 0 or not (scales > 0).all():
                raise ValueError(
                    f"length_scale: expected positive per-dimension length scales, "
                    f"received {scales.tolist()}"
                )
            self.length_scale = scales
        else:
            self.length_scale = check_positive("length_scale", length_scale)
        self.variance = check_positive("variance", variance)

    @property
    def dim(self):
        """Point dimension required by the kernel (None: any, for a scalar length scale)."""
        return None if isinstance(self.length_scale, float) else self.length_scale.size

    def check_dimension(self, d, name="points"):
        """Raise ValueError if points of dimension ``d`` do not fit this kernel.

        Parameters
        ----------
        d : int
            The dimension of the points, d >= 1.
        name : str, optional
            The caller's argument that holds the points, named by the error.

        Raises
        ------
        ValueError
            Naming ``name`` if a kernel with one length scale per coordinate gets
            another dimension; naming ``d`` or ``name`` if they are not an integer
            >= 1 and a string.

        Examples
        --------
        >>> import numpy as np
        >>> Gaussian(np.array([1.0, 2.0])).check_dimension(3, "X")
        Traceback (most recent call last):
        ...
        ValueError: X: expected points of dimension 2 to match the kernel's 2 length scales, ...
        """
        d = check_integer("d", d, minimum=1)
        if not isinstance(name, str):
            raise ValueError(f"name: expected the argument's name as a str, received {name!r}")
        self._check_dimension(d, name)

    def _check_dimension(self, d, name):
        """:meth:`check_dimension` for a dimension read off a checked array (hot paths)."""
        if self.dim is not None and d != self.dim:
            raise ValueError(
                f"{name}: expected points of dimension {self.dim} to match the kernel's "
                f"{self.dim} length scales, received dimension {d}"
            )

    @property
    def _fresh_finite_blocks(self):
        """True for refimpl's own kernels (exactly Matern or Gaussian, not a subclass) at a
        variance that cannot overflow: their blocks are fresh, finite, exactly symmetric
        arrays. Their profiles lie in [0, 1] up to rounding (1 + 2⁻⁵² has been seen)."""
        own = type(self).__dict__.get("_bounded_profile", False)
        return own and self.variance <= 0.5 * np.finfo(float).max

    def profile(self, r):
        """Correlation as a function of the scaled distance ``r = |x − y| / length_scale``.

        The hook a subclass defines (the base class has none). :meth:`__call__` passes
        finite, non-negative arrays.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no profile(r)")

    def _profile_overwriting(self, r):
        """The profile of checked distances, allowed to overwrite ``r`` (the built-in
        kernels fuse it in place)."""
        return self.profile(r)

    def __call__(self, X, Y=None):
        r"""Covariance block between the rows of ``X`` and of ``Y``.

        Parameters
        ----------
        X : ndarray, shape (..., n, d)
            Finite points; leading batch axes allowed.
        Y : ndarray, shape (..., m, d), optional
            Defaults to ``X``.

        Returns
        -------
        K : ndarray, shape (..., n, m)
            Finite, on the backend of ``X``.

        Notes
        -----
        .. math::

            K_{ab} = \sigma^2\, \phi\big(|x_a - y_b| / l\big),

        with :math:`\phi` the :meth:`profile`. Rows are evaluated in blocks of
        about 32k entries, so the temporaries of the distance and the profile stay
        in cache (a stack of blocks, with leading axes, is evaluated at once).

        References
        ----------
        .. [1] Rasmussen, Williams, "Gaussian Processes for Machine Learning", 2006,
           Ch. 4.

        Examples
        --------
        >>> import numpy as np
        >>> Gaussian(1.0)(np.zeros((2, 1, 1)), np.ones((2, 1, 1))).shape  # batch axes
        (2, 1, 1)
        """
        X, Y = check_point_arrays(X, Y)
        self._check_dimension(X.shape[-1], "X")
        if not isinstance(self.length_scale, float):  # one length scale per coordinate (ARD)
            scales = backend.asarray(self.length_scale, like=X, dtype=X.dtype)
            X, Y = X / scales, Y / scales
            length_scale = 1.0
        else:
            length_scale = self.length_scale
        xp = backend.array_namespace(X)
        n, m = X.shape[-2], Y.shape[-2]
        shape = np.broadcast_shapes(X.shape[:-2], Y.shape[:-2]) + (n, m)
        check_array_size("X", shape)
        # one matrix: blocks of rows; a stack of small blocks (the factors' case): at once
        rows = max(1, _BLOCK_ENTRIES // max(1, m)) if len(shape) == 2 else max(1, n)
        # refimpl's own kernels: the profile's fresh array can be the result, and it needs
        # no finiteness check; anything else (a subclass's profile may return a scalar or
        # a view) is copied and checked.
        bounded = self._fresh_finite_blocks
        out = None if bounded and 0 < n <= rows else xp.empty(shape, dtype=X.dtype)
        for start in range(0, n, rows):
            r = distances_of_checked(X[..., start : start + rows, :], Y)  # (..., rows, m)
            if length_scale != 1.0:
                r /= length_scale
            xp.minimum(r, _LARGE_PROFILE, out=r)  # φ(∞) = 0 without inf · 0
            if out is None:  # one block: the profile's own array is the result
                out = self._profile_overwriting(r)
            else:
                out[..., start : start + rows, :] = self._profile_overwriting(r)
        if self.variance != 1.0:
            with np.errstate(over="ignore"):  # an overflow is reported just below
                out *= self.variance
        if not bounded and not bool(xp.all(xp.isfinite(out))):
            raise ValueError(
                f"variance: the kernel values overflow (variance {self.variance!r}); "
                "rescale the data"
            )
        return out

    def __repr__(self):
        return f"{type(self).__name__}({self._args()})"

    def _args(self):
        return f"length_scale={self.length_scale!r}, variance={self.variance!r}"


def _checked_distances(r):
    """``r`` as a float array of finite, non-negative scaled distances, else ValueError
    naming ``r``; NumPy and CuPy arrays stay on their backend, anything else becomes NumPy."""
    if isinstance(r, bool | np.bool_) or getattr(r, "dtype", None) == np.bool_:
        raise ValueError(f"r: expected scaled distances, received booleans {r!r:.60}")
    r = as_float_array("r", r)
    xp = backend.array_namespace(r)
    if r.size and bool(xp.any(r < 0)):
        raise ValueError(
            f"r: expected non-negative scaled distances, received minimum {float(xp.min(r))!r}"
        )
    return r


class Matern(Kernel):
    r"""Matérn covariance with smoothness ``nu``.

    Parameters
    ----------
    nu : float
        Smoothness > 0. The half-integers 1/2, 3/2, 5/2 and 7/2 use closed forms;
        any other value uses the modified Bessel function ``scipy.special.kv``,
        evaluated on the CPU (CuPy input is copied to the host and back, since
        ``cupyx.scipy.special`` has no ``kv``). Below a scaled distance
        :math:`s_0 = \varepsilon^{1/(2\min(\nu, 1))}` the value is 1 to rounding and
        is returned as such. Very large ν (where ``kv`` overflows at distances that
        matter, about ν ≥ 100) raises ValueError.
    length_scale : float or ndarray, shape (d,)
        ``l > 0``, or one length scale per coordinate.
    variance : float, optional
        ``σ² > 0``, the value at distance 0.

    Notes
    -----
    With :math:`s = \sqrt{2\nu}\, r / l`,

    .. math::

        k(r) = \sigma^2 \frac{2^{1-\nu}}{\Gamma(\nu)} s^{\nu} K_\nu(s),

    which for :math:`\nu = p + 1/2` is :math:`e^{-s}` times a polynomial:
    :math:`1`, :math:`1 + s`, :math:`1 + s + s^2/3` and
    :math:`1 + s + 2 s^2/5 + s^3/15`. The Matérn kernel with
    :math:`\nu + d/2` integer is the Green's function of an elliptic operator, the
    setting in which the screening effect is proven.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021.
    .. [2] Rasmussen, Williams, "Gaussian Processes for Machine Learning", 2006,
       eq. (4.14)–(4.17).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0.0], [0.3, 0.4]])
    >>> float(Matern(0.5, 1.0)(x)[0, 1])  # exp(-0.5)
    0.6065306597126334
    """

    _bounded_profile = True  # see Kernel._fresh_finite_blocks

    _CLOSED_FORMS = (0.5, 1.5, 2.5, 3.5)

    def __init__(self, nu, length_scale, variance=1.0):
        self.nu = check_positive("nu", nu)
        if self.nu > 1000:
            # Γ(ν) and K_ν overflow long before; the kernel is then the Gaussian anyway.
            raise ValueError(
                f"nu: expected a smoothness <= 1000 (use Gaussian for the limit), received {nu!r}"
            )
        super().__init__(length_scale, variance)

    def _profile_overwriting(self, r):
        if self.nu not in (0.5, 1.5, 2.5) or not isinstance(r, np.ndarray):
            return self._profile(r)
        s = r
        s *= math.sqrt(2.0 * self.nu)
        e = np.negative(s)
        np.exp(e, out=e)  # e^{-s}
        if self.nu == 0.5:
            return e
        if self.nu == 1.5:
            s += 1.0
            s *= e
            return s  # (1 + s) e^{-s}
        q = s * s
        q *= 1.0 / 3.0
        q += s
        q += 1.0
        q *= e
        return q  # (1 + s + s²/3) e^{-s}

    def profile(self, r):
        """Matérn correlation at scaled distances ``r`` (see the class Notes).

        Parameters
        ----------
        r : array_like
            Finite scaled distances ``|x − y| / length_scale`` >= 0, any shape.

        Returns
        -------
        ndarray
            Same shape, values in [0, 1]; on the backend of ``r``.

        Examples
        --------
        >>> Matern(0.5, 1.0).profile([0.0, 1.0]).round(4).tolist()  # exp(-r)
        [1.0, 0.3679]
        """
        r = _checked_distances(r)
        if self.nu in self._CLOSED_FORMS:
            # every closed form is polynomial(s) · e^{-s}, exactly 0.0 once e^{-s} underflows
            # (s > 745.2); ν >= 1/2 makes s >= r, so clipping r at 1000 is exact and keeps
            # s² and s³ from overflowing to inf · 0 = NaN
            r = backend.array_namespace(r).minimum(r, _LARGE_PROFILE)
        with np.errstate(over="ignore"):  # Bessel form: s = inf past 1e307 gives 0 below
            return self._profile(r)

    def _profile(self, r):
        """:meth:`profile` of checked distances (the hot path of :meth:`__call__`)."""
        xp = backend.array_namespace(r)
        nu = self.nu
        s = math.sqrt(2.0 * nu) * r
        if nu == 0.5:
            return xp.exp(-s)
        if nu == 1.5:
            return (1.0 + s) * xp.exp(-s)
        if nu == 2.5:
            return (1.0 + s + s * s / 3.0) * xp.exp(-s)
        if nu == 3.5:
            return (1.0 + s + s * s * (0.4 + s / 15.0)) * xp.exp(-s)
        # general ν: scipy.special.kv on the host (cupyx.scipy.special has no kv)
        s_host = np.asarray(backend.to_numpy(s), dtype=float)
        # below s₀ the value is 1 to rounding: 1 − k(s) ≈ c·s^(2 min(ν, 1)) with c ≤ 1
        # for ν ≥ 1 and logarithmic growth at ν = 1; there s^ν·K_ν(s) would be 0·inf
        s0 = np.finfo(float).eps ** (1.0 / (2.0 * min(nu, 1.0)))
        small = s_host <= s0
        safe = np.where(small, 1.0, s_host)
        log_coeff = (1.0 - nu) * math.log(2.0) - math.lgamma(nu)
        with np.errstate(over="ignore", invalid="ignore"):
            value = np.exp(log_coeff + nu * np.log(safe)) * scipy.special.kv(nu, safe)
        value = np.where(safe > 700.0, 0.0, value)  # kv underflows; avoid 0·inf
        value = np.where(small, 1.0, value)
        if not np.all(np.isfinite(value)):
            bad = float(s_host[~np.isfinite(value)].max())
            raise ValueError(
                f"nu: the Bessel-function form overflows for nu = {nu} at s = {bad:.3g}; "
                "use a smaller nu (the Gaussian kernel is the limit nu → inf)"
            )
        return backend.asarray(value, like=r)

    def _args(self):
        return f"nu={self.nu!r}, " + super()._args()


class Gaussian(Kernel):
    r"""Gaussian (squared-exponential) covariance ``σ² exp(−r²/(2 l²))``.

    Not a Green's function of a local operator: its blocks are very badly
    conditioned, so factors usually need a nugget (see
    :func:`refimpl.vecchia.pipeline.kl_cholesky`).

    Parameters
    ----------
    length_scale : float or ndarray, shape (d,)
        ``l > 0``, or one length scale per coordinate.
    variance : float, optional
        ``σ² > 0``, the value at distance 0.

    Notes
    -----
    .. math::

        k(x, y) = \sigma^2 \exp\left(-\frac{|x - y|^2}{2 l^2}\right)

    References
    ----------
    .. [1] Rasmussen, Williams, "Gaussian Processes for Machine Learning", 2006,
       eq. (4.9).

    Examples
    --------
    >>> import numpy as np
    >>> float(Gaussian(1.0)(np.zeros((1, 1)), np.ones((1, 1)))[0, 0])  # exp(-1/2)
    0.6065306597126334
    """

    _bounded_profile = True  # see Kernel._fresh_finite_blocks

    def profile(self, r):
        """Gaussian correlation exp(−r²/2) at scaled distances ``r``.

        Parameters
        ----------
        r : array_like
            Finite scaled distances ``|x − y| / length_scale`` >= 0, any shape.

        Returns
        -------
        ndarray
            Same shape, values in [0, 1]; on the backend of ``r``.

        Examples
        --------
        >>> Gaussian(1.0).profile([0.0, 2.0]).round(4).tolist()  # exp(-2)
        [1.0, 0.1353]
        """
        r = _checked_distances(r)
        with np.errstate(over="ignore"):  # r² = inf beyond 1.3e154: exp(-inf) = 0 exactly
            return self._profile(r)

    def _profile(self, r):
        """:meth:`profile` of checked distances."""
        xp = backend.array_namespace(r)
        return xp.exp(-0.5 * r * r)

    def _profile_overwriting(self, r):
        if not isinstance(r, np.ndarray):
            return self._profile(r)
        r *= r
        r *= -0.5
        return np.exp(r, out=r)
