r"""Competitive gradient descent (CGD): one step, by a dense or a matrix-free solve.

At each step both players play the Nash equilibrium of the local bilinear
approximation of the game, regularized by their step sizes:

.. math::

    \min_{\Delta x}\ \Delta x^\top \nabla_x f + \Delta x^\top D_{xy} f\, \Delta y
        + \tfrac{1}{2}\Delta x^\top H_x^{-1} \Delta x, \qquad
    \min_{\Delta y}\ \Delta y^\top \nabla_y g + \Delta y^\top D_{yx} g\, \Delta x
        + \tfrac{1}{2}\Delta y^\top H_y^{-1} \Delta y,

with diagonal step matrices H_x = diag(η_x), H_y = diag(η_y) (scalars for plain
CGD, per-coordinate for ACGD). The derivation of the update from this local game,
and of the substitution Δy = −H_y(∇_y g + D_yx g Δx), is in
``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103.
"""

from __future__ import annotations

from dataclasses import dataclass

from refimpl import backend
from refimpl.cgd.arguments import (
    check_finite_result,
    check_step_arguments,
    check_vector,
)
from refimpl.cgd.dense_solvers import dense_general_sum_step, dense_zero_sum_step
from refimpl.cgd.linear_solvers import conjugate_gradient, gmres
from refimpl.validation import check_choice, check_integer, check_positive

__all__ = ["CGDInfo", "cgd_step", "SOLVERS"]

SOLVERS = ("auto", "dense", "cg", "gmres")


@dataclass(frozen=True)
class CGDInfo:
    r"""Inner-solver outcome of one CGD step.

    Attributes
    ----------
    solver : str
        ``"dense"``, ``"cg"`` or ``"gmres"``.
    iterations : int
        Krylov iterations (0 for the dense solve).
    residual : float
        Relative residual of the inner solve (0 for the dense solve).
    converged : bool
        Whether the inner solve met its tolerance.
    solution : ndarray
        The inner system's solution, to pass as ``initial_guess`` to the next step
        of the *same* solver: w = H_x^{−1/2}(−Δx) for CG, Δx for GMRES and the
        dense solve.

    Notes
    -----
    The CG system is the symmetric positive definite one of :func:`cgd_step`,

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w
            = H_x^{1/2}\bigl(\nabla_x f + D_{xy} f\, H_y \nabla_y f\bigr).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> *_, info = cgd_step(BilinearGame(1.0), np.ones(1), np.zeros(1), 1.0, 1.0, "cg")
    >>> info.solver, info.converged
    ('cg', True)
    """

    solver: str
    iterations: int
    residual: float
    converged: bool
    solution: object


def _check_gradients(gradients, game, like):
    if not isinstance(gradients, tuple | list) or len(gradients) != 2:
        raise ValueError(f"gradients: expected a pair (grad_x_f, grad_y_g), received {gradients!r}")
    gx = check_vector("gradients", gradients[0], game.n, like=like)
    return gx, check_vector("gradients", gradients[1], game.m, like=like)


