r"""The covariance of two measurements under a radial kernel, in closed form.

For measurements :math:`\phi = a_0\delta + a\cdot\nabla + A:\nabla^2` at x and
:math:`\chi = b_0\delta + b\cdot\nabla + B:\nabla^2` at y and the kernel
:math:`k(x, y) = \Phi(x - y)`, the covariance :math:`\phi^x\chi^y k` applies
:math:`(a_0 + a\cdot\partial + A:\partial\partial)(b_0 - b\cdot\partial + B:\partial\partial)`
to :math:`\Phi(z)` (the y-derivatives of :math:`\Phi(x - y)` change sign with
their order). With :math:`z = r u` and the functions :math:`G_{k,m} = g_k r^m` of
:class:`refimpl.pde.radial.RadialDerivatives`, the derivative tensors of
:math:`\Phi` contract to

.. math::

    \begin{aligned}
    \phi^x\chi^y k ={}& G_{00}\, a_0 b_0 + G_{11}\,(b_0\, a\cdot u - a_0\, b\cdot u)
      + G_{10}\, \mathrm{tr}M + G_{22}\, u^\top M u \\
    &+ G_{33}\,[(u^\top B u)(a\cdot u) - (u^\top A u)(b\cdot u)]
      + G_{21}\,[\mathrm{tr}B\,(a\cdot u) + 2a^\top B u - \mathrm{tr}A\,(b\cdot u)
      - 2 b^\top A u] \\
    &+ G_{44}\,(u^\top A u)(u^\top B u)
      + G_{32}\,[\mathrm{tr}A\, u^\top B u + \mathrm{tr}B\, u^\top A u + 4 u^\top A B u]
      + G_{20}\,[\mathrm{tr}A\,\mathrm{tr}B + 2\,\mathrm{tr}(AB)],
    \end{aligned}

with :math:`M = a_0 B + b_0 A - a b^\top`. At r = 0 the unit vector is set to 0:
every term that holds it has a factor :math:`G_{k,m}` with m > 0, which vanishes
there, so each entry is its limit.
"""

from __future__ import annotations

from math import isqrt

from refimpl import backend
from refimpl.validation import as_float_array

from .measurements import Measurements, check_backend, check_coordinates, dimension_of_rows
from .radial import RadialDerivatives

__all__ = ["MeasurementKernel"]


def _split(X, d):
    """Decode rows (..., n, (d+1)²) into points, w0, w1, W2."""
    x = X[..., :d]
    a0 = X[..., d]
    a1 = X[..., d + 1 : 2 * d + 1]
    A = X[..., 2 * d + 1 :].reshape(*X.shape[:-1], d, d)
    return x, a0, a1, A


def _isotropic(a1, A, d):
    """True if no first derivatives and every W is a multiple of the identity."""
    xp = backend.array_namespace(a1, A)
    if bool(xp.any(a1 != 0)):
        return False
    return bool(xp.all(A == A[..., :1, :1] * xp.eye(d)))


def _order(a1, A):
    xp = backend.array_namespace(a1, A)
    if bool(xp.any(A != 0)):
        return 2
    return 1 if bool(xp.any(a1 != 0)) else 0


