r"""Competitive gradient descent (CGD), its linearization (LCGD) and its Neumann series.

At each step both players play the Nash equilibrium of the local bilinear
approximation of the game, regularized by their step sizes:

.. math::

    \min_{\Delta x}\ \Delta x^\top \nabla_x f + \Delta x^\top D_{xy} f\, \Delta y
        + \tfrac{1}{2}\Delta x^\top H_x^{-1} \Delta x, \qquad
    \min_{\Delta y}\ \Delta y^\top \nabla_y g + \Delta y^\top D_{yx} g\, \Delta x
        + \tfrac{1}{2}\Delta y^\top H_y^{-1} \Delta y,

with diagonal step matrices H_x = diag(η_x), H_y = diag(η_y) (scalars for plain
CGD, per-coordinate for ACGD). Its first-order conditions
Δx = −H_x(∇ₓf + D_xy f Δy) and Δy = −H_y(∇_y g + D_yx g Δx) give the CGD update

.. math::

    \Delta x = -(I - H_x D_{xy} f\, H_y D_{yx} g)^{-1} H_x
               (\nabla_x f - D_{xy} f\, H_y \nabla_y g),

    \Delta y = -(I - H_y D_{yx} g\, H_x D_{xy} f)^{-1} H_y
               (\nabla_y g - D_{yx} g\, H_x \nabla_x f),

which for scalar η is Eq. (4) of [1]_. Expanding the inverse in its Neumann
series gives GDA (one term), LCGD (two terms), and the "I think that you
think that I think…" hierarchy.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103.
"""

from __future__ import annotations

from dataclasses import dataclass

from refimpl import backend
from refimpl.cgd.games import check_step_arguments
from refimpl.cgd.linear_solvers import conjugate_gradient, gmres
from refimpl.validation import check_integer

__all__ = ["CGDInfo", "cgd_step", "lcgd_step", "neumann_step", "SOLVERS"]

SOLVERS = ("auto", "dense", "cg", "gmres")


@dataclass(frozen=True)
class CGDInfo:
    """Inner-solver outcome of one CGD step.

    Attributes
    ----------
    solver : str
        ``"dense"``, ``"cg"`` or ``"gmres"``.
    iterations : int
        Krylov iterations (0 for the dense solve).
    residual : float
        Relative residual of the inner solve (0 for the dense solve).
    converged : bool
    solution : ndarray
        The inner system's solution, to warm-start the next step of the *same*
        solver with: w = H_x^{−1/2}(−Δx) for CG, Δx for GMRES and the dense solve.
    """

    solver: str
    iterations: int
    residual: float
    converged: bool
    solution: object


def _dense_mixed_hessians(game, x, y):
    xp = backend.array_namespace(x, y)
    dxy = game.dxy_f(x, y, xp.eye(game.m))  # (n, m)
    dyx = game.dyx_g(x, y, xp.eye(game.n))  # (m, n)
    return dxy, dyx


