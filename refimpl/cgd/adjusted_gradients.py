r"""Gradient methods adjusted by second derivatives: SGA and ConOpt (zero-sum games).

Both add products with the game's second derivatives to the gradients. They are
defined here for zero-sum games, where the terms they add are products with
D_xy f and D_yx f = −D_yx g; their general-sum versions need derivatives of each
player's loss with respect to the *other* player's variables twice (D_xy g), which
the game protocol does not provide. Each step raises
:class:`refimpl.validation.DivergenceError` with ``step`` 1 when it overflows.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4.
.. [2] L. Mescheder, S. Nowozin and A. Geiger, "The Numerics of GANs", NeurIPS 2017
   (ConOpt).
.. [3] D. Balduzzi et al., "The Mechanics of n-Player Differentiable Games",
   ICML 2018 (SGA).
"""

from __future__ import annotations

from refimpl.cgd.arguments import check_step_arguments
from refimpl.cgd.gradient_methods import finished_step
from refimpl.validation import check_nonnegative

__all__ = ["sga_step", "conopt_step"]


def _require_zero_sum(game, method: str) -> None:
    """SGA and ConOpt use D_yx f = −D_yx g, true only when g = −f."""
    if not game.zero_sum:
        raise ValueError(
            f"game: {method} is defined here for zero-sum games (g = -f), "
            f"received a general-sum {type(getattr(game, 'game', game)).__name__}"
        )


def sga_step(game, x, y, eta_x, eta_y, gamma=1.0):
    r"""Symplectic gradient adjustment (zero-sum games).

    Parameters
    ----------
    game : Game
        A zero-sum game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.
    gamma : float
        Weight γ >= 0 of the adjustment.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Notes
    -----
    .. math::

        x_{k+1} = x_k - \eta_x\,(\nabla_x f + \gamma\, D_{xy} f\, \nabla_y f), \qquad
        y_{k+1} = y_k - \eta_y\,(\nabla_y g + \gamma\, D_{yx} f\, \nabla_x f),

    which is ξ + γÃᵀξ for the antisymmetric part Ã of the game Jacobian [1]_. With
    ∇_y f = −∇_y g and D_yx f = −D_yx g this uses only the game protocol.

    References
    ----------
    .. [1] D. Balduzzi et al., "The Mechanics of n-Player Differentiable Games",
       ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> sga_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    (array([0.5]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    gamma = check_nonnegative("gamma", gamma)
    _require_zero_sum(game, "sga")
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    x_new = x - eta_x * (gx - gamma * game.dxy_f(x, y, gy))
    return finished_step("sga_step", x_new, y - eta_y * (gy - gamma * game.dyx_g(x, y, gx)))


def conopt_step(game, x, y, eta_x, eta_y, gamma=1.0):
    r"""Consensus optimization (zero-sum games): GDA on ξ + γ∇½‖ξ‖².

    Parameters
    ----------
    game : Game
        A zero-sum game with ``dxx_f`` and ``dyy_g``.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.
    gamma : float
        Weight γ >= 0 of the consensus term.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Notes
    -----
    .. math::

        x_{k+1} = x_k - \eta_x\,(\nabla_x f + \gamma\, D_{xy} f\, \nabla_y f
                  + \gamma\, D_{xx} f\, \nabla_x f),

        y_{k+1} = y_k - \eta_y\,(\nabla_y g + \gamma\, D_{yx} f\, \nabla_x f
                  + \gamma\, D_{yy} g\, \nabla_y g).

    It is SGA plus the terms γ D_xx f ∇ₓf and γ D_yy g ∇_y g, which pull toward
    any stationary point, including ones that a player wants to leave [1]_.

    References
    ----------
    .. [1] L. Mescheder, S. Nowozin and A. Geiger, "The Numerics of GANs", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> conopt_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    (array([0.5]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    gamma = check_nonnegative("gamma", gamma)
    _require_zero_sum(game, "conopt")
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    x_new = x - eta_x * (gx - gamma * game.dxy_f(x, y, gy) + gamma * game.dxx_f(x, y, gx))
    y_new = y - eta_y * (gy - gamma * game.dyx_g(x, y, gx) + gamma * game.dyy_g(x, y, gy))
    return finished_step("conopt_step", x_new, y_new)
