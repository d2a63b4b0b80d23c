r"""The dense Gauss–Newton step (the 2021 baseline): assemble Θ, Cholesky, solve.

One step solves :math:`(\Theta + \eta\,\operatorname{diag}(\operatorname{diag}\Theta))
\alpha = r` with a dense Cholesky factorization, :math:`O(N^3)` time and
:math:`O(N^2)` memory; the nugget is relative to each measurement's variance, so
Diracs and Laplacians (whose variances differ by orders of magnitude) get the
same relative regularization.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    check_array_size,
    check_integer,
    check_nonnegative,
    finite_or_overflow,
)
from refimpl.vecchia.dense import flipped_cholesky

from .functionals import point_values
from .kernels import MeasurementKernel
from .measurements import check_backend, check_coordinates, check_not_bool, dimension_of_rows
from .system import CollocationSystem

__all__ = ["DenseSolver", "kernel_matvec"]

ENTRIES_PER_CHUNK = 1_000_000  # kernel entries per chunk (each costs ~20 temporaries of 8 bytes)

#: What overflows when a state or solution is not finite although its inputs are.
OVERFLOW = "the solution overflows"


def kernel_matvec(kernel, rows, others, vector):
    r"""The product :math:`K(\text{rows}, \text{others})\,v`, in chunks of rows.

    Parameters
    ----------
    kernel : MeasurementKernel
    rows : ndarray, shape (n, w)
        Encoded measurement rows (NumPy or CuPy; the other arrays on the same device).
    others : ndarray, shape (m, w)
    vector : ndarray, shape (m,) or (m, k)

    Returns
    -------
    ndarray, shape (n,) or (n, k)
        On the device of ``rows``.

    Notes
    -----
    .. math:: y_i = \sum_j \phi_i^x \chi_j^y k(x_i, y_j)\, v_j,

    formed block by block so that memory stays :math:`O(m)` per row.

    References
    ----------
    .. [1] Chen, Hosseini, Owhadi, Stuart, J. Comput. Phys. 447, 2021, Sec. 3.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> from refimpl.pde import point_values
    >>> K = MeasurementKernel(Matern(2.5, 1.0))
    >>> rows = point_values(np.zeros((1, 1))).rows()
    >>> kernel_matvec(K, rows, rows, np.array([2.0])).tolist()
    [2.0]
    """
    if not isinstance(kernel, MeasurementKernel):
        raise ValueError(f"kernel: expected a MeasurementKernel, received {kernel!r}")
    rows = as_float_array("rows", rows, ndim=2)
    others = check_backend("others", as_float_array("others", others, ndim=2, like=rows), rows)
    vector = as_float_array("vector", vector, ndim=(1, 2), like=rows)
    vector = check_coordinates("vector", check_backend("vector", vector, rows))
    dimension_of_rows(rows.shape[1], "rows")
    if others.shape[1] != rows.shape[1]:
        raise ValueError(f"others: expected rows of width {rows.shape[1]}, received {others.shape}")
    if vector.shape[0] != others.shape[0]:
        raise ValueError(
            f"others, vector: expected as many entries of vector as rows of others, received "
            f"{others.shape[0]} and {vector.shape[0]}"
        )
    # sizes and derivative orders the kernel has, in the words of this function's arguments
    rows, others = kernel._check_rows(rows, others, names=("rows", "others"))
    return kernel_product(kernel, rows, others, vector)


def kernel_product(kernel, rows, others, vector):
    """:func:`kernel_matvec` without its checks, for callers whose arrays are checked."""
    chunk = max(1, ENTRIES_PER_CHUNK // max(others.shape[0], 1))
    out = backend.array_namespace(rows).empty((rows.shape[0],) + vector.shape[1:])
    for start in range(0, rows.shape[0], chunk):
        out[start : start + chunk] = (
            kernel._covariance(rows[start : start + chunk], others) @ vector
        )
    return out


def kernel_block(kernel, rows):
    """The Gram matrix K(rows, rows), (n, n), assembled in chunks of rows (unchecked).

    ``kernel`` is a MeasurementKernel and ``rows`` are rows it supports (as in
    :func:`kernel_product`).
    """
    n = rows.shape[0]
    block = backend.array_namespace(rows).empty((n, n))
    chunk = max(1, ENTRIES_PER_CHUNK // max(n, 1))
    for start in range(0, n, chunk):
        block[start : start + chunk] = kernel._covariance(rows[start : start + chunk], rows)
    return block


class DenseSolver:
    r"""Gauss–Newton steps with the dense Gram matrix of the linearized measurements.

    Parameters
    ----------
    kernel : MeasurementKernel
    system : CollocationSystem
    nugget : float, optional
        η >= 0: :math:`\Theta + \eta\,\operatorname{diag}(\operatorname{diag}\Theta)`.

    Attributes
    ----------
    kernel, system, nugget
        As given.

    Notes
    -----
    .. math::

        \alpha = (\Theta + \eta\operatorname{diag}(\operatorname{diag}\Theta))^{-1} r,
        \qquad v_t(x_i) = (B_t\delta_{x_i})^x \phi^y k\;\alpha.

    References
    ----------
    .. [1] Chen, Hosseini, Owhadi, Stuart, "Solving and learning nonlinear PDEs with
       Gaussian processes", J. Comput. Phys. 447, 2021, Sec. 3.

    Every step runs on the device of the system's points: the Gram matrix, its Cholesky
    factor (``xp.linalg.cholesky`` on CuPy) and the triangular solves.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> s = CollocationSystem(np.array([[0.0], [1.0]]), np.array([[0.5]]), ("value", "d00"))
    >>> solver = DenseSolver(MeasurementKernel(Matern(2.5, 0.5)), s, 1e-12)
    >>> w = np.array([[0.0, 1.0]])  # u'' = 2, u(0) = u(1) = 0 at three points
    >>> alpha, info = solver.solve(w, np.array([0.0, 0.0, 2.0]))
    >>> bool(abs(solver.state(w, alpha)[0, 1] - 2.0) < 1e-8)
    True
    """

    def __init__(self, kernel, system, nugget=0.0):
        if not isinstance(kernel, MeasurementKernel):
            raise ValueError(f"kernel: expected a MeasurementKernel, received {kernel!r}")
        if not isinstance(system, CollocationSystem):
            raise ValueError(f"system: expected a CollocationSystem, received {system!r}")
        kernel.check_measurements(system.big_measurements(), "kernel")
        n = system.n_boundary + system.n_interior
        check_array_size("system", (n, n))  # the Gram matrix Θ of every step
        self.kernel, self.system = kernel, system
        self.nugget = check_nonnegative("nugget", nugget)

    def solve(self, weights, rhs, step=0):
        r"""Solve the step's kernel system; returns ``(alpha, info)``.

        ``info`` holds ``time`` (seconds), ``cg_iterations`` (0) and ``residual``
        (relative residual of the regularized system).
        """
        w = self.system.check_weights(weights)
        step = check_integer("step", step, minimum=0)  # named in a failure's message
        n = self.system.n_boundary + len(w)
        return self._solve(w, check_rhs(rhs, n, self.system.interior), step)

    def _solve(self, w, rhs, step):
        """:meth:`solve` of checked weights and right-hand side (the Gauss–Newton step)."""
        start = time.perf_counter()
        xp = backend.array_namespace(w, rhs)
        measurements = self.system._combined(w)
        n = len(measurements)
        theta = kernel_block(self.kernel, measurements.rows())
        diagonal = xp.arange(n)
        theta[diagonal, diagonal] *= 1.0 + self.nugget
        try:
            # Θ = U Uᵀ with U = F C F (F the flip): blocked LAPACK that stays clear of the
            # threaded dsyrk that crashes OpenBLAS for matrices of ~16000 rows and more.
            lower = flipped_cholesky(theta, "theta")
        except (np.linalg.LinAlgError, ValueError) as error:
            raise np.linalg.LinAlgError(
                f"Gauss–Newton step {step}: the Gram matrix is not positive definite "
                f"numerically ({error}); use a larger nugget"
            ) from None
        alpha = cholesky_solve(lower, rhs[::-1])[::-1]
        residual = float(xp.linalg.norm(theta @ alpha - rhs)) / max(
            float(xp.linalg.norm(rhs)), 1e-300
        )
        info = {"time": time.perf_counter() - start, "cg_iterations": 0, "residual": residual}
        return alpha, info

    def state(self, weights, alpha):
        """Values of the basis measurements of the GP mean at the interior points, (n_i, T)."""
        w = self.system.check_weights(weights)
        alpha = check_alpha(alpha, self.system.n_boundary + len(w), self.system.interior)
        return finite_or_overflow(self._state(w, alpha), "weights, alpha", message=OVERFLOW)

    def _state(self, w, alpha):
        """:meth:`state` of checked arguments, unchecked result (the Gauss–Newton step)."""
        rows = self.system._combined(w).rows()
        return backend.array_namespace(rows).stack(
            [
                kernel_product(self.kernel, t.rows(), rows, alpha)
                for t in self.system.type_measurements
            ],
            axis=1,
        )

    def evaluate(self, weights, alpha, points):
        """The GP mean at new points (on the system's device), shape (m,)."""
        w = self.system.check_weights(weights)
        alpha = check_alpha(alpha, self.system.n_boundary + len(w), self.system.interior)
        new_rows = new_point_rows(points, self.system.interior)
        values = kernel_product(self.kernel, new_rows, self.system._combined(w).rows(), alpha)
        return finite_or_overflow(values, "weights, alpha", message=OVERFLOW)


def cholesky_solve(lower, b):
    r"""(C Cᵀ)⁻¹ b for a lower-triangular Cholesky factor C, on the device of ``C``.

    NumPy: LAPACK's ``potrs`` (``scipy.linalg.cho_solve``); CuPy, whose
    ``cupyx.scipy.linalg`` has no ``cho_solve``: two triangular solves.
    """
    if backend.array_namespace(lower, b) is np:
        return scipy.linalg.cho_solve((lower, True), b, check_finite=False)
    linalg = backend.scipy_namespace(lower, b).linalg
    return linalg.solve_triangular(
        lower.T, linalg.solve_triangular(lower, b, lower=True), lower=False
    )


def check_alpha(alpha, n, like):
    """Return ``alpha`` as a finite float array of shape (n,) on the backend of ``like``,
    or raise ValueError naming it."""
    alpha = as_float_array("alpha", check_not_bool("alpha", alpha), ndim=1, like=like)
    if alpha.shape != (n,):
        raise ValueError(f"alpha: expected shape ({n},), received {alpha.shape}")
    return check_coordinates("alpha", check_backend("alpha", alpha, like))


def new_point_rows(points, like):
    """The value measurements at ``points`` (m, d) as rows, or ValueError naming ``points``.

    ``like`` (n, d) holds the system's points: the new ones must match their dimension
    and device.
    """
    new = point_values(check_not_bool("points", points))
    check_backend("points", new.points, like)
    d = like.shape[1]
    if new.dim != d:
        raise ValueError(f"points: expected points of dimension {d}, received {new.points.shape}")
    return new.rows()


def check_rhs(rhs, n, like):
    """Return ``rhs`` as a finite float array of shape (n,) on the backend of ``like``, or
    raise ValueError naming it."""
    rhs = check_backend("rhs", as_float_array("rhs", rhs, ndim=1, like=like), like)
    if rhs.shape != (n,):
        raise ValueError(f"rhs: expected shape ({n},), received {rhs.shape}")
    return check_coordinates("rhs", rhs)
