r"""Radial kernels and their derivatives in closed form, finite at r = 0.

A stationary isotropic kernel is a function of the distance, :math:`k(x, y) =
\varphi(r)`, :math:`r = |z|`, :math:`z = x - y`. Writing :math:`\varphi(r) =
\psi(r^2/2)`, every derivative of :math:`\Phi(z) = \psi(|z|^2/2)` is a sum of
terms :math:`\psi^{(k)}(s)\, z^\alpha` (products of ``z`` and Kronecker deltas),
and :math:`\psi^{(k)} = g_k` with

.. math::

    g_0 = \varphi, \qquad g_{k+1}(r) = \frac{g_k'(r)}{r}.

A derivative of order n holds the terms :math:`g_k(r)\, z^\alpha` with
:math:`|\alpha| = 2k - n`. This module evaluates the products

.. math::

    G_{k,m}(r) = g_k(r)\, r^m, \qquad m = 2k - n \ge 0,

as closed forms that are finite at :math:`r = 0` (their limit there), so that the
covariance of two derivative measurements is a sum of :math:`G_{k,m}(r)` times
polynomials in the unit vector :math:`u = z / r` (see
:mod:`refimpl.pde.kernels`), with no division by r and no cancellation at r = 0.

For the Matérn kernel with :math:`\nu = p + 1/2` and :math:`x = c r`,
:math:`c = \sqrt{2\nu}/l`, :math:`\varphi = \sigma^2 e^{-x} P(x)` with a
polynomial P, and :math:`g_k = \sigma^2 c^{2k} e^{-x} Q_k(x)` with the Laurent
polynomials :math:`Q_0 = P`, :math:`Q_{k+1}(x) = (Q_k'(x) - Q_k(x))/x`. The
coefficients are computed in exact rational arithmetic, so the terms that cancel
analytically cancel exactly; :math:`G_{k,m} = \sigma^2 c^{2k-m} e^{-x} x^m Q_k(x)` is
a polynomial times :math:`e^{-x}` exactly when the derivative exists, which
decides the highest derivative order a kernel supports. For the Gaussian kernel,
:math:`g_k = \sigma^2 (-1/l^2)^k e^{-r^2/(2l^2)}`.
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial, log, sqrt

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_integer
from refimpl.vecchia import Gaussian, Matern

from .measurements import check_not_bool

__all__ = ["RadialDerivatives", "MAX_ORDER"]

#: Highest derivative order of one measurement (second derivatives, the Laplacian).
MAX_ORDER = 2

# Past these arguments e^{-x} (Matérn, x = c r) and e^{-r²/2l²} (Gaussian, r/l) underflow
# to exactly 0 (e^{-745.2} is the smallest subnormal), so every G_{k,m} is exactly 0
# there. Capping x and r/l at them changes no finite value and keeps the polynomial
# factors finite where the distance is huge (otherwise inf · 0 = NaN).
_MATERN_CAP = 800.0
_GAUSSIAN_CAP = 40.0  # (40²)/2 = 800

# (k, m) pairs that a covariance of two measurements of order <= 2 needs: total order
# n = 0..4 and k from ceil(n/2) to n, with m = 2k - n.
_PAIRS = tuple((k, 2 * k - n) for n in range(2 * MAX_ORDER + 1) for k in range((n + 1) // 2, n + 1))


def _matern_polynomial(p):
    """Coefficients of P(x) with Matérn-(p+1/2) = e^{-x} P(x), ascending, as Fractions."""
    # P(x) = p!/(2p)! Σ_i (p+i)!/(i!(p-i)!) (2x)^(p-i)
    coeffs = [Fraction(0)] * (p + 1)
    for i in range(p + 1):
        term = Fraction(factorial(p + i), factorial(i) * factorial(p - i)) * 2 ** (p - i)
        coeffs[p - i] += term * Fraction(factorial(p), factorial(2 * p))
    return coeffs


def _next_laurent(q):
    """Q_{k+1} from Q_k, both as dicts power -> Fraction: (Q' - Q)/x."""
    out = {}
    for power, a in q.items():
        if power != 0:
            out[power - 2] = out.get(power - 2, 0) + power * a
        out[power - 1] = out.get(power - 1, 0) - a
    return {power: a for power, a in out.items() if a != 0}


class RadialDerivatives:
    r"""The functions :math:`G_{k,m}(r) = g_k(r) r^m` of one radial kernel.

    Parameters
    ----------
    kernel : refimpl.vecchia.Matern or refimpl.vecchia.Gaussian
        Matérn with half-integer ν (1/2, 3/2, 5/2, 7/2, 9/2, ...) or Gaussian, with a
        scalar length scale.

    Attributes
    ----------
    order : int
        The highest derivative order of one measurement that the kernel supports
        (at most :data:`MAX_ORDER`): Matérn-(p+1/2) supports min(p, 2), the
        Gaussian 2.

    Notes
    -----
    .. math::

        G_{k,m}(r) = g_k(r)\,r^m,\qquad g_{k+1} = g_k'/r,\quad g_0 = \varphi.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Sec. 3 and App. A.
    .. [2] Rasmussen, Williams, "Gaussian Processes for Machine Learning", 2006, eq. (4.16).

    Examples
    --------
    >>> from refimpl.vecchia import Matern
    >>> G = RadialDerivatives(Matern(2.5, 1.0))
    >>> G.order, float(G(2, 0, 0.0))  # g_2(0) = c^4/3 = 25/3
    (2, 8.333333333333334)
    """

    def __init__(self, kernel):
        if isinstance(kernel, Matern):
            if not isinstance(kernel.length_scale, float):
                raise ValueError(
                    "kernel: expected a scalar length scale for derivative measurements, "
                    f"received {kernel.length_scale!r}"
                )
            p = kernel.nu - 0.5
            if p != int(p) or p > 20:
                raise ValueError(
                    "kernel: expected a Matérn kernel with half-integer nu <= 20.5 "
                    f"(closed-form derivatives), received nu = {kernel.nu!r}"
                )
            self._init_matern(int(p), kernel.length_scale, kernel.variance)
            # G_{k,m} = σ² c^{2k−m} e^{−x} x^m Q_k(x): powers of c up to the largest 2k − m
            powers = max(2 * k - m for k, m in self._poly)
            _check_scales(kernel, self.c, powers, self.variance)
        elif isinstance(kernel, Gaussian):
            if not isinstance(kernel.length_scale, float):
                raise ValueError(
                    "kernel: expected a scalar length scale for derivative measurements, "
                    f"received {kernel.length_scale!r}"
                )
            self.kind = "gaussian"
            self.order = MAX_ORDER
            self.length_scale, self.variance = kernel.length_scale, kernel.variance
            # g_k = σ² (−1/l²)^k e^{−r²/2l²}, k <= 2·order: powers of 1/l up to 4·order
            _check_scales(kernel, 1.0 / self.length_scale, 4 * self.order, self.variance)
        else:
            raise ValueError(
                "kernel: expected refimpl.vecchia.Matern (half-integer nu) or "
                f"refimpl.vecchia.Gaussian, received {kernel!r}"
            )

    def _init_matern(self, p, length_scale, variance):
        self.kind = "matern"
        self.length_scale, self.variance = length_scale, variance
        self.c = sqrt(2 * p + 1) / length_scale
        q = dict(enumerate(_matern_polynomial(p)))
        q = {power: a for power, a in q.items() if a != 0}
        laurent = [q]
        for _ in range(2 * MAX_ORDER):
            laurent.append(_next_laurent(laurent[-1]))
        self._forms = {}  # d -> the three combined polynomials of laplacian_forms
        self._poly = {}  # (k, m) -> ascending float coefficients of x^m Q_k(x)
        self.order = 0
        for n in range(2 * MAX_ORDER + 1):
            ok = True
            for k in range((n + 1) // 2, n + 1):
                m = 2 * k - n
                shifted = {power + m: a for power, a in laurent[k].items()}
                if shifted and min(shifted) < 0:
                    ok = False
                    break
                top = max(shifted, default=0)
                coeffs = np.zeros(top + 1)
                for power, a in shifted.items():
                    coeffs[power] = float(a)
                self._poly[(k, m)] = coeffs
            if not ok:
                break
            if n % 2 == 0:
                self.order = n // 2
        self.order = min(self.order, MAX_ORDER)

    def __call__(self, k, m, r):
        r"""Evaluate :math:`G_{k,m}(r)` on an array of distances ``r >= 0``.

        Parameters
        ----------
        k, m : int
            :math:`0 \le m \le k`, total derivative order :math:`2k - m` at most
            ``2 * order``.
        r : float or ndarray
            Distances, any shape.

        Returns
        -------
        ndarray, the shape of ``r``
        """
        k = check_integer("k", k, minimum=0)
        m = check_integer("m", m, minimum=0)
        self._check_pairs([(k, m)], "k, m")
        return self._evaluate([(k, m)], _check_distances(r))[(k, m)]

    def evaluate(self, pairs, r):
        r"""Evaluate several :math:`G_{k,m}` at once (one exponential), as a dict.

        Parameters
        ----------
        pairs : sequence of (int, int)
            The (k, m) pairs, each as in :meth:`__call__`.
        r : float or ndarray
            Distances >= 0, any shape.

        Returns
        -------
        dict
            (k, m) -> ndarray of the shape of ``r``.
        """
        if not isinstance(pairs, list | tuple) or not pairs:
            raise ValueError(
                f"pairs: expected a non-empty list of (k, m) pairs, received {pairs!r:.80}"
            )
        checked = []
        for pair in pairs:
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or any(
                    isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer)
                    for v in pair
                )
            ):
                raise ValueError(f"pairs: expected (k, m) pairs of integers, received {pair!r:.80}")
            checked.append((int(pair[0]), int(pair[1])))
        self._check_pairs(checked, "pairs")
        return self._evaluate(checked, _check_distances(r))

    def _check_pairs(self, pairs, name):
        """Raise ValueError naming ``name`` for a pair without a finite closed form here."""
        available = self._poly if self.kind == "matern" else _PAIRS
        top = max(2 * k - m for k, m in available)
        for k, m in pairs:
            if (k, m) not in available:
                raise ValueError(
                    f"{name}: expected 0 <= m <= k with total order 2k - m <= {top} (this "
                    f"kernel supports measurements of order <= {self.order}), received "
                    f"(k, m) = ({k}, {m})"
                )

    def _evaluate(self, pairs, r):
        """:meth:`evaluate` without its checks (pairs available, r >= 0 finite)."""
        xp = backend.array_namespace(r)
        if self.kind == "gaussian":
            scale = self.length_scale
            r = xp.minimum(r, _GAUSSIAN_CAP * scale)
            e = self.variance * xp.exp(-0.5 * (r / scale) ** 2)
            return {(k, m): (-1.0 / scale**2) ** k * r**m * e for k, m in pairs}
        x = xp.minimum(self.c * r, _MATERN_CAP)
        e = self.variance * xp.exp(-x)
        return {
            (k, m): _horner(self.c ** (2 * k - m) * self._poly[(k, m)], x) * e for k, m in pairs
        }

    def laplacian_forms(self, d, r):
        r"""The three radial functions of Diracs and Laplacians in dimension d.

        For :math:`\phi = a_0\delta + \lambda_a\Delta\delta` and
        :math:`\chi = b_0\delta + \lambda_b\Delta\delta` the covariance is
        :math:`a_0b_0F_0 + (a_0\lambda_b + b_0\lambda_a)F_1 + \lambda_a\lambda_bF_2` with

        .. math::

            F_0 = G_{00},\quad F_1 = d\,G_{10} + G_{22},\quad
            F_2 = G_{44} + (2d + 4)\,G_{32} + d(d + 2)\,G_{20}.

        Parameters
        ----------
        d : int
            The dimension, >= 1.
        r : float or ndarray
            Distances >= 0, any shape.

        Returns
        -------
        tuple of three ndarrays, the shape of ``r``
        """
        d = check_integer("d", d, minimum=1)
        if self.order < MAX_ORDER:
            raise ValueError(
                f"kernel: Laplacians need derivatives of order {MAX_ORDER}; this kernel "
                f"supports order <= {self.order}"
            )
        return self._laplacian_forms(d, _check_distances(r))

    def _laplacian_forms(self, d, r):
        """:meth:`laplacian_forms` without its checks."""
        if self.kind == "gaussian":
            G = self._evaluate([(0, 0), (1, 0), (2, 2), (4, 4), (3, 2), (2, 0)], r)
            return (
                G[(0, 0)],
                d * G[(1, 0)] + G[(2, 2)],
                G[(4, 4)] + (2 * d + 4) * G[(3, 2)] + d * (d + 2) * G[(2, 0)],
            )
        polys = self._forms.get(d)
        if polys is None:

            def combine(*terms):
                size = max(self._poly[km].size for _, km in terms)
                out = np.zeros(size)
                for weight, (k, m) in terms:
                    p = self._poly[(k, m)]
                    out[: p.size] += weight * self.c ** (2 * k - m) * p
                return out

            polys = (
                combine((1.0, (0, 0))),
                combine((d, (1, 0)), (1.0, (2, 2))),
                combine((1.0, (4, 4)), (2 * d + 4, (3, 2)), (d * (d + 2), (2, 0))),
            )
            self._forms[d] = polys
        xp = backend.array_namespace(r)
        x = xp.minimum(self.c * r, _MATERN_CAP)
        e = self.variance * xp.exp(-x)
        return tuple(_horner(p, x) * e for p in polys)