def cgd_step(
    game,
    x,
    y,
    eta_x,
    eta_y,
    solver="auto",
    tol=1e-12,
    maxiter=None,
    initial_guess=None,
    gradients=None,
    restart=None,
):
    r"""One step of competitive gradient descent.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0: scalars, or per-coordinate (the diagonals of H_x and H_y).
    solver : {"auto", "dense", "cg", "gmres"}
        ``"dense"`` forms D_xy f (and D_yx g for general-sum games) and solves
        directly: one Cholesky factorization for zero-sum games, two LU solves
        otherwise. ``"cg"`` (zero-sum games only) solves the symmetric positive
        definite system of x below by conjugate gradients; ``"gmres"`` solves x's
        system as written. ``"auto"`` is CG for zero-sum games and GMRES otherwise.
    tol : float
        Relative residual tolerance of CG and GMRES, > 0.
    maxiter : int, optional
        Iteration cap of CG and GMRES.
    initial_guess : ndarray, shape (n,), optional
        Initial guess for the inner solve (``info.solution`` of the previous
        step); the solvers start from the residual b − A x₀.
    gradients : tuple (ndarray (n,), ndarray (m,)), optional
        ∇ₓf and ∇_y g at (x, y) when already computed (ACGD reuses them).
    restart : int, optional
        GMRES restart length.

    Returns
    -------
    x_new : ndarray, shape (n,)
        x + Δx.
    y_new : ndarray, shape (m,)
        y + Δy.
    info : CGDInfo
        The inner solve's solver, iterations, residual and solution.

    Raises
    ------
    refimpl.validation.DivergenceError
        If the step overflows (huge step sizes or points), with ``step`` 1.

    Notes
    -----
    The update (Eq. 4 of [1]_, with diagonal step matrices H_x, H_y):

    .. math::

        \Delta x = -(I - H_x D_{xy} f\, H_y D_{yx} g)^{-1} H_x
                   (\nabla_x f - D_{xy} f\, H_y \nabla_y g),

        \Delta y = -(I - H_y D_{yx} g\, H_x D_{xy} f)^{-1} H_y
                   (\nabla_y g - D_{yx} g\, H_x \nabla_x f).

    The matrix-free solvers compute Δx and then Δy = −H_y(∇_y g + D_yx g Δx), the
    second player's first-order condition. In a zero-sum game D_yx g = −(D_xy f)ᵀ,
    and with w = H_x^{−1/2}(−Δx) the system of x becomes symmetric positive definite:

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w
            = H_x^{1/2}\bigl(\nabla_x f + D_{xy} f\, H_y \nabla_y f\bigr).

    Its matrix is I plus a positive semi-definite matrix, so its inverse has norm
    at most 1 and the CG error in w is at most ``tol`` times the norm of the
    right-hand side. Derivations: ``docs/derivations/cgd.md``.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    On f = αxy, CGD multiplies z = (x, y) by (I + ηαJ)⁻¹, J = [[0, 1], [−1, 0]]:

    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x1, y1, info = cgd_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 1.0, 1.0)
    >>> x1, y1
    (array([0.5]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    solver = check_choice("solver", solver, SOLVERS)
    tol = check_positive("tol", tol)
    maxiter = None if maxiter is None else check_integer("maxiter", maxiter, minimum=1)
    restart = None if restart is None else check_integer("restart", restart, minimum=1)
    if initial_guess is not None:
        initial_guess = check_vector("initial_guess", initial_guess, game.n, like=x)
    if solver == "auto":
        solver = "cg" if game.zero_sum else "gmres"
    if solver == "cg" and not game.zero_sum:
        raise ValueError(
            "solver: 'cg' needs a zero-sum game (its system is then symmetric positive "
            f"definite), received a general-sum {type(game.game).__name__}; use 'gmres' or 'dense'"
        )
    xp = backend.array_namespace(x, y)
    if gradients is None:
        gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    else:
        gx, gy = _check_gradients(gradients, game, x)

    def finite(*arrays):
        check_finite_result("cgd_step", *arrays, hint="reduce eta_x, eta_y")
        return arrays[0]

    if solver == "dense":
        h_x, h_y = eta_x * xp.ones(game.n), eta_y * xp.ones(game.m)
        dxy = game.dxy_f_matrix(x, y)
        if game.zero_sum:
            dx, dy = dense_zero_sum_step(dxy, gx, gy, h_x, h_y)
        else:
            dx, dy = dense_general_sum_step(dxy, game.dyx_g_matrix(x, y), gx, gy, h_x, h_y)
        x_new, y_new = x + dx, y + dy
        finite(x_new, y_new)
        return x_new, y_new, CGDInfo("dense", 0, 0.0, True, dx)

    def mixed(u):  # u ↦ D_xy f H_y D_yx g u
        return game.dxy_f(x, y, finite(eta_y * game.dyx_g(x, y, u)))

    rhs_y_term = game.dxy_f(x, y, finite(eta_y * gy))
    if solver == "cg":
        sqrt_ex = xp.sqrt(eta_x * xp.ones(game.n))
        rhs = finite(sqrt_ex * (gx - rhs_y_term))

        def apply(v):
            return v - sqrt_ex * mixed(finite(sqrt_ex * v))

        w, krylov = conjugate_gradient(apply, rhs, initial_guess, tol, maxiter)
        dx, solution = finite(-sqrt_ex * w), w
    else:
        rhs = finite(-eta_x * (gx - rhs_y_term))
        dx, krylov = gmres(
            lambda v: v - eta_x * mixed(v), rhs, initial_guess, tol, restart, maxiter
        )
        solution = dx
    dy = -eta_y * (gy + game.dyx_g(x, y, dx))
    x_new, y_new = x + dx, y + dy
    finite(x_new, y_new)
    info = CGDInfo(solver, krylov.iterations, krylov.residual, krylov.converged, solution)
    return x_new, y_new, info
