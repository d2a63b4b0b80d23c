r"""ACGD as the authors' code runs it, solving each player's system in turn.

:func:`acgd_alternating_step` follows the ACGD optimizer of [2]_: RMSProp step
  sizes with bias correction (β = 0.99, ε = 1e−5), CG warm-started from the
  previous solution with the true residual r = b − A w₀, and **the player whose
  system is solved alternating every step**, the other following by substitution.
  (:func:`refimpl.cgd.acgd_step` with a matrix-free solver, the default included,
  always solves the system of x; with ``solver="dense"`` it factors the system of the
  player with fewer variables.)

In a zero-sum game with step matrices H_x, H_y and w = H^{−1/2}(−Δ), the two systems
are symmetric positive definite:

.. math::

    \bigl(I + H_x^{1/2} D_{xy} f\, H_y D_{yx} f\, H_x^{1/2}\bigr) w_x
        = H_x^{1/2}(\nabla_x f - D_{xy} f\, H_y \nabla_y g),

    \bigl(I + H_y^{1/2} D_{yx} f\, H_x D_{xy} f\, H_y^{1/2}\bigr) w_y
        = H_y^{1/2}(\nabla_y g - D_{yx} g\, H_x \nabla_x f),

with D_yx f = −D_yx g. Solving one gives its player's step Δ = −H^{1/2} w; the other
player's step is Δx = −H_x(∇ₓf + D_xy f Δy) or Δy = −H_y(∇_y g + D_yx g Δx). Both sides
are :func:`refimpl.cgd.core.zero_sum_moves`, the one zero-sum solve that
:func:`refimpl.cgd.cgd_step` uses too (with the roles of x and y swapped for y's side),
and the step sizes are :func:`refimpl.cgd.core.adaptive_step_sizes`, ACGD's one rule.

References
----------
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020, arXiv:1910.05852 (code: the ACGD optimizer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.cgd import core
from refimpl.cgd.arguments import CheckedGame, check_game_point, check_vector, finished_step
from refimpl.cgd.competitive import conjugate_gradient_unchecked
from refimpl.validation import (
    all_finite,
    check_divergence,
    check_in_interval,
    check_integer,
    check_positive,
)

__all__ = ["AlternatingACGDState", "AlternatingInfo", "acgd_alternating_step"]


@dataclass(frozen=True)
class AlternatingACGDState:
    r"""State of :func:`acgd_alternating_step`.

    Attributes
    ----------
    t : int
        Steps taken.
    v_x, v_y : ndarray
        Running averages of the squared gradients.
    w_x, w_y : ndarray or None
        The last scaled steps w = H^{−1/2}(−Δ) of each player: the warm starts.
    solve_x : bool
        Whether the next step solves the system of x (True at the start).

    Notes
    -----
    The warm starts live in the scaled variables of the two systems,

    .. math:: w_x = H_x^{-1/2}(-\Delta x), \qquad w_y = H_y^{-1/2}(-\Delta y).

    References
    ----------
    .. [2] F. Schäfer, H. Zheng and A. Anandkumar, ICML 2020 (code: ACGD).

    Examples
    --------
    >>> import numpy as np
    >>> AlternatingACGDState(0, np.zeros(2), np.zeros(1)).solve_x
    True
    """

    t: int
    v_x: object
    v_y: object
    w_x: object = None
    w_y: object = None
    solve_x: bool = True


@dataclass(frozen=True)
class AlternatingInfo:
    r"""Inner solve of one :func:`acgd_alternating_step` (a result container).

    Attributes
    ----------
    solved : str
        ``"x"`` or ``"y"``: whose system CG solved.
    iterations : int
    residual : float
        ‖r‖/‖b‖ at exit.
    converged : bool

    Notes
    -----
    Converged means the true residual met the authors' test

    .. math:: \lVert b - A w \rVert^2 \le \mathrm{tol}\, \lVert b \rVert^2.

    References
    ----------
    .. [2] F. Schäfer, H. Zheng and A. Anandkumar, ICML 2020 (code: ACGD).

    Examples
    --------
    >>> AlternatingInfo("x", 3, 1e-7, True).solved
    'x'
    """

    solved: str
    iterations: int
    residual: float
    converged: bool


def acgd_alternating_step(
    game, x, y, eta_x, eta_y, state=None, beta=0.99, eps=1e-5, tol=1e-12, maxiter=None
):
    r"""One step of ACGD as the authors' code runs it, solving each player's system in turn.

    Parameters
    ----------
    game : Game
        A zero-sum game.
    x : ndarray, shape (n,)
    y : ndarray, shape (m,)
    eta_x, eta_y : float
        Base step sizes η (> 0), as ``eta_x``, ``eta_y`` of :func:`refimpl.cgd.acgd_step`.
    state : AlternatingACGDState, optional
        The previous step's state; fresh when None (then x's system is solved first).
    beta : float
        Averaging factor of the squared gradients, in [0, 1).
    eps : float
        Offset of the step-size denominator (> 0).
    tol : float
        CG stops when ‖r‖² ≤ tol·‖b‖² (the authors' test; 1e−12 there).
    maxiter : int, optional
        CG iteration cap; default the dimension of the solved system (as in the
        authors' code).

    Returns
    -------
    x_new, y_new : ndarray
    state : AlternatingACGDState
    info : AlternatingInfo

    Notes
    -----
    Step sizes (bias-corrected RMSProp), for each player with gradient g:

    .. math::

        v \leftarrow \beta v + (1-\beta) g^2, \qquad
        H = \operatorname{diag}\bigl(\sqrt{1-\beta^t}\,\eta / (\sqrt v + \epsilon)\bigr),

    then one of the two systems in the module notes, by CG started from the
    previous w with r₀ = b − A w₀. The substituted player's w = H^{−1/2}(−Δ) is kept
    as the warm start of its next solve.

    References
    ----------
    .. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x, y, state, info = acgd_alternating_step(
    ...     BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.1, 0.1)
    >>> info.solved, state.solve_x
    ('x', False)
    """
    x, y = check_game_point(game, x, y)
    if not game.zero_sum:
        raise ValueError(
            "game: the alternating ACGD step needs a zero-sum game (its systems are then "
            f"symmetric positive definite), received {type(game).__name__}"
        )
    eta_x, eta_y = check_positive("eta_x", eta_x), check_positive("eta_y", eta_y)
    beta = check_in_interval("beta", beta, 0.0, 1.0, "left")
    eps = check_positive("eps", eps)
    tol = check_positive("tol", tol)
    if maxiter is not None:
        maxiter = check_integer("maxiter", maxiter, minimum=1)
    state = _check_state(state, game, x, y)
    # errors name the step t; inside train_gan, the run's step (the same number)
    game = game if isinstance(game, CheckedGame) else CheckedGame(game, step=state.t + 1)
    x_new, y_new, state, info = acgd_alternating_step_unchecked(
        game, x, y, eta_x, eta_y, state, beta, eps, tol, maxiter
    )
    finished_step("acgd_alternating_step", x_new, y_new, state.t, hint="lower the learning rate")
    return x_new, y_new, state, info


def _check_state(state, game, x, y):
    """``state`` checked against the game (a fresh one for None); ValueError naming state."""
    if state is None:
        return AlternatingACGDState(0, 0.0 * x, 0.0 * y)
    if not isinstance(state, AlternatingACGDState):
        raise ValueError(f"state: expected an AlternatingACGDState or None, received {state!r}")
    t = check_integer("state", state.t, minimum=0)
    v_x = check_vector("state", state.v_x, game.n, like=x)
    v_y = check_vector("state", state.v_y, game.m, like=x)
    if not (bool((v_x >= 0).all()) and bool((v_y >= 0).all())):
        raise ValueError("state: expected v_x, v_y >= 0 (running averages of squares)")
    w_x = None if state.w_x is None else check_vector("state", state.w_x, game.n, like=x)
    w_y = None if state.w_y is None else check_vector("state", state.w_y, game.m, like=x)
    if not isinstance(state.solve_x, bool | np.bool_):
        raise ValueError(f"state: expected solve_x True or False, received {state.solve_x!r}")
    return AlternatingACGDState(t, v_x, v_y, w_x, w_y, bool(state.solve_x))


def acgd_alternating_step_unchecked(game, x, y, eta_x, eta_y, state, beta, eps, tol, maxiter):
    """One alternating ACGD step without argument checks (the loop of ``train_gan``).

    The arguments are those of :func:`acgd_alternating_step`, already checked (``state``
    an :class:`AlternatingACGDState`, ``game`` a :class:`~refimpl.cgd.arguments.CheckedGame`);
    returns ``(x_new, y_new, state, info)`` without checking the new point. Step sizes
    that leave (0, inf) raise ValueError naming ``eta_x, eta_y, eps``.
    """
    xp = backend.array_namespace(x, y)
    t = state.t + 1
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    # a game's non-finite gradient is its own failure, not the step sizes'
    check_divergence(gx, t, what="the gradient ∇ₓf", hint="lower the learning rate")
    check_divergence(gy, t, what="the gradient ∇_y g", hint="lower the learning rate")
    with np.errstate(over="ignore", invalid="ignore"):
        v_x, h_x = core.adaptive_step_sizes(state.v_x, gx, t, eta_x, beta, eps)
        v_y, h_y = core.adaptive_step_sizes(state.v_y, gy, t, eta_y, beta, eps)
    if not all_finite(h_x, h_y) or not (bool(xp.all(h_x > 0)) and bool(xp.all(h_y > 0))):
        raise ValueError(
            f"eta_x, eta_y, eps: the step sizes √(1−β^t)·η/(√v + eps) leave (0, inf) at step "
            f"{t}; received eta_x={eta_x!r}, eta_y={eta_y!r}, eps={eps!r}"
        )
    sx, sy = xp.sqrt(h_x), xp.sqrt(h_y)
    solves = []

    def dxy_f(v):
        return game.dxy_f(x, y, v)

    def dyx_g(u):  # D_yx g = −D_yx f
        return game.dyx_g(x, y, u)

    def solver(warm_start, size):  # the authors' CG: ‖r‖² ≤ tol‖b‖², at most `size` steps
        def solve(apply, rhs):
            w, krylov = conjugate_gradient_unchecked(
                apply, rhs, warm_start, tol**0.5, maxiter or size
            )
            solves.append(krylov)
            return w

        return solve

    with np.errstate(over="ignore", invalid="ignore"):
        if state.solve_x:
            dx, dy, w = core.zero_sum_moves(
                dxy_f, dyx_g, gx, gy, h_x, h_y, solver(state.w_x, game.n)
            )
            w_x, w_y = w, -dy / sy
        else:
            dy, dx, w = core.zero_sum_moves(
                dyx_g, dxy_f, gy, gx, h_y, h_x, solver(state.w_y, game.m)
            )
            w_x, w_y = -dx / sx, w
        x_new, y_new = x + dx, y + dy
    krylov = solves[0]
    info = AlternatingInfo(
        "x" if state.solve_x else "y", krylov.iterations, krylov.residual, krylov.converged
    )
    return x_new, y_new, AlternatingACGDState(t, v_x, v_y, w_x, w_y, not state.solve_x), info