def _check_distances(r):
    """Return ``r`` as a finite float array of distances >= 0, or raise ValueError naming it."""
    r = as_float_array("r", check_not_bool("r", r))
    xp = backend.array_namespace(r)
    if r.size and bool(xp.any(r < 0)):
        raise ValueError(f"r: expected distances >= 0, received {float(xp.min(r)):.3g}")
    return r


def _check_scales(kernel, c, powers, variance):
    """Refuse a kernel whose derivative factors σ² c^j, j <= powers, are not normal floats.

    They scale every covariance of derivative measurements (the variance of a Laplacian is
    σ² c⁴ times a constant): outside the float range every such covariance under- or
    overflows, and the error would surface later naming another argument. The powers of
    c are monotone in j, so the ends j = 0 and j = powers suffice; logarithms, because
    the powers themselves may overflow.
    """
    low, high = log(np.finfo(float).tiny), log(np.finfo(float).max)
    for j in (0, powers):
        for value in (j * log(c), j * log(c) + log(variance)):
            if not low <= value <= high:
                raise ValueError(
                    f"kernel: the derivatives of {kernel!r} scale as σ² c^{j} = e^{value:.4g} "
                    "(c the inverse length scale), outside the float range; expected a "
                    "length scale and variance of moderate size"
                )


def _horner(coeffs, x):
    """Σ coeffs[j] x^j, in place on one temporary (on the device of ``x``; the
    coefficients are host floats)."""
    value = backend.array_namespace(x).full_like(x, coeffs[-1])
    for a in coeffs[-2::-1]:
        value *= x
        value += a
    return value
