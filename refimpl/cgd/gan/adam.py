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
from refimpl.cgd.gan.checks import check_finite_step, check_game_point
from refimpl.validation import check_in_interval, check_positive

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
    if state is None:
        state = AdamState(0, 0.0 * x, 0.0 * x, 0.0 * y, 0.0 * y)
    elif not isinstance(state, AdamState):
        raise ValueError(f"state: expected an AdamState or None, received {state!r}")
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
    with np.errstate(over="ignore", invalid="ignore"):
        x_new, y_new = x + steps[0], y + steps[1]
    check_finite_step(t, x_new, y_new)
    return x_new, y_new, AdamState(t, *moments)
