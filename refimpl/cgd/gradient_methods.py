"""Gradient-based relatives of CGD: GDA, alternating GDA, OGDA, extragradient, SGA, ConOpt.

Every step takes a game (see :mod:`refimpl.cgd.games`), the current (x, y) and
separate step sizes η_x and η_y, and returns the next (x, y). Player x minimizes
f, player y minimizes g; for zero-sum games g = −f.

SGA and ConOpt are defined for zero-sum games, where the terms they add are
products with D_xy f and D_yx f = −D_yx g; their general-sum versions need
derivatives of each player's loss with respect to the *other* player's
variables twice (D_xy g), which the game protocol does not provide.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4 (the update rules compared there).
.. [2] L. Mescheder, S. Nowozin and A. Geiger, "The Numerics of GANs", NeurIPS 2017
   (ConOpt).
.. [3] D. Balduzzi et al., "The Mechanics of n-Player Differentiable Games",
   ICML 2018 (SGA).
.. [4] C. Daskalakis et al., "Training GANs with Optimism", ICLR 2018 (OGDA).
.. [5] G. M. Korpelevich, "The extragradient method for finding saddle points and
   other problems", 1976.
"""

from __future__ import annotations

from refimpl.cgd.games import check_step_arguments

__all__ = [
    "gda_step",
    "altgda_step",
    "ogda_step",
    "extragradient_step",
    "sga_step",
    "conopt_step",
]


def _require_zero_sum(game, method: str) -> None:
    """SGA and ConOpt use D_yx f = −D_yx g, true only when g = −f."""
    if not game.zero_sum:
        raise ValueError(
            f"game: {method} is defined here for zero-sum games (g = -f), "
            f"received a general-sum {type(game).__name__}"
        )


def gda_step(game, x, y, eta_x, eta_y):
    r"""Simultaneous gradient descent-ascent.

    .. math::

        x_{k+1} = x_k - \eta_x \nabla_x f(x_k, y_k), \qquad
        y_{k+1} = y_k - \eta_y \nabla_y g(x_k, y_k).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> gda_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    (array([1.]), array([0.5]))
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    return x - eta_x * game.grad_x_f(x, y), y - eta_y * game.grad_y_g(x, y)


def altgda_step(game, x, y, eta_x, eta_y):
    r"""Alternating gradient descent-ascent: y moves after seeing x's move.

    .. math::

        x_{k+1} = x_k - \eta_x \nabla_x f(x_k, y_k), \qquad
        y_{k+1} = y_k - \eta_y \nabla_y g(x_{k+1}, y_k).
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    x_new = x - eta_x * game.grad_x_f(x, y)
    return x_new, y - eta_y * game.grad_y_g(x_new, y)


def ogda_step(game, x, y, eta_x, eta_y, previous_gradients=None):
    r"""Optimistic gradient descent-ascent.

    .. math::

        x_{k+1} = x_k - 2\eta_x \nabla_x f(z_k) + \eta_x \nabla_x f(z_{k-1}),

    and likewise for y with ∇_y g. On the first step there is no z₋₁; it is
    taken as z₀, which makes the first step a GDA step.

    Parameters
    ----------
    previous_gradients : tuple (gx, gy), optional
        ∇ₓf and ∇_y g at z_{k−1}, as returned by the previous call.

    Returns
    -------
    x, y : ndarray
    gradients : tuple (gx, gy)
        The gradients at z_k, to pass as ``previous_gradients`` next time.
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    px, py = (gx, gy) if previous_gradients is None else previous_gradients
    return x - eta_x * (2 * gx - px), y - eta_y * (2 * gy - py), (gx, gy)


def extragradient_step(game, x, y, eta_x, eta_y):
    r"""Extragradient: a look-ahead GDA step, then a step with the look-ahead gradients.

    .. math::

        \tilde x = x_k - \eta_x \nabla_x f(z_k),\quad
        \tilde y = y_k - \eta_y \nabla_y g(z_k),\quad
        x_{k+1} = x_k - \eta_x \nabla_x f(\tilde z),\quad
        y_{k+1} = y_k - \eta_y \nabla_y g(\tilde z).
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    x_look, y_look = gda_step(game, x, y, eta_x, eta_y)
    return x - eta_x * game.grad_x_f(x_look, y_look), y - eta_y * game.grad_y_g(x_look, y_look)


def sga_step(game, x, y, eta_x, eta_y, gamma=1.0):
    r"""Symplectic gradient adjustment (zero-sum games).

    .. math::

        x_{k+1} = x_k - \eta_x\,(\nabla_x f + \gamma\, D_{xy} f\, \nabla_y f), \qquad
        y_{k+1} = y_k - \eta_y\,(\nabla_y g + \gamma\, D_{yx} f\, \nabla_x f),

    which is ξ + γÃᵀξ for the antisymmetric part Ã of the game Jacobian. With
    ∇_y f = −∇_y g and D_yx f = −D_yx g this uses only the game protocol.
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    _require_zero_sum(game, "sga")
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    x_new = x - eta_x * (gx - gamma * game.dxy_f(x, y, gy))
    y_new = y - eta_y * (gy - gamma * game.dyx_g(x, y, gx))
    return x_new, y_new


def conopt_step(game, x, y, eta_x, eta_y, gamma=1.0):
    r"""Consensus optimization (zero-sum games): GDA on ξ + γ∇½‖ξ‖².

    .. math::

        x_{k+1} = x_k - \eta_x\,(\nabla_x f + \gamma\, D_{xy} f\, \nabla_y f
                  + \gamma\, D_{xx} f\, \nabla_x f),

        y_{k+1} = y_k - \eta_y\,(\nabla_y g + \gamma\, D_{yx} f\, \nabla_x f
                  + \gamma\, D_{yy} g\, \nabla_y g).

    It is SGA plus the terms γ D_xx f ∇ₓf and γ D_yy g ∇_y g, which pull toward
    any stationary point, including ones that a player wants to leave.
    """
    check_step_arguments(game, x, y, eta_x, eta_y)
    _require_zero_sum(game, "conopt")
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    x_new = x - eta_x * (gx - gamma * game.dxy_f(x, y, gy) + gamma * game.dxx_f(x, y, gx))
    y_new = y - eta_y * (gy - gamma * game.dyx_g(x, y, gx) + gamma * game.dyy_g(x, y, gy))
    return x_new, y_new
