"""Covariance kernels evaluated block by block: the ``Kernel`` base class and the Gaussian.

A kernel is called on two point sets and returns their covariance block,
``kernel(X, Y)[..., a, b] = k(X[..., a, :], Y[..., b, :])``. Leading batch axes are
allowed, so that many small blocks (one per supernode) are formed in one call, and
the N×N matrix is never built unless the caller asks for it with
``kernel(X, X)``.

Rows need not be plain points: the factor functions
(:func:`~refimpl.vecchia.factor.kl_factor`,
:func:`~refimpl.vecchia.supernodal.supernodal_kl_factor`) only ask a kernel for the
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

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_array_size, check_positive

from .distances import check_point_arrays, distances_of_checked

__all__ = ["Kernel", "Gaussian"]

_BLOCK_ENTRIES = 1 << 15  # entries per block of rows: temporaries stay in the L2 cache
_LARGE_PROFILE = 1e3  # profiles vanish to rounding beyond this scaled distance: e^-1000 = 0


class Kernel:
    r"""A stationary covariance ``k(x, y) = variance · profile(|x − y| / length_scale)``.

    Subclasses define :meth:`profile`. With a scalar length scale the kernel is
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
        if isinstance(length_scale, list | tuple) or hasattr(length_scale, "shape"):
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
        """Raise ValueError if points of dimension ``d`` do not fit this kernel."""
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
        """Correlation as a function of the scaled distance ``r = |x − y| / length_scale``."""
        raise NotImplementedError

    def _profile_overwriting(self, r):
        """:meth:`profile`, allowed to overwrite ``r`` (subclasses fuse it in place)."""
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
        self.check_dimension(X.shape[-1], "X")
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
        """Gaussian correlation exp(−r²/2) at scaled distances ``r``."""
        xp = backend.array_namespace(r)
        return xp.exp(-0.5 * r * r)

    def _profile_overwriting(self, r):
        if not isinstance(r, np.ndarray):
            return self.profile(r)
        r *= r
        r *= -0.5
        return np.exp(r, out=r)
