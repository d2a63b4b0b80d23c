r"""Adam applied simultaneously to both players of a game, as GAN practice does.

Each player descends its own loss (x on ∇ₓf, y on ∇_y g) from the same point [1]_.

References
----------
.. [1] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.cgd.arguments import CheckedGame, check_game_point, check_vector, finished_step
from refimpl.validation import check_divergence, check_in_interval, check_integer, check_positive

__all__ = ["AdamState", "adam_step"]


@dataclass(frozen=True)
class AdamState:
    r"""Moments of Adam for both players.

    Attributes
    ----------
    t : int
        Steps taken.
    m_x, v_x, m_y, v_y : ndarray
        First and second moment estimates of each player's gradient.

    Notes
    -----
    .. math:: m = \mathbb E_\beta[g], \qquad v = \mathbb E_\beta[g^2]
              \ \text{(exponential moving averages)}.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam", ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> AdamState(0, np.zeros(2), np.zeros(2), np.zeros(1), np.zeros(1)).t
    0
    """

    t: int
    m_x: object
    v_x: object
    m_y: object
    v_y: object


def adam_step(game, x, y, eta_x, eta_y, state=None, beta1=0.5, beta2=0.999, eps=1e-8):
    r"""One simultaneous Adam step: x on ∇ₓf and y on ∇_y g, from the same point.

    Parameters
    ----------
    game : Game
    x : ndarray, shape (n,)
    y : ndarray, shape (m,)
    eta_x, eta_y : float
        Step sizes η (the learning rates, > 0).
    state : AdamState, optional
        The previous step's state; fresh when None.
    beta1, beta2 : float
        Moment decay rates in [0, 1) (0.5 and 0.999, the usual GAN setting).
    eps : float
        Denominator offset (> 0).

    Returns
    -------
    x_new, y_new : ndarray
    state : AdamState

    Notes
    -----
    For each player with gradient g at step t:

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
        \Delta = -\eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam", ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x, y, state = adam_step(BilinearGame(1.0), np.array([1.0]), np.array([1.0]), 0.1, 0.1)
    >>> x, y       # the first step moves every coordinate by about eta
    (array([0.9]), array([1.1]))
    """
    x, y = check_game_point(game, x, y)
    eta_x, eta_y = check_positive("eta_x", eta_x), check_positive("eta_y", eta_y)
    beta1 = check_in_interval("beta1", beta1, 0.0, 1.0, "left")
    beta2 = check_in_interval("beta2", beta2, 0.0, 1.0, "left")
    eps = check_positive("eps", eps)
    state = _check_state(state, game, x, y)
    game = game if isinstance(game, CheckedGame) else CheckedGame(game, step=state.t + 1)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        x_new, y_new, state = adam_step_unchecked(
            game, x, y, eta_x, eta_y, state, beta1, beta2, eps
        )
    finished_step("adam_step", x_new, y_new, state.t, hint="lower the learning rate")
    for moment in (state.m_x, state.v_x, state.m_y, state.v_y):  # v overflows before x does
        check_divergence(moment, state.t, what="Adam's moments", hint="lower the learning rate")
    return x_new, y_new, state


def _check_state(state, game, x, y):
    """``state`` checked against the game (a fresh one for None); ValueError naming state."""
    if state is None:
        return AdamState(0, 0.0 * x, 0.0 * x, 0.0 * y, 0.0 * y)
    if not isinstance(state, AdamState):
        raise ValueError(f"state: expected an AdamState or None, received {state!r}")
    t = check_integer("state", state.t, minimum=0)
    m_x, v_x = (check_vector("state", a, game.n, like=x) for a in (state.m_x, state.v_x))
    m_y, v_y = (check_vector("state", a, game.m, like=x) for a in (state.m_y, state.v_y))
    if not all(bool((v >= 0).all()) for v in (v_x, v_y)):
        raise ValueError("state: expected second moments v_x, v_y >= 0 (averages of squares)")
    return AdamState(t, m_x, v_x, m_y, v_y)


def adam_step_unchecked(game, x, y, eta_x, eta_y, state, beta1, beta2, eps):
    """One Adam step without checks (the loop of :func:`~refimpl.cgd.gan.train_gan`).

    The arguments are those of :func:`adam_step`, already checked, ``state`` an
    :class:`AdamState`; returns ``(x_new, y_new, state)`` unchecked.
    """
    xp = backend.array_namespace(x, y)
    t = state.t + 1
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    moments = []
    steps = []
    for g, m, v, eta in ((gx, state.m_x, state.v_x, eta_x), (gy, state.m_y, state.v_y, eta_y)):
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g * g
        steps.append(-eta * (m / (1.0 - beta1**t)) / (xp.sqrt(v / (1.0 - beta2**t)) + eps))
        moments += [m, v]
    return x + steps[0], y + steps[1], AdamState(t, *moments)
