r"""The sparse Gauss–Newton step: Θ matrix-free from one KL factor, PCG with another.

Once per problem (Chen, Owhadi & Schäfer, Sec. 4–5):

1. order the big list :math:`[\delta_{x_b}; B_0\delta_{x_i}; \dots; B_{T-1}\delta_{x_i}]`
   (:mod:`refimpl.pde.ordering`), scale every measurement to unit variance, and
   compute its KL-optimal factor, :math:`\Theta_{\text{big}}^{-1} \approx L L^\top`
   (with the relative nugget η);
2. order the points once more for the system's own factor and build its ρ-pattern
   and supernodes.

Every Gauss–Newton step then applies :math:`\Theta = A\,\Theta_{\text{big}} A^\top`
matrix-free, with two sparse triangular solves,

.. math::

    \Theta x = A\,D^{-1} P^\top L^{-\top} L^{-1} P D^{-1} A^\top x,

(D the scaling to unit variances, :math:`D_{kk} = \Theta_{kk}^{-1/2}`; P the
ordering), computes the KL factor of Θ itself on the stored pattern with the new
weights, :math:`\Theta^{-1} \approx D_\Theta P^\top L_\Theta L_\Theta^\top P D_\Theta`,
and runs preconditioned conjugate gradients (``scipy.sparse.linalg.cg``) started
from the preconditioned right-hand side. Each step costs :math:`O(N\rho^{2d})` for
the factor and :math:`O(N\rho^d)` per CG iteration.

**The solution between the collocation points.** The solver's GP is the one whose
covariance on the big list is the factor's :math:`\tilde\Theta_{\text{big}} =
D^{-1}P^\top L^{-\top}L^{-1}PD^{-1}`; its state :math:`\beta =
\tilde\Theta_{\text{big}}A^\top\alpha` holds every basis measurement at every
collocation point (``values`` is β's value part). The cross-covariance of a new point
with the big list under that GP is *not* :math:`k(x, \phi_{\text{big}})`: mixing the
exact cross-covariance with the approximate precision, :math:`k(x, \phi)\alpha`, misses
``values`` at the collocation points by far more than the solution's error (2·10⁻² at
h = 0.01 against an RMS error of 7·10⁻⁷). A new point x is instead added *first* to the
elimination order, with the measurements N at the collocation points within
:math:`\rho\,\ell` of it as its sparsity set (ℓ the fine length scale of the ordering,
the 10 % quantile of its lengths: h on a grid, and not shrunk by a few clustered
points as the minimum would be). Its column then leaves the factor of the big list unchanged
(the inverse of a lower-triangular factor keeps the trailing block's inverse), and the
GP mean at x is the mean conditioned on the state there,

.. math::

    u(x) = k(\delta_x, \phi_N)\,\Theta_{NN}^{-1}\beta_N,

which equals ``values`` at the collocation points. This treats β as exact, noise-free
values of the solution's measurements: x's column is the KL-optimal one for
:math:`\Theta + \epsilon\,\operatorname{diag}\Theta` without the factor's nugget η
(a jitter ε = :math:`10^{-14}` of the unit diagonal keeps the small solves stable), so
the mean interpolates the state; with η it would smooth it and miss ``values`` by 0.16
of the RMS error at h = 0.01. At :math:`\rho = \infty`, N is the whole list,
:math:`\beta = \Theta_{\text{big}}A^\top\alpha` up to the nugget, and
:math:`u(x) = k(\delta_x, \phi)\alpha` up to O(η) and the jitter (times a condition
number that grows as h falls): the dense solver's formula.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse.linalg as spla
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import (
    DivergenceError,
    as_float_array,
    check_array_size,
    check_integer,
    check_nonnegative,
    check_positive,
    finite_or_overflow,
)
from refimpl.vecchia import ball_pattern, supernodal_kl_factor, supernodes
from refimpl.vecchia.points import check_rho

from .dense import (
    ENTRIES_PER_CHUNK,
    OVERFLOW,
    check_alpha,
    check_rhs,
    kernel_block,
    kernel_product,
    new_point_rows,
)
from .kernels import MeasurementKernel
from .measurements import check_backend, check_not_bool
from .ordering import measurement_ordering, multiset_maximin_ordering
from .system import CollocationSystem, host_system

__all__ = ["SparseSolver", "CG_RTOL"]

#: Jitter added to the unit diagonal of each new point's conditioning block Θ_NN: about
#: a hundred rounding errors, it keeps the small solves stable at h = 0.01 (condition
#: numbers near 10¹³) and moves the solution at the collocation points by less than
#: 10⁻³ of its error there.
JITTER = 1e-14


#: CG's default relative residual, √ε ≈ 1.49·10⁻⁸: the default of IterativeSolvers.jl's
#: ``cg!``, which the authors' solver uses. Its error stays far below the discretization
#: error (RMS 1.37·10⁻⁵ at h = 0.01 with 10⁻⁸ as with 10⁻¹⁰) at three quarters of the
#: iterations that 10⁻¹⁰ needs.
CG_RTOL = float(np.sqrt(np.finfo(float).eps))


class _Triangular:
    """Repeated solves with a sparse lower-triangular L and with Lᵀ.

    SuperLU with the natural order and no pivoting factors the upper-triangular Lᵀ
    without fill (its L factor is the identity, its U factor is Lᵀ), and its C
    triangular solves then give L⁻ᵀ b (``solve``) and L⁻¹ b (``solve`` transposed).
    Measured at N = 2·10⁴ with 1.1·10⁶ entries: 1.7 ms and 2.6 ms, against 3.8 ms and
    3.5 ms for SuperLU of L itself and 20 ms for
    ``scipy.sparse.linalg.spsolve_triangular``.
    """

    def __init__(self, L):
        upper = L.T.tocsc()
        self.lu = spla.splu(
            upper, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
        )
        n = L.shape[0]
        identity = np.arange(n)
        if (
            not np.array_equal(self.lu.perm_r, identity)
            or not np.array_equal(self.lu.perm_c, identity)
            or self.lu.L.nnz != n
            or self.lu.U.nnz > upper.nnz
        ):
            raise np.linalg.LinAlgError("the triangular factor could not be used without pivoting")

    def inverse(self, b):
        """L⁻¹ b."""
        return self.lu.solve(b, trans="T")

    def inverse_transpose(self, b):
        """L⁻ᵀ b."""
        return self.lu.solve(b)


class SparseSolver:
    r"""Gauss–Newton steps with KL-factored kernel matrices and PCG.

    Parameters
    ----------
    kernel : MeasurementKernel
    system : CollocationSystem
    nugget : float, optional
        η >= 0, relative to each measurement's variance, in both factors.
    rho : float, optional
        ρ > 0 of the big factor's ρ-ball pattern (``inf``: a dense factor), and of the
        preconditioner's unless ``rho_system`` is given.
    lam : float, optional
        λ >= 1 of the supernodes.
    p : int, optional
        k-maximin parameter of the ordering.
    placement : {"follow", "last"}, optional
        Where derivative measurements go in the big factor's order.
    cg_rtol : float, optional
        Relative residual at which CG stops (default :data:`CG_RTOL`, √ε).
    cg_maxiter : int, optional
        CG's iteration budget; not converging within it raises DivergenceError.
    precondition : bool, optional
        False runs plain CG from zero (for comparison; no factor of Θ is built).
    rho_system : float, optional
        ρ > 0 of the preconditioner, the KL factor of Θ (the authors' ``ρ_small``);
        None: ``rho``. A larger value costs a larger factor per step and saves CG
        iterations, up to about ``rho``: beyond it the approximate Θ itself limits PCG.

    Attributes
    ----------
    timings : dict
        Seconds of the set-up stages: ``ordering``, ``pattern``, ``factor``.
    nnz : dict
        Entries of the big factor (``big``) and of the system's factor (``system``).

    The solver runs on the host (KD-trees, SciPy's SuperLU and CG): a system of CuPy
    arrays is copied to the host once, each method's array arguments are copied there
    and its results (``alpha``, states, values) come back on the system's device.

    Notes
    -----
    .. math::

        \Theta = A\,\Theta_{\text{big}}A^\top,\qquad
        \Theta_{\text{big}}^{-1} \approx L L^\top \text{ (KL-optimal on } S_\rho).

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Alg. 5.1.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> x = np.linspace(0, 1, 9)[:, None]
    >>> s = CollocationSystem(x[[0, -1]], x[1:-1], ("value", "d00"))
    >>> solver = SparseSolver(MeasurementKernel(Matern(3.5, 0.5)), s, 1e-10, rho=float("inf"))
    >>> w = np.tile([0.0, 1.0], (7, 1))  # u'' = 2 with zero boundary values
    >>> alpha, info = solver.solve(w, np.r_[0.0, 0.0, np.full(7, 2.0)])
    >>> error = solver.state(w, alpha)[:, 0] - (x[1:-1, 0] ** 2 - x[1:-1, 0])  # exact: x² − x
    >>> bool(np.abs(error).max() < 0.01)
    True
    """

    def __init__(
        self,
        kernel,
        system,
        nugget=0.0,
        rho=3.0,
        lam=1.5,
        p=3,
        placement="follow",
        cg_rtol=CG_RTOL,
        cg_maxiter=500,
        precondition=True,
        rho_system=None,
    ):
        if not isinstance(kernel, MeasurementKernel):
            raise ValueError(f"kernel: expected a MeasurementKernel, received {kernel!r}")
        if not isinstance(system, CollocationSystem):
            raise ValueError(f"system: expected a CollocationSystem, received {system!r}")
        self.kernel, self.system = kernel, system
        self._system = system = host_system(system)  # every stage below runs on the host
        self.nugget = check_nonnegative("nugget", nugget)
        self.cg_rtol = check_positive("cg_rtol", cg_rtol)
        self.cg_maxiter = check_integer("cg_maxiter", cg_maxiter, minimum=1, maximum=10**6)
        if not isinstance(precondition, bool | np.bool_):
            raise ValueError(f"precondition: expected True or False, received {precondition!r}")
        self.precondition = bool(precondition)
        big = kernel.check_measurements(system.big_measurements(), "kernel")
        self.timings, self.nnz = {}, {}

        start = time.perf_counter()
        point_order, point_lengths = multiset_maximin_ordering(system.boundary, system.interior, p)
        self.order, lengths = measurement_ordering(
            point_order, point_lengths, system.n_boundary, system.n_types, placement
        )
        self.point_order = point_order
        positive = point_lengths[point_lengths > 0]
        # a new point conditions on the collocation points within ρ times the fine length
        # scale of the ordering, as the finest columns do: its 10 % quantile, the spacing
        # h on a grid, which a few clustered points do not shrink (their minimum would)
        fine = float(np.quantile(positive, 0.1)) if positive.size else np.inf
        self.timings["ordering"] = time.perf_counter() - start

        start = time.perf_counter()
        big_groups = supernodes(ball_pattern(big.points[self.order], lengths, rho), lengths, lam)
        self._radius = check_rho(rho) * fine
        self._tree, self._cache = None, None  # for evaluate: the points' tree, (key, β, c)
        points = system.points[point_order]
        rho_system = rho if rho_system is None else check_rho(rho_system, "rho_system")
        self.groups = supernodes(
            ball_pattern(points, point_lengths, rho_system), point_lengths, lam
        )
        self.timings["pattern"] = time.perf_counter() - start

        start = time.perf_counter()
        self.scale = 1.0 / np.sqrt(kernel._variances(big))  # (N_big,)
        rows = big.scaled(self.scale).rows()[self.order]
        L = supernodal_kl_factor(rows, kernel, big_groups, nugget=self.nugget)
        self.nnz["big"] = L.nnz
        self._big = _Triangular(L)
        self.timings["factor"] = time.perf_counter() - start

    def _to_host(self, *arrays):
        """The arguments on the host: the solver's one device-to-host transfer."""
        return tuple(backend.to_numpy(a) for a in arrays)

    def _to_device(self, x):
        """A host result on the device of the system's points (itself for NumPy)."""
        return backend.to_device(x, like=self.system.interior)

    def apply_big(self, y):
        r"""The approximate :math:`\Theta_{\text{big}}\, y` (two triangular solves).

        Parameters
        ----------
        y : ndarray, shape (n_b + T n_i,)
            A vector on the big list, in its natural layout.

        Returns
        -------
        ndarray, shape (n_b + T n_i,)
            On the device of the system's points.
        """
        like = self.system.interior
        y = check_backend("y", as_float_array("y", check_not_bool("y", y), ndim=1, like=like), like)
        n = len(self.order)
        if y.shape != (n,):
            raise ValueError(f"y: expected shape ({n},) of the big list, received {y.shape}")
        (y,) = self._to_host(y)
        z = finite_or_overflow(self._apply_big(y), "y", message="the product overflows")
        return self._to_device(z)

    def _apply_big(self, y):
        """:meth:`apply_big` of a checked vector (a CG iteration's product)."""
        z = np.empty_like(y)
        w = (y / self.scale)[self.order]
        z[self.order] = self._big.inverse_transpose(self._big.inverse(w))
        return z / self.scale

    def solve(self, weights, rhs, step=0):
        r"""Solve :math:`\Theta\alpha = r` by PCG; returns ``(alpha, info)``.

        ``info`` holds ``time`` (seconds of the step), ``factor_time``, ``cg_time``,
        ``cg_iterations`` and ``residual`` (CG's final relative residual).
        """
        w = self.system.check_weights(weights)
        step = check_integer("step", step, minimum=0)  # named in a failure's message
        n = self.system.n_boundary + len(w)
        return self._solve(w, check_rhs(rhs, n, self.system.interior), step)

    def _solve(self, w, rhs, step):
        """:meth:`solve` of checked weights and right-hand side (the Gauss–Newton step)."""
        start = time.perf_counter()
        w, rhs = self._to_host(w, rhs)
        system = self._system
        A = system._weight_matrix(w)
        n = A.shape[0]
        measurements = system._combined(w)
        variances = self.kernel._variances(measurements)
        if not np.all(variances > 1e-280):
            k = int(np.flatnonzero(~(variances > 1e-280))[0]) - system.n_boundary
            raise ValueError(
                f"weights: the linearized measurement at interior point {k} is (numerically) "
                "zero; expected weights that make a non-zero functional"
            )
        scale = 1.0 / np.sqrt(variances)
        if self.precondition:
            rows = measurements._scaled(scale).rows()[self.point_order]
            L = supernodal_kl_factor(rows, self.kernel, self.groups, nugget=self.nugget)
            self.nnz["system"] = L.nnz
        factor_time = time.perf_counter() - start

        def theta(x):
            return A @ self._apply_big(A.T @ np.ravel(x))

        def precondition(x):
            y = (scale * np.ravel(x))[self.point_order]
            z = np.empty_like(y)
            z[self.point_order] = L @ (L.T @ y)
            return scale * z

        operator = spla.LinearOperator((n, n), matvec=theta, dtype=float)
        preconditioner = spla.LinearOperator((n, n), matvec=precondition, dtype=float)
        iterations = [0]

        def count(_):
            iterations[0] += 1

        cg_start = time.perf_counter()
        alpha, status = spla.cg(
            operator,
            rhs,
            x0=precondition(rhs) if self.precondition else np.zeros(n),
            rtol=self.cg_rtol,
            atol=0.0,
            maxiter=self.cg_maxiter,
            M=preconditioner if self.precondition else None,
            callback=count,
        )
        norm = max(np.linalg.norm(rhs), 1e-300)
        residual = float(np.linalg.norm(theta(alpha) - rhs) / norm)
        if status != 0 or not np.all(np.isfinite(alpha)):
            raise DivergenceError(
                f"Gauss–Newton step {step}: conjugate gradients stopped after "
                f"{iterations[0]} iterations at relative residual {residual:.3g} > cg_rtol = "
                f"{self.cg_rtol:g}; raise cg_maxiter, loosen cg_rtol or use a larger nugget",
                step,
            )
        info = {
            "time": time.perf_counter() - start,
            "factor_time": factor_time,
            "cg_time": time.perf_counter() - cg_start,
            "cg_iterations": iterations[0],
            "residual": residual,
        }
        return self._to_device(alpha), info

    def state(self, weights, alpha):
        """Values of the basis measurements of the GP mean at the interior points, (n_i, T)."""
        w = self.system.check_weights(weights)
        alpha = check_alpha(alpha, self.system.n_boundary + len(w), self.system.interior)
        return finite_or_overflow(self._state(w, alpha), "weights, alpha", message=OVERFLOW)

    def _state(self, w, alpha):
        """:meth:`state` of checked arguments, unchecked result (the Gauss–Newton step)."""
        w, alpha = self._to_host(w, alpha)
        A = self._system._weight_matrix(w)
        beta = self._apply_big(A.T @ alpha)
        nb, ni = self._system.n_boundary, self._system.n_interior
        return self._to_device(beta[nb:].reshape(self._system.n_types, ni).T)

    def evaluate(self, weights, alpha, points):
        r"""The GP mean at new points, shape (m,): the state conditioned near each point.

        .. math::

            u(x) = k(\delta_x, \phi_N)\,(\Theta_{NN} + \epsilon\,
            \operatorname{diag}\Theta_{NN})^{-1}\beta_N,

        N the basis measurements at the collocation points within :math:`\rho\,\ell`
        of x (ℓ the fine length scale of the ordering; the nearest point where none is
        that close), β the state of the big list and ε = :data:`JITTER` (see the module
        docstring). Each point costs one solve of size :math:`|N| = O(\rho^d)`; when every
        N is the whole list (ρ = ∞, or ρℓ beyond the points' diameter) one solve, kept
        for later calls with the same weights and α, serves all points.
        """
        like = self.system.interior
        w = self.system.check_weights(weights)
        alpha = check_alpha(alpha, self.system.n_boundary + len(w), like)
        new_rows = new_point_rows(points, like)  # (m, w)
        w, alpha, new_rows = self._to_host(w, alpha, new_rows)
        system = self._system
        d = system.boundary.shape[1]
        A = system._weight_matrix(w)
        points = new_rows[:, :d]
        key = (A.data.tobytes(), alpha.tobytes())
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._apply_big(A.T @ alpha), None)  # β: (N_big,)
        beta = self._cache[1]
        big_rows = system.big_measurements().rows()  # (N_big, w)
        everything = np.vstack([system.points, points])
        diameter = float(np.linalg.norm(everything.max(axis=0) - everything.min(axis=0)))
        if self._radius >= diameter:  # every N is the whole list: one solve for all
            if self._cache[2] is None:
                n = len(big_rows)
                check_array_size("rho", (4, n, n))  # Θ_big, its scaled copy, the LU's
                theta = kernel_block(self.kernel, big_rows)
                self._cache = (key, beta, _conditioned(theta[None], beta[None])[0])
            values = kernel_product(self.kernel, new_rows, big_rows, self._cache[2])
            values = finite_or_overflow(values, "weights, alpha", message=OVERFLOW)
            return self._to_device(values)
        neighbours = self._neighbour_measurements(points)  # (m, s), -1 pads
        size = neighbours.shape[1]
        check_array_size("rho", (4, size, size))
        diagonal = np.arange(size)
        values = np.empty(len(new_rows))
        chunk = max(1, ENTRIES_PER_CHUNK // size**2)
        for start in range(0, len(new_rows), chunk):
            index = neighbours[start : start + chunk]  # (b, s)
            valid = index >= 0
            rows = big_rows[np.where(valid, index, 0)]  # (b, s, w)
            # padding: identity rows and columns of Θ_NN, zero cross-covariance and state
            theta = self.kernel._covariance(rows, rows) * (
                valid[:, :, None] & valid[:, None, :]
            )  # (b, s, s)
            theta[:, diagonal, diagonal] += ~valid
            cross = (
                self.kernel._covariance(new_rows[start : start + chunk, None], rows)[:, 0] * valid
            )
            state = np.where(valid, beta[np.where(valid, index, 0)], 0.0)  # (b, s)
            coefficients = _conditioned(theta, state)
            values[start : start + chunk] = np.einsum("bs,bs->b", cross, coefficients)
        values = finite_or_overflow(values, "weights, alpha", message=OVERFLOW)
        return self._to_device(values)

    def _neighbour_measurements(self, points):
        """Big-list indices of the measurements at the collocation points near each point.

        Shape (m, s), rows padded with -1: the measurements at every collocation point
        within ρ ℓ of the point, or at the nearest one if none is that close.
        """
        system = self._system
        nb, ni = system.n_boundary, system.n_interior
        if self._tree is None:
            self._tree = cKDTree(system.points)
        _, nearest = self._tree.query(points)
        found = self._tree.query_ball_point(points, self._radius)
        found = [near or [closest] for near, closest in zip(found, nearest, strict=True)]
        counts = np.array([len(near) for near in found])
        near = np.full((len(points), counts.max()), -1)  # (m, k) point indices
        rows = np.repeat(np.arange(len(points)), counts)
        columns = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        near[rows, columns] = np.concatenate([np.asarray(n, dtype=np.intp) for n in found])
        # a boundary point carries one measurement, an interior point one per basis type
        types = np.arange(system.n_types)
        index = np.where(near[..., None] >= nb, nb + types * ni + (near[..., None] - nb), -1)
        index[..., 0] = np.where(near >= nb, index[..., 0], near)
        return index.reshape(len(points), -1)  # (m, k T)


def _conditioned(theta, state):
    """(Θ + ε diag Θ)⁻¹ β for stacked blocks (b, s, s) and states (b, s), ε = JITTER.

    Solved on the unit diagonal: the blocks mix values and second derivatives, whose
    variances differ by orders of magnitude.
    """
    scale = 1.0 / np.sqrt(np.einsum("bii->bi", theta))  # (b, s)
    unit = theta * scale[:, :, None] * scale[:, None, :]
    unit[:, np.arange(unit.shape[1]), np.arange(unit.shape[1])] += JITTER
    try:
        solution = np.linalg.solve(unit, (scale * state)[..., None])[..., 0]
    except np.linalg.LinAlgError as error:
        raise np.linalg.LinAlgError(
            f"the covariance of the measurements near a new point is singular ({error})"
        ) from None
    return scale * solution
