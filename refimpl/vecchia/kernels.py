"""Covariance kernels evaluated block by block: Matérn and Gaussian.

A kernel is called on two point sets and returns their covariance block,
``kernel(X, Y)[..., a, b] = k(X[..., a, :], Y[..., b, :])``. Leading batch axes are
allowed, so that many small blocks (one per supernode) are formed in one call, and
the N×N matrix is never built unless the caller asks for it with
``kernel(X, X)``.

Measurements
------------
Every row of ``X`` is a *point-value (Dirac) measurement* ``u ↦ u(x)``. The
factorization code in :mod:`refimpl.vecchia.factor` and
:mod:`refimpl.vecchia.supernodes` only ever asks a kernel for blocks of rows it
names, and uses the point coordinates only for geometry (ordering and sparsity
patterns). Derivative measurements (``u ↦ ∂u(x)``, ``u ↦ Δu(x)``, needed for the
nonlinear-PDE follow-up of Chen, Owhadi & Schäfer) can be added as a kernel whose
rows carry a measurement type as well as a point, and whose block evaluates the
corresponding derivatives of :meth:`Kernel.profile`. What else that needs:

- :func:`~refimpl.vecchia.factor.kl_factor` and
  :func:`~refimpl.vecchia.factor.supernodal_kl_factor` accept repeated
  coordinates (a value and a derivative at the same x), so they work unchanged
  with a user-supplied order, lengths and pattern;
- :func:`~refimpl.vecchia.ordering.maximin_ordering`,
  :func:`~refimpl.vecchia.factor.kl_cholesky` and
  :func:`~refimpl.vecchia.gp.predict` reject repeated points (a maximin length
  would be 0), so the ordering of such measurements (derivatives last in the
  coarse-to-fine sequence, at the finest scale) has to be written first;
- the kernel must accept leading batch axes, ``X (..., n, d)``, as the kernels
  here do (a kernel written for 2-D arrays only can be wrapped with
  ``numpy.vectorize(k, signature="(n,d),(m,d)->(n,m)")``).

Examples
--------
>>> import numpy as np
>>> from refimpl.vecchia.kernels import Matern
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
from refimpl.validation import as_float_array, check_positive

__all__ = ["Kernel", "Matern", "Gaussian", "pairwise_distances"]


def pairwise_distances(X, Y):
    """Euclidean distances between the rows of two point sets.

    Parameters
    ----------
    X : ndarray, shape (..., n, d)
    Y : ndarray, shape (..., m, d)

    Returns
    -------
    r : ndarray, shape (..., n, m)

    Notes
    -----
    Differences are formed coordinate by coordinate rather than through
    ``|x|² + |y|² − 2 x·y``, which loses all digits for nearby points (the very
    entries that matter for the conditional variances of fine-scale points).
    """
    xp = backend.array_namespace(X, Y)
    squared = None
    for axis in range(X.shape[-1]):  # loop over the d coordinates, not the entries
        diff = X[..., :, None, axis] - Y[..., None, :, axis]  # (..., n, m)
        squared = diff * diff if squared is None else squared + diff * diff
    if squared is None:
        shape = X.shape[:-1] + (Y.shape[-2],)
        return xp.zeros(shape, dtype=X.dtype)
    return xp.sqrt(squared)


class Kernel:
    """A stationary covariance ``k(x, y) = variance · profile(|x − y| / length_scale)``.

    Subclasses define :meth:`profile`. With a scalar length scale the kernel is
    isotropic and works in any dimension; with an array of d length scales each
    coordinate is scaled by its own, and points of another dimension raise
    ValueError (as does a dimension mismatch between the two point sets).
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

    def profile(self, r):
        """Correlation as a function of the scaled distance ``r = |x − y| / length_scale``."""
        raise NotImplementedError

    def __call__(self, X, Y=None):
        """Covariance block between the rows of ``X`` and of ``Y``.

        Parameters
        ----------
        X : ndarray, shape (..., n, d)
        Y : ndarray, shape (..., m, d), optional
            Defaults to ``X``.

        Returns
        -------
        K : ndarray, shape (..., n, m)
        """
        X = as_float_array("X", X)
        Y = X if Y is None else as_float_array("Y", Y, like=X)
        if X.ndim < 2 or Y.ndim < 2:
            raise ValueError(
                f"X, Y: expected point arrays of shape (..., n, d), received shapes "
                f"{X.shape} and {Y.shape}"
            )
        if X.shape[-1] != Y.shape[-1]:
            raise ValueError(
                f"Y: expected points of dimension d = {X.shape[-1]} like X, received "
                f"dimension {Y.shape[-1]}"
            )
        self.check_dimension(X.shape[-1], "X")
        if isinstance(self.length_scale, float):
            r = pairwise_distances(X, Y) / self.length_scale  # (..., n, m)
        else:  # one length scale per coordinate (automatic relevance determination)
            scales = backend.asarray(self.length_scale, like=X, dtype=X.dtype)
            r = pairwise_distances(X / scales, Y / scales)
        return self.variance * self.profile(r)

    def __repr__(self):
        return f"{type(self).__name__}({self._args()})"

    def _args(self):
        return f"length_scale={self.length_scale!r}, variance={self.variance!r}"


