r"""Adaptive competitive gradient descent (ACGD).

CGD with per-coordinate step sizes from RMSProp-style running averages of the
squared gradients, with bias correction, as in the ``CGDs`` package that
accompanies [1]_. For each player, with its gradient g at step t = 1, 2, …:

.. math::

    v_t = \beta v_{t-1} + (1 - \beta)\, g \odot g, \qquad
    \eta_t = \frac{\sqrt{1 - \beta^t}\; \eta}{\sqrt{v_t} + \epsilon},

which gives diagonal step matrices H_x = diag(η_x,t), H_y = diag(η_y,t); the step
is then the CGD step of :func:`refimpl.cgd.cgd_step` with these step vectors. The rule
is :func:`refimpl.cgd.core.adaptive_step_sizes`, the one the GAN's alternating ACGD
uses too; the functions here check their arguments once, call it and the unchecked
CGD step, and check the result once. Derivation: ``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020, arXiv:1910.05852.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.cgd import core
from refimpl.cgd.arguments import CheckedGame, check_game, check_point, check_vector, finished_step
from refimpl.cgd.competitive import check_solver_options, unchecked_step
from refimpl.validation import (
    DivergenceError,
    all_finite,
    as_float_array,
    check_divergence,
    check_in_interval,
    check_integer,
    check_positive,
)

__all__ = ["ACGDState", "adaptive_step_sizes", "acgd_step"]


@dataclass(frozen=True)
class ACGDState:
    r"""Running state of ACGD.

    Attributes
    ----------
    t : int
        Steps taken so far.
    v_x, v_y : ndarray, shapes (n,) and (m,)
        Running averages of the squared gradients.
    initial_guess : ndarray or None
        The previous inner solution, the next step's initial guess.

    Notes
    -----
    After step t the averages are

    .. math::

        v_t = \beta v_{t-1} + (1-\beta)\, g_t \odot g_t, \qquad v_0 = 0.

    References
    ----------
    .. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> ACGDState.zeros(np.ones(2), np.ones(1)).t
    0
    """

    t: int
    v_x: object
    v_y: object
    initial_guess: object = None

    @classmethod
    def zeros(cls, x, y):
        """The state before the first step, for points shaped like ``x`` and ``y``."""
        x = as_float_array("x", x, ndim=1)
        y = as_float_array("y", y, ndim=1, like=x)
        for name, vector in (("x", x), ("y", y)):
            if vector.size == 0:
                raise ValueError(f"{name}: expected a non-empty vector, received shape (0,)")
        xp = backend.array_namespace(x, y)
        return cls(0, xp.zeros_like(x), xp.zeros_like(y))


def adaptive_step_sizes(v, gradient, t, eta, beta=0.99, eps=1e-5):
    r"""Update the running average and return the per-coordinate step sizes.

    Parameters
    ----------
    v : ndarray, shape (k,)
        Running average of the squared gradients (>= 0) before this step.
    gradient : ndarray, shape (k,)
        The player's gradient at this step.
    t : int
        The step number, counted from 1.
    eta : float
        Base step size, > 0 (``eta`` of :func:`refimpl.cgd.run`).
    beta : float
        Averaging factor in [0, 1).
    eps : float
        Offset of the denominator, > 0.

    Returns
    -------
    v_new : ndarray, shape (k,)
        The updated running average.
    step_sizes : ndarray, shape (k,)
        The per-coordinate step sizes.

    Raises
    ------
    refimpl.validation.DivergenceError
        If the squared gradients or the step sizes overflow, with ``step`` t.

    Notes
    -----
    .. math::

        v \leftarrow \beta v + (1-\beta) g^2, \qquad
        \eta_t = \sqrt{1 - \beta^t}\,\eta / (\sqrt{v} + \epsilon),

    the bias-corrected RMSProp scaling used by ACGD [1]_.

    References
    ----------
    .. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    The first step has size about η / :math:`|g|`:

    >>> import numpy as np
    >>> v, step_sizes = adaptive_step_sizes(np.zeros(1), np.array([2.0]), t=1, eta=0.1)
    >>> float(np.round(step_sizes[0], 6))
    0.049998
    """
    gradient = as_float_array("gradient", gradient, ndim=1)
    v = as_float_array("v", v, ndim=1, like=gradient)
    if gradient.shape[0] == 0 or v.shape != gradient.shape:
        raise ValueError(
            f"v, gradient: expected non-empty vectors of one shape, received {v.shape} and "
            f"{gradient.shape}"
        )
    xp = backend.array_namespace(v, gradient)
    if not bool(xp.all(v >= 0)):
        raise ValueError(f"v: expected a running average of squares (>= 0), min {float(v.min())}")
    t = check_integer("t", t, minimum=1)
    eta = check_positive("eta", eta)
    beta = check_in_interval("beta", beta, 0.0, 1.0, closed="left")
    eps = check_positive("eps", eps)
    with np.errstate(over="ignore"):
        v_new, step_sizes = core.adaptive_step_sizes(v, gradient, t, eta, beta, eps)
    check_divergence(v_new, t, what="the running average of squared gradients")
    _check_step_sizes(t, step_sizes)
    return v_new, step_sizes


def _check_step_sizes(t, *step_sizes):
    """DivergenceError at step t unless every step size is finite and > 0 (H ≻ 0)."""
    xp = backend.array_namespace(*step_sizes)
    if not all_finite(*step_sizes) or not all(bool(xp.all(h > 0)) for h in step_sizes):
        raise DivergenceError(
            f"the adaptive step sizes left (0, inf) at step {t} (gradients too large for eta, "
            "or eta / eps beyond the float range); raise eps or lower eta",
            step=t,
        )


def _check_state(state, game, like):
    if not isinstance(state, ACGDState):
        raise ValueError(f"state: expected an ACGDState or None, received {state!r}")
    t = check_integer("state", state.t, minimum=0)
    v_x = check_vector("state", state.v_x, game.n, like=like)
    v_y = check_vector("state", state.v_y, game.m, like=like)
    guess = state.initial_guess
    guess = None if guess is None else check_vector("state", guess, game.n, like=like)
    return ACGDState(t, v_x, v_y, guess)


def acgd_step(
    game,
    x,
    y,
    eta_x,
    eta_y,
    state=None,
    beta=0.99,
    eps=1e-5,
    solver="auto",
    tol=1e-12,
    maxiter=None,
    warm_start=True,
    restart=None,
):
    r"""One step of adaptive CGD.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float
        Base step sizes, > 0 (η in the formula below).
    state : ACGDState, optional
        State from the previous step; a fresh one when None.
    beta : float
        Averaging factor in [0, 1) (default 0.99).
    eps : float
        The denominator's offset, > 0 (default 1e−5).
    solver, tol, maxiter, restart
        As in :func:`refimpl.cgd.cgd_step`.
    warm_start : bool
        Start the inner solve from the previous step's solution.

    Returns
    -------
    x_new, y_new : ndarray
        The next point.
    state : ACGDState
        The state after this step.
    info : CGDInfo
        The inner solve.

    Raises
    ------
    refimpl.validation.DivergenceError
        If the step overflows, with ``step`` t.

    Notes
    -----
    With t the step number and g the player's gradient,

    .. math::

        v \leftarrow \beta v + (1-\beta) g^2, \qquad
        H = \operatorname{diag}\Bigl(\frac{\sqrt{1-\beta^t}\,\eta}
            {\sqrt{v} + \epsilon}\Bigr),

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y D_{yx} f\, H_x^{1/2}\bigr) w
            = H_x^{1/2} (\nabla_x f + D_{xy} f\, H_y \nabla_y f), \qquad
        \Delta x = -H_x^{1/2} w,

    and Δy = H_y(∇_y f + D_yx f Δx) (zero-sum form [1]_; the general-sum form is
    that of :func:`refimpl.cgd.cgd_step`).

    References
    ----------
    .. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x1, y1, state, info = acgd_step(BilinearGame(1.0), np.ones(1), np.ones(1), 0.1, 0.1)
    >>> state.t, bool(abs(x1[0]) < 1 and abs(y1[0]) < 1.2)
    (1, True)
    """
    eta_x, eta_y = check_positive("eta_x", eta_x), check_positive("eta_y", eta_y)
    check_game(game)
    x, y = check_point(game, x, y)
    if not isinstance(warm_start, bool):
        raise ValueError(f"warm_start: expected True or False, received {warm_start!r}")
    beta = check_in_interval("beta", beta, 0.0, 1.0, closed="left")
    eps = check_positive("eps", eps)
    solver, tol, maxiter, restart = check_solver_options(game, solver, tol, maxiter, restart)
    if state is None:
        xp = backend.array_namespace(x, y)
        state = ACGDState(0, xp.zeros_like(x), xp.zeros_like(y))
    else:
        state = _check_state(state, game, x)
    t = state.t + 1
    # errors name the ACGD step; inside refimpl.cgd.run, the run's step (the same number)
    game = game if isinstance(game, CheckedGame) else CheckedGame(game, step=t)
    guess = state.initial_guess if warm_start else None
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
        v_x, h_x = core.adaptive_step_sizes(state.v_x, gx, t, eta_x, beta, eps)
        v_y, h_y = core.adaptive_step_sizes(state.v_y, gy, t, eta_y, beta, eps)
        _check_step_sizes(t, h_x, h_y)  # H ≻ 0, or the local game has no equilibrium
        x_new, y_new, info = unchecked_step(
            game, x, y, h_x, h_y, gx, gy, solver, tol, maxiter, guess, restart
        )
    finished_step("acgd_step", x_new, y_new, t, hint="raise eps or lower eta_x, eta_y")
    return x_new, y_new, ACGDState(t, v_x, v_y, info.solution), info
