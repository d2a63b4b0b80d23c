r"""``solve``: a PDE problem, a spacing h and a method in; the GP solution out.

Conventions: :math:`\Delta = \sum_i \partial_i^2` (so :math:`-\Delta` is positive);
the nugget η is relative to the diagonal of the Gram matrix; the interior
measurements are ordered boundary first (coarse) then interior (see
:mod:`refimpl.pde.ordering`).
"""

from __future__ import annotations

from refimpl import backend
from refimpl.validation import check_array_size, check_choice

from .dense import DenseSolver
from .gauss_newton import Solution, gauss_newton
from .kernels import MeasurementKernel
from .problems import check_unit_square
from .sparse import SparseSolver
from .system import CollocationSystem

__all__ = ["solve", "make_solver", "METHODS"]

#: The two solvers.
METHODS = ("sparse", "dense")


def make_solver(method, kernel, system, nugget, options):
    """The dense or sparse solver for a collocation system."""
    method = check_choice("method", method, METHODS)
    if method == "dense":
        if options:
            raise ValueError(f"options: the dense solver takes none, received {sorted(options)}")
        n = system.n_boundary + system.n_interior
        check_array_size("h", (n, n))  # the Gram matrix: h decides its size
        return DenseSolver(kernel, system, nugget)
    allowed = (
        "rho",
        "lam",
        "p",
        "placement",
        "cg_rtol",
        "cg_maxiter",
        "precondition",
        "rho_system",
    )
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"options: unknown option {unknown[0]!r}; allowed: {allowed}")
    return SparseSolver(kernel, system, nugget, **options)


def solve(problem, h, method="sparse", kernel=None, nugget=None, steps=None, **options):
    r"""Solve a PDE problem by Gauss–Newton with a GP prior at collocation points.

    Parameters
    ----------
    problem : NonlinearElliptic, MongeAmpere or Burgers
    h : float
        Spacing of the collocation points.
    method : {"sparse", "dense"}, optional
    kernel : Matern or Gaussian, optional
        The prior (default: the problem's).
    nugget : float, optional
        η >= 0 relative to the Gram diagonal (default: the problem's).
    steps : int, optional
        Gauss–Newton steps (per time step for Burgers; default: the problem's).
    **options
        For ``"sparse"``: ``rho`` (3), ``lam`` (1.5), ``p`` (3), ``placement``
        (``"follow"``), ``cg_rtol`` (√ε ≈ 1.49e-8, the authors' CG tolerance),
        ``cg_maxiter`` (500), ``precondition`` (True), ``rho_system`` (ρ of the
        preconditioner; default ``rho``). Unknown keys raise ValueError.

    Returns
    -------
    Solution
        ``values`` at the interior points, the exact solution, per-step history and
        a callable for new points. The problem's points are made on the default backend
        (:func:`refimpl.backend.set_default`), and the solution's arrays live there:
        the dense method computes on that device, the sparse one on the host (its
        arrays are copied there once and the results back).

    Raises
    ------
    DivergenceError
        If Gauss–Newton diverges or CG exceeds its budget (naming the step).
    numpy.linalg.LinAlgError
        If a Gram matrix is not positive definite numerically.

    Notes
    -----
    Each Gauss–Newton step solves

    .. math::

        v \leftarrow k(\cdot, \phi)\,\Theta^{-1}[g; f - P(v) + P'(v)v],\qquad
        \phi = [\delta_{x_b}; P'(v)\delta_{x_i}],

    densely (:class:`DenseSolver`) or with KL factors and PCG (:class:`SparseSolver`).

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024.
    .. [2] Chen, Hosseini, Owhadi, Stuart, J. Comput. Phys. 447, 2021.

    Examples
    --------
    >>> from refimpl.pde import NonlinearElliptic
    >>> sol = solve(NonlinearElliptic(), 0.125, method="dense")
    >>> round(sol.rms_error, 3), [record["cg_iterations"] for record in sol.history]
    (0.037, [0, 0, 0])
    """
    run = getattr(problem, "run", None)
    if not hasattr(problem, "collocation") or not hasattr(problem, "linearize"):
        raise ValueError(f"problem: expected a PDE problem of refimpl.pde, received {problem!r}")
    boundary, interior = problem.collocation(h)
    system = CollocationSystem(boundary, interior, problem.basis)
    measurement_kernel = MeasurementKernel(problem.kernel if kernel is None else kernel)
    nugget = problem.nugget if nugget is None else nugget
    steps = problem.steps if steps is None else steps
    solver = make_solver(method, measurement_kernel, system, nugget, options)
    if run is not None:
        return run(solver, system, steps, method)
    f = problem.rhs(interior)
    g = problem.truth(boundary)
    # the Gauss–Newton steps call the problem's unchecked forms: f and the iterates are
    # checked arrays of the right shapes
    linearize = getattr(problem, "_linearize", problem.linearize)
    residual = getattr(problem, "_residual", problem.residual)

    state, weights, alpha, history = gauss_newton(
        solver,
        lambda state: linearize(state, f),
        g,
        problem.initial_state(system.n_interior),
        steps,
        residual=lambda state: residual(state, f),
    )

    def evaluate(x):
        # new points from either device are moved to the solution's (explicitly)
        return solver.evaluate(
            weights, alpha, backend.to_device(check_unit_square("x", x), like=interior)
        )

    return Solution(
        points=interior,
        values=state[:, 0],
        boundary=boundary,
        truth=problem.truth(interior),
        history=history,
        timings=getattr(solver, "timings", {}),
        method=method,
        _evaluate=evaluate,
    )