class Matern(Kernel):
    """Matérn covariance with smoothness ``nu``.

    Parameters
    ----------
    nu : float
        Smoothness > 0. The half-integers 1/2, 3/2, 5/2 and 7/2 use closed forms;
        any other value uses the modified Bessel function ``scipy.special.kv``,
        evaluated on the CPU (CuPy input is copied to the host and back, since
        ``cupyx.scipy.special`` has no ``kv``). Below a scaled distance
        :math:`s_0 = \\varepsilon^{1/(2\\min(\\nu, 1))}` the value is 1 to rounding and
        is returned as such. Very large ν (where ``kv`` overflows at distances that
        matter, about ν ≥ 100) raises ValueError.
    length_scale : float or ndarray, shape (d,)
        ``l > 0``, or one length scale per coordinate.
    variance : float, optional
        ``σ² > 0``, the value at distance 0.

    Notes
    -----
    With :math:`s = \\sqrt{2\\nu}\\, r / l`,

    .. math::

        k(r) = \\sigma^2 \\frac{2^{1-\\nu}}{\\Gamma(\\nu)} s^{\\nu} K_\\nu(s),

    which for :math:`\\nu = p + 1/2` is :math:`e^{-s}` times a polynomial:
    :math:`1`, :math:`1 + s`, :math:`1 + s + s^2/3` and
    :math:`1 + s + 2 s^2/5 + s^3/15`. The Matérn kernel with
    :math:`\\nu + d/2` integer is the Green's function of an elliptic operator, the
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

    _CLOSED_FORMS = (0.5, 1.5, 2.5, 3.5)

    def __init__(self, nu, length_scale, variance=1.0):
        self.nu = check_positive("nu", nu)
        super().__init__(length_scale, variance)

    def profile(self, r):
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
    """Gaussian (squared-exponential) covariance ``σ² exp(−r²/(2 l²))``.

    Not a Green's function of a local operator: its blocks are very badly
    conditioned, so factors usually need a nugget (see
    :func:`refimpl.vecchia.factor.kl_cholesky`).

    Notes
    -----
    .. math::

        k(x, y) = \\sigma^2 \\exp\\left(-\\frac{|x - y|^2}{2 l^2}\\right)

    Examples
    --------
    >>> import numpy as np
    >>> float(Gaussian(1.0)(np.zeros((1, 1)), np.ones((1, 1)))[0, 0])  # exp(-1/2)
    0.6065306597126334
    """

    def profile(self, r):
        xp = backend.array_namespace(r)
        return xp.exp(-0.5 * r * r)
