r"""PDE problems with exact solutions, and ``solve``: the front door.

Conventions: :math:`\Delta = \sum_i \partial_i^2` (so :math:`-\Delta` is positive);
the interior grid of spacing h is :math:`\{h, 2h, \dots, 1 - h\}^2` and the
boundary points are spaced h along the four sides (corners once), as in the
authors' code; the nugget η is relative to the diagonal of the Gram matrix.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_choice, check_positive
from refimpl.vecchia import Matern

from .dense import DenseSolver
from .gauss_newton import Solution, gauss_newton
from .kernels import MeasurementKernel
from .sparse import SparseSolver
from .system import CollocationSystem

__all__ = ["NonlinearElliptic", "MongeAmpere", "unit_square_grid", "solve", "METHODS"]

#: The two solvers.
METHODS = ("sparse", "dense")


def unit_square_grid(h):
    r"""Interior grid and boundary points of spacing h on :math:`[0, 1]^2`.

    Parameters
    ----------
    h : float
        Spacing with 1/h an integer >= 2.

    Returns
    -------
    boundary : ndarray, shape (4/h, 2)
    interior : ndarray, shape ((1/h - 1)², 2)

    Notes
    -----
    .. math:: x_{ij} = (ih, jh),\ 1 \le i, j \le 1/h - 1.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.1.

    Examples
    --------
    >>> b, x = unit_square_grid(0.5)
    >>> b.shape, x.tolist()
    ((8, 2), [[0.5, 0.5]])
    """
    h = check_positive("h", h)
    n = int(round(1.0 / h)) if h <= 0.5 else 0
    if n < 2 or abs(n * h - 1.0) > 1e-9 or n > 4000:
        raise ValueError(f"h: expected 1/h an integer in [2, 4000], received h = {h!r}")
    t = np.arange(1, n) / n
    interior = np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, 2)
    side = np.arange(n) / n
    boundary = np.concatenate(
        [
            np.stack([side, np.zeros(n)], 1),
            np.stack([np.ones(n), side], 1),
            np.stack([1.0 - side, np.ones(n)], 1),
            np.stack([np.zeros(n), 1.0 - side], 1),
        ]
    )
    return boundary, interior


def _check_unit_square(name, x):
    x = backend.to_numpy(as_float_array(name, x, ndim=2))
    if x.shape[1] != 2 or x.shape[0] == 0:
        raise ValueError(f"{name}: expected points of shape (m, 2), received {x.shape}")
    if np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"{name}: expected points in the domain [0, 1]^2, received some outside")
    return x


class NonlinearElliptic:
    r"""The nonlinear elliptic problem :math:`-\Delta u + \alpha u^m = f` on :math:`[0,1]^2`.

    Parameters
    ----------
    alpha : float, optional
    m : int, optional
        Odd m >= 1 keeps the problem monotone; m = 1 with alpha = 0 is linear.
    terms : int, optional
        Terms of the exact solution's series.

    Attributes
    ----------
    basis : tuple of str
        ``("value", "laplacian")``.
    kernel : Matern
        Default prior: Matérn-7/2, length scale 0.3 (the authors').
    nugget, steps : float, int
        Default relative nugget 1e-10 and three Gauss–Newton steps.

    Notes
    -----
    The authors' truth and data: :math:`u = \sum_{k=1}^{K} \sin(\pi k x_1)\sin(\pi k x_2)/k^6`,
    :math:`f = \sum_k 2\pi^2 k^2 \sin(\pi k x_1)\sin(\pi k x_2)/k^6 + \alpha u^m`,
    g = u on the boundary. Linearized at v the interior measurement is
    :math:`(-\Delta + \alpha m v^{m-1})\delta_x` with data
    :math:`f + \alpha(m-1)v^m`.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Sec. 6.1.

    Examples
    --------
    >>> import numpy as np
    >>> p = NonlinearElliptic()
    >>> float(p.truth(np.array([[0.0, 0.3]]))[0])
    0.0
    """

    basis = ("value", "laplacian")

    def __init__(self, alpha=1.0, m=3, terms=600):
        self.alpha = float(as_float_array("alpha", alpha, ndim=0))
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or not 1 <= m <= 9:
            raise ValueError(f"m: expected an integer power in [1, 9], received {m!r}")
        self.m = int(m)
        if isinstance(terms, bool) or not isinstance(terms, int | np.integer) or not 1 <= terms:
            raise ValueError(f"terms: expected a positive integer, received {terms!r}")
        self.terms = min(int(terms), 5000)
        self.kernel = Matern(3.5, 0.3)
        self.nugget, self.steps = 1e-10, 3

    def collocation(self, h):
        """``(boundary, interior)`` points of spacing h (see :func:`unit_square_grid`)."""
        return unit_square_grid(h)

    def _series(self, x, power):
        x = _check_unit_square("x", x)
        k = np.arange(1, self.terms + 1)
        coeff = (np.pi * k) ** power / k**6.0
        out = np.empty(x.shape[0])
        for s in range(0, x.shape[0], 2000):
            sin1 = np.sin(np.pi * np.outer(x[s : s + 2000, 0], k))
            sin2 = np.sin(np.pi * np.outer(x[s : s + 2000, 1], k))
            out[s : s + 2000] = (sin1 * sin2) @ coeff
        return out

    def truth(self, x):
        """The exact solution at points x (m, 2)."""
        return self._series(x, 0)

    def rhs(self, x):
        r"""The right-hand side f at points x."""
        return 2.0 * self._series(x, 2) + self.alpha * self.truth(x) ** self.m

    def initial_state(self, n):
        """v = 0 (and Δv = 0)."""
        return np.zeros((n, 2))

    def linearize(self, state, f):
        """Weights of (δ, Δδ) and the right-hand side at the state (v, Δv)."""
        v = state[:, 0]
        weights = np.stack([self.alpha * self.m * v ** (self.m - 1), -np.ones_like(v)], axis=1)
        return weights, f + self.alpha * (self.m - 1) * v**self.m

    def residual(self, state, f):
        """The PDE residual −Δv + α v^m − f at the interior points."""
        return -state[:, 1] + self.alpha * state[:, 0] ** self.m - f


class MongeAmpere:
    r"""The Monge–Ampère equation :math:`\det D^2 u = f` on :math:`[0,1]^2`.

    Attributes
    ----------
    basis : tuple of str
        ``("value", "d00", "d01", "d11")``.
    kernel : Matern
        Matérn-5/2, length scale 0.3 (the authors').
    nugget, steps : float, int
        1e-12 (relative) and three steps.

    Notes
    -----
    Truth :math:`u = \exp(|x - 0.5|^2/2)`, so :math:`D^2u = u(I + yy^\top)`,
    :math:`y = x - 0.5`, and :math:`f = e^{|y|^2}(1 + |y|^2)`. Linearized at v,

    .. math::

        v_{22}u_{11} - 2v_{12}u_{12} + v_{11}u_{22} = f + v_{11}v_{22} - v_{12}^2,

    started at :math:`v_{11} = v_{22} = 1`, :math:`v_{12} = 0`, which selects the
    convex solution.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.3.

    Examples
    --------
    >>> import numpy as np
    >>> float(MongeAmpere().rhs(np.array([[0.5, 0.5]]))[0])
    1.0
    """

    basis = ("value", "d00", "d01", "d11")

    def __init__(self):
        self.kernel = Matern(2.5, 0.3)
        self.nugget, self.steps = 1e-12, 3

    def collocation(self, h):
        """``(boundary, interior)`` points of spacing h."""
        return unit_square_grid(h)

    def truth(self, x):
        """The exact solution."""
        y = _check_unit_square("x", x) - 0.5
        return np.exp(0.5 * np.sum(y * y, axis=1))

    def rhs(self, x):
        """f = det D²u."""
        y = _check_unit_square("x", x) - 0.5
        s = np.sum(y * y, axis=1)
        return np.exp(s) * (1.0 + s)

    def initial_state(self, n):
        """v = 0 with v₁₁ = v₂₂ = 1, v₁₂ = 0."""
        return np.tile([0.0, 1.0, 0.0, 1.0], (n, 1))

    def linearize(self, state, f):
        """Weights of (δ, ∂₁₁, ∂₁₂, ∂₂₂) and the right-hand side at the state."""
        v11, v12, v22 = state[:, 1], state[:, 2], state[:, 3]
        weights = np.stack([np.zeros_like(v11), v22, -2.0 * v12, v11], axis=1)
        return weights, f + v11 * v22 - v12**2

    def residual(self, state, f):
        """det D²v − f at the interior points."""
        return state[:, 1] * state[:, 3] - state[:, 2] ** 2 - f


def make_solver(method, kernel, system, nugget, options):
    """The dense or sparse solver for a collocation system."""
    method = check_choice("method", method, METHODS)
    if method == "dense":
        if options:
            raise ValueError(f"options: the dense solver takes none, received {sorted(options)}")
        return DenseSolver(kernel, system, nugget)
    allowed = ("rho", "lam", "p", "placement", "cg_rtol", "cg_maxiter")
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
        (``"follow"``), ``cg_rtol`` (1e-10), ``cg_maxiter`` (500). Unknown keys raise
        ValueError.

    Returns
    -------
    Solution
        ``values`` at the interior points, the exact solution, per-step history and
        a callable for new points.

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

    def linearize(state):
        return problem.linearize(state, f)

    state, weights, alpha, history = gauss_newton(
        solver,
        linearize,
        g,
        problem.initial_state(system.n_interior),
        steps,
        residual=lambda state: problem.residual(state, f),
    )

    def evaluate(x):
        return solver.evaluate(weights, alpha, _check_unit_square("x", x))

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