def cgd_step(
    game,
    x,
    y,
    eta_x,
    eta_y,
    solver="auto",
    tol=1e-12,
    maxiter=None,
    warm_start=None,
    gradients=None,
    restart=None,
):
    r"""One step of competitive gradient descent.

    Parameters
    ----------
    game : Game
    x : ndarray, shape (n,)
    y : ndarray, shape (m,)
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes: scalars, or per-coordinate (the diagonals of H_x and H_y).
    solver : {"auto", "dense", "cg", "gmres"}
        ``"dense"`` forms D_xy f and D_yx g and solves both players' systems of
        the update above with ``linalg.solve`` (exact, for small games).
        ``"cg"`` (zero-sum games only) solves the symmetric positive definite
        system of x below by conjugate gradients; ``"gmres"`` solves x's system
        as written. Both then get Δy by substitution,
        Δy = −H_y(∇_y g + D_yx g Δx). ``"auto"`` is CG for zero-sum games and
        GMRES otherwise.
    tol : float
        Relative residual tolerance of CG and GMRES.
    maxiter : int, optional
        Iteration cap of CG and GMRES.
    warm_start : ndarray, optional
        Initial guess for the inner solve (``info.solution`` of the previous
        step); the solvers start from the residual b − A x₀.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)
    info : CGDInfo

    Notes
    -----
    The update (Eq. 4 of [1]_, with diagonal step matrices H_x, H_y):

    .. math::

        \Delta x = -(I - H_x D_{xy} f\, H_y D_{yx} g)^{-1} H_x
                   (\nabla_x f - D_{xy} f\, H_y \nabla_y g),

        \Delta y = -(I - H_y D_{yx} g\, H_x D_{xy} f)^{-1} H_y
                   (\nabla_y g - D_{yx} g\, H_x \nabla_x f).

    In a zero-sum game D_yx g = −(D_xy f)ᵀ, and with w = H_x^{−1/2}(−Δx) the system
    of x becomes symmetric positive definite:

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w
            = H_x^{1/2}\bigl(\nabla_x f + D_{xy} f\, H_y \nabla_y f\bigr).

    Its matrix is I plus a positive semi-definite matrix, so its inverse has
    norm at most 1 and the CG error in w is at most ``tol`` times the norm of
    the right-hand side (``tol`` must be above cond·ε to be reachable).

    Examples
    --------
    On f = αxy, CGD multiplies z = (x, y) by (I + ηαJ)⁻¹, J = [[0, 1], [−1, 0]]:

    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x1, y1, info = cgd_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 1.0, 1.0)
    >>> x1, y1
    (array([0.5]), array([0.5]))
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {SOLVERS}, received {solver!r}")
    if solver == "auto":
        solver = "cg" if game.zero_sum else "gmres"
    if solver == "cg" and not game.zero_sum:
        raise ValueError(
            "solver: 'cg' needs a zero-sum game (its system is then symmetric positive "
            f"definite), received a general-sum {type(game).__name__}; use 'gmres' or 'dense'"
        )
    xp = backend.array_namespace(x, y)
    if gradients is None:
        gradients = game.grad_x_f(x, y), game.grad_y_g(x, y)
    gx, gy = gradients

    if solver == "dense":
        dxy, dyx = _dense_mixed_hessians(game, x, y)
        ex = eta_x * xp.ones(game.n)  # diag(H_x) as a vector
        ey = eta_y * xp.ones(game.m)
        system_x = xp.eye(game.n) - ex[:, None] * (dxy @ (ey[:, None] * dyx))
        system_y = xp.eye(game.m) - ey[:, None] * (dyx @ (ex[:, None] * dxy))
        dx = -xp.linalg.solve(system_x, ex * (gx - dxy @ (ey * gy)))
        dy = -xp.linalg.solve(system_y, ey * (gy - dyx @ (ex * gx)))
        return x + dx, y + dy, CGDInfo("dense", 0, 0.0, True, dx)

    def mixed(u):  # u ↦ D_xy f H_y D_yx g u
        return game.dxy_f(x, y, eta_y * game.dyx_g(x, y, u))

    if solver == "cg":
        sqrt_ex = xp.sqrt(eta_x * xp.ones(game.n))
        rhs = sqrt_ex * (gx - game.dxy_f(x, y, eta_y * gy))
        w, krylov = conjugate_gradient(
            lambda v: v - sqrt_ex * mixed(sqrt_ex * v), rhs, warm_start, tol, maxiter
        )
        dx, solution = -sqrt_ex * w, w
    else:
        rhs = -eta_x * (gx - game.dxy_f(x, y, eta_y * gy))
        dx, krylov = gmres(lambda v: v - eta_x * mixed(v), rhs, warm_start, tol, restart, maxiter)
        solution = dx
    dy = -eta_y * (gy + game.dyx_g(x, y, dx))
    info = CGDInfo(solver, krylov.iterations, krylov.residual, krylov.converged, solution)
    return x + dx, y + dy, info


def lcgd_step(game, x, y, eta_x, eta_y):
    r"""Linearized CGD: the first two terms of CGD's Neumann series.

    .. math::

        \Delta x = -\eta_x\,(\nabla_x f - \eta_y D_{xy} f\, \nabla_y g), \qquad
        \Delta y = -\eta_y\,(\nabla_y g - \eta_x D_{yx} g\, \nabla_x f).

    On bilinear games it coincides with extragradient.
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    dx = -eta_x * (gx - game.dxy_f(x, y, eta_y * gy))
    dy = -eta_y * (gy - game.dyx_g(x, y, eta_x * gx))
    return x + dx, y + dy


def neumann_step(game, x, y, eta_x, eta_y, order):
    r"""CGD with its matrix inverse truncated after ``order + 1`` Neumann terms.

    With H = diag(H_x, H_y), N = [[0, D_xy f], [D_yx g, 0]] and ξ = (∇ₓf, ∇_y g),
    CGD is Δz = −(I + H N)⁻¹ H ξ, and

    .. math::

        \Delta z_K = -\sum_{k=0}^{K} (-H N)^k H \xi .

    ``order=0`` is GDA and ``order=1`` is LCGD. The series converges to CGD when
    the spectral radius of H N is below 1 (for xᵀAy with one η: η σ_max(A) < 1).
    Each term is one more level of "I think that you think…".
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    order = check_integer("order", order, minimum=0)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    term_x, term_y = eta_x * gx, eta_y * gy
    total_x, total_y = term_x, term_y
    for _ in range(order):
        term_x, term_y = (
            -eta_x * game.dxy_f(x, y, term_y),
            -eta_y * game.dyx_g(x, y, term_x),
        )
        total_x, total_y = total_x + term_x, total_y + term_y
    return x - total_x, y - total_y
