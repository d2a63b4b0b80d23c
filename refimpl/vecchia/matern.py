r"""The Matérn family of covariance kernels, closed forms and the general Bessel form.

See :class:`refimpl.vecchia.kernels.Kernel` for how kernels are called.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from refimpl import backend
from refimpl.validation import check_positive

from .kernels import Kernel

__all__ = ["Matern"]


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
            return self.profile(r)
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
        """Matérn correlation at scaled distances ``r`` (see the class Notes)."""
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