class MeasurementKernel:
    r"""Covariances of measurements under a Matérn (half-integer ν) or Gaussian kernel.

    A callable ``kernel(X, Y)`` on encoded measurement rows (see
    :meth:`refimpl.pde.Measurements.rows`), so it can be passed to
    :func:`refimpl.vecchia.kl_factor` like any point kernel.

    Parameters
    ----------
    kernel : refimpl.vecchia.Matern or refimpl.vecchia.Gaussian
        The covariance of the underlying Gaussian process (scalar length scale).

    Attributes
    ----------
    base : Matern or Gaussian
        The kernel given.
    order : int
        Highest derivative order of a measurement it supports: Matérn-(p+1/2)
        min(p, 2), Gaussian 2.

    Notes
    -----
    See the module docstring for the formula; for Laplacians at the same point of
    a Matérn-5/2 kernel with :math:`c = \sqrt5/l` it gives
    :math:`\Delta_x\Delta_y k(x, x) = d(d+2)\,c^4/3`.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, App. A.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> from refimpl.pde import laplacians
    >>> K = MeasurementKernel(Matern(2.5, 1.0))
    >>> rows = laplacians(np.zeros((1, 2))).rows()
    >>> float(K(rows, rows)[0, 0])  # 2·4·25/3
    66.66666666666667
    """

    def __init__(self, kernel):
        self.radial = RadialDerivatives(kernel)
        self.base = kernel
        self.order = self.radial.order

    def __repr__(self):
        return f"MeasurementKernel({self.base!r})"

    def check_measurements(self, measurements, name="measurements"):
        """Raise ValueError if ``measurements`` need more derivatives than the kernel has."""
        if not isinstance(measurements, Measurements):
            raise ValueError(f"{name}: expected Measurements, received {measurements!r}")
        if measurements.order > self.order:
            raise ValueError(
                f"{name}: measurements of derivative order {measurements.order} need a "
                f"smoother kernel than {self.base!r} (it supports order <= {self.order})"
            )
        return measurements

    def __call__(self, X, Y=None):
        r"""Covariance block between encoded measurement rows.

        Parameters
        ----------
        X : ndarray, shape (..., n, (d + 1)²)
        Y : ndarray, shape (..., m, (d + 1)²), optional
            Defaults to ``X``.

        Returns
        -------
        K : ndarray, shape (..., n, m)
        """
        X, Y = self._check_rows(X, Y)
        return self._covariance(X, Y)

    def _check_rows(self, X, Y=None, names=("X", "Y")):
        """Return ``X, Y`` as finite float rows of one width the kernel supports, or raise.

        ``names`` are the caller's names for ``X`` and ``Y``, used in the messages.
        """
        x_name, y_name = names
        both = f"{x_name}, {y_name}"
        X = as_float_array(x_name, X)
        Y = X if Y is None else check_backend(y_name, as_float_array(y_name, Y, like=X), X)
        if X.ndim < 2 or Y.ndim < 2 or X.shape[-1] != Y.shape[-1]:
            raise ValueError(
                f"{both}: expected encoded rows of shapes (..., n, w) and (..., m, w), "
                f"received {X.shape} and {Y.shape}"
            )
        d = dimension_of_rows(X.shape[-1], both)
        check_coordinates(both, X)
        check_coordinates(both, Y)
        order = max(_order(*_split(X, d)[2:]), _order(*_split(Y, d)[2:]))
        if order > self.order:
            raise ValueError(
                f"{both}: measurements of derivative order {order} need a smoother kernel than "
                f"{self.base!r} (it supports order <= {self.order})"
            )
        return X, Y

    def _covariance(self, X, Y):
        """:meth:`__call__` without its checks: rows of one width, orders the kernel has."""
        d = isqrt(X.shape[-1]) - 1  # width (d + 1)²
        x, a0, a1, A = _split(X, d)
        y, b0, b1, B = _split(Y, d)
        order = max(_order(a1, A), _order(b1, B))
        if order == 2 and _isotropic(a1, A, d) and _isotropic(b1, B, d):
            return self._laplacian_case(x, y, a0, b0, A, B, d)
        # Components as lists of (..., n, m) arrays: d is small, and elementwise products
        # of (n, m) arrays are much faster than einsum over (n, m, d, d).
        z = [x[..., :, None, i] - y[..., None, :, i] for i in range(d)]  # d × (..., n, m)
        xp = backend.array_namespace(X, Y)
        r = xp.sqrt(sum(zi * zi for zi in z))
        positive = r > 0
        inverse = xp.where(positive, 1.0 / xp.where(positive, r, 1.0), 0.0)
        u = [zi * inverse for zi in z]  # the unit vector, 0 at r = 0
        pairs = [(0, 0), (1, 1), (1, 0), (2, 2)][: 1 if order == 0 else 4]
        if order == 2:
            pairs += [(3, 3), (2, 1), (4, 4), (3, 2), (2, 0)]
        values = self.radial._evaluate(pairs, r)

        def G(k, m, r):
            return values[(k, m)]

        a0_, b0_ = a0[..., :, None], b0[..., None, :]  # (..., n, 1), (..., 1, m)
        K = G(0, 0, r) * a0_ * b0_
        if order == 0:
            return K
        au = sum(a1[..., :, None, i] * u[i] for i in range(d))  # a·u
        bu = sum(b1[..., None, :, i] * u[i] for i in range(d))  # b·u
        ab = a1 @ xp.swapaxes(b1, -1, -2)  # a·b, (..., n, m)
        K += G(1, 1, r) * (b0_ * au - a0_ * bu)
        trA = xp.trace(A, axis1=-2, axis2=-1)[..., :, None]  # (..., n, 1)
        trB = xp.trace(B, axis1=-2, axis2=-1)[..., None, :]  # (..., 1, m)
        Au = [sum(A[..., :, None, i, j] * u[j] for j in range(d)) for i in range(d)]
        Bu = [sum(B[..., None, :, i, j] * u[j] for j in range(d)) for i in range(d)]
        uAu = sum(u[i] * Au[i] for i in range(d))
        uBu = sum(u[i] * Bu[i] for i in range(d))
        K += G(1, 0, r) * (a0_ * trB + b0_ * trA - ab)
        K += G(2, 2, r) * (a0_ * uBu + b0_ * uAu - au * bu)
        if order == 1:
            return K
        aBu = sum(a1[..., :, None, i] * Bu[i] for i in range(d))
        bAu = sum(b1[..., None, :, i] * Au[i] for i in range(d))
        K += G(3, 3, r) * (uBu * au - uAu * bu)
        K += G(2, 1, r) * (trB * au + 2 * aBu - trA * bu - 2 * bAu)
        uABu = sum(Au[i] * Bu[i] for i in range(d))
        flat_A = A.reshape(*A.shape[:-2], d * d)
        flat_B = B.reshape(*B.shape[:-2], d * d)
        trAB = flat_A @ xp.swapaxes(flat_B, -1, -2)  # Σ A_ij B_ij = tr(AB), B symmetric
        K += G(4, 4, r) * uAu * uBu
        K += G(3, 2, r) * (trA * uBu + trB * uAu + 4 * uABu)
        K += G(2, 0, r) * (trA * trB + 2 * trAB)
        return K

    def _laplacian_case(self, x, y, a0, b0, A, B, d):
        """Diracs plus Laplacians only: three radial functions, no tensors (see radial)."""
        xp = backend.array_namespace(x, y)
        r = xp.sqrt(sum((x[..., :, None, i] - y[..., None, :, i]) ** 2 for i in range(d)))
        F0, F1, F2 = self.radial._laplacian_forms(d, r)
        la, lb = A[..., :, None, 0, 0], B[..., None, :, 0, 0]
        a0_, b0_ = a0[..., :, None], b0[..., None, :]
        F0 *= a0_ * b0_
        F1 *= a0_ * lb + b0_ * la
        F2 *= la * lb
        return F0 + F1 + F2

    def gram(self, measurements, others=None):
        r"""The covariance matrix of two measurement lists.

        Parameters
        ----------
        measurements : Measurements
            n measurements.
        others : Measurements, optional
            m measurements; defaults to ``measurements`` (the Gram matrix).

        Returns
        -------
        ndarray, shape (n, m)
        """
        a = self.check_measurements(measurements)
        b = a if others is None else self.check_measurements(others, "others")
        if a.dim != b.dim:
            raise ValueError(f"others: expected dimension {a.dim}, received {b.dim}")
        return self(a.rows(), b.rows())

    def variances(self, measurements):
        r"""The diagonal of the Gram matrix, :math:`\phi_k^x\phi_k^y k(x_k, x_k)`, shape (n,)."""
        return self._variances(self.check_measurements(measurements))

    def _variances(self, measurements):
        """:meth:`variances` of measurements the kernel is known to support."""
        rows = measurements.rows()[:, None, :]  # (n, 1, w)
        return self._covariance(rows, rows)[:, 0, 0]
