r"""The explicit relatives of CGD: every method of the comparison that needs no linear solve.

Every step takes a game (see :class:`refimpl.cgd.Game`), the current (x, y) and
separate step sizes η_x and η_y (finite, > 0; scalars or per-coordinate arrays),
and returns the next (x, y); it raises :class:`refimpl.validation.DivergenceError`
with ``step`` 1 (the run's step inside :func:`~refimpl.cgd.run`) when the step
overflows. Player x minimizes f, player y minimizes
g; for zero-sum games g = −f.

Gradients only
    :func:`gda_step`, :func:`altgda_step`, :func:`ogda_step`, :func:`extragradient_step`.
Gradients adjusted by second derivatives (zero-sum games)
    :func:`sga_step` and :func:`conopt_step`. Their general-sum versions need
    derivatives of each player's loss with respect to the *other* player's variables
    twice (D_xy g), which the game protocol does not provide.
CGD's Neumann series
    With H = diag(H_x, H_y), N = [[0, D_xy f], [D_yx g, 0]] and ξ = (∇ₓf, ∇_y g), CGD
    is Δz = −(I + HN)⁻¹Hξ. Expanding the inverse gives the "I think that you think
    that I think…" hierarchy (:func:`neumann_step`): one term is GDA, two terms are
    LCGD (:func:`lcgd_step`).

Each step validates its arguments once (:func:`~refimpl.cgd.check_step_arguments`),
computes the update (GDA is :func:`refimpl.cgd.core.gda_step`), calling the game
through its checked view, and checks its result once
(:func:`~refimpl.cgd.arguments.finished_step`).

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Sections 3 and 4 (the update rules compared there).
.. [2] C. Daskalakis et al., "Training GANs with Optimism", ICLR 2018 (OGDA).
.. [3] G. M. Korpelevich, "The extragradient method for finding saddle points and
   other problems", 1976.
.. [4] L. Mescheder, S. Nowozin and A. Geiger, "The Numerics of GANs", NeurIPS 2017
   (ConOpt).
.. [5] D. Balduzzi et al., "The Mechanics of n-Player Differentiable Games",
   ICML 2018 (SGA).
"""

from __future__ import annotations

from refimpl.cgd import core
from refimpl.cgd.arguments import check_step_arguments, check_vector, finished_step
from refimpl.validation import check_integer, check_nonnegative

__all__ = [
    "gda_step",
    "altgda_step",
    "ogda_step",
    "extragradient_step",
    "sga_step",
    "conopt_step",
    "lcgd_step",
    "neumann_step",
]


def gda_step(game, x, y, eta_x, eta_y):
    r"""Simultaneous gradient descent-ascent.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Notes
    -----
    .. math::

        x_{k+1} = x_k - \eta_x \nabla_x f(x_k, y_k), \qquad
        y_{k+1} = y_k - \eta_y \nabla_y g(x_k, y_k).

    On f = αxy each step multiplies ‖z‖ by √(1 + η²α²) [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> gda_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    (array([1.]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    x_new, y_new = core.gda_step(game, x, y, eta_x, eta_y)
    return finished_step("gda_step", x_new, y_new, game.step)


def altgda_step(game, x, y, eta_x, eta_y):
    r"""Alternating gradient descent-ascent: y moves after seeing x's move.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Notes
    -----
    .. math::

        x_{k+1} = x_k - \eta_x \nabla_x f(x_k, y_k), \qquad
        y_{k+1} = y_k - \eta_y \nabla_y g(x_{k+1}, y_k).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> altgda_step(BilinearGame(1.0), np.array([1.0]), np.array([1.0]), 0.5, 0.5)
    (array([0.5]), array([1.25]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    x_new = x - eta_x * game.grad_x_f(x, y)
    return finished_step("altgda_step", x_new, y - eta_y * game.grad_y_g(x_new, y), game.step)


def ogda_step(game, x, y, eta_x, eta_y, previous_gradients=None):
    r"""Optimistic gradient descent-ascent.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.
    previous_gradients : tuple (gx, gy), optional
        ∇ₓf and ∇_y g at z_{k−1}, as returned by the previous call.

    Returns
    -------
    x_new, y_new : ndarray
        The next point.
    gradients : tuple (gx, gy)
        The gradients at z_k, to pass as ``previous_gradients`` next time.

    Notes
    -----
    .. math::

        x_{k+1} = x_k - 2\eta_x \nabla_x f(z_k) + \eta_x \nabla_x f(z_{k-1}),

    and likewise for y with ∇_y g [1]_. On the first step there is no z₋₁; it is
    taken as z₀, which makes the first step a GDA step.

    References
    ----------
    .. [1] C. Daskalakis et al., "Training GANs with Optimism", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x, y, grads = ogda_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    >>> x, y
    (array([1.]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    if previous_gradients is None:
        px, py = gx, gy
    elif isinstance(previous_gradients, tuple | list) and len(previous_gradients) == 2:
        px = check_vector("previous_gradients", previous_gradients[0], game.n, like=x)
        py = check_vector("previous_gradients", previous_gradients[1], game.m, like=x)
    else:
        raise ValueError(
            f"previous_gradients: expected a pair (gx, gy) or None, received {previous_gradients!r}"
        )
    x_new, y_new = x - eta_x * (2 * gx - px), y - eta_y * (2 * gy - py)
    x_new, y_new = finished_step("ogda_step", x_new, y_new, game.step)
    return x_new, y_new, (gx, gy)


def extragradient_step(game, x, y, eta_x, eta_y):
    r"""Extragradient: a look-ahead GDA step, then a step with the look-ahead gradients.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Notes
    -----
    .. math::

        \tilde x = x_k - \eta_x \nabla_x f(z_k),\quad
        \tilde y = y_k - \eta_y \nabla_y g(z_k),\quad
        x_{k+1} = x_k - \eta_x \nabla_x f(\tilde z),\quad
        y_{k+1} = y_k - \eta_y \nabla_y g(\tilde z).

    References
    ----------
    .. [1] G. M. Korpelevich, "The extragradient method for finding saddle points and
       other problems", 1976.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> extragradient_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    (array([0.75]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    x_look, y_look = core.gda_step(game, x, y, eta_x, eta_y)
    x_new = x - eta_x * game.grad_x_f(x_look, y_look)
    y_new = y - eta_y * game.grad_y_g(x_look, y_look)
    return finished_step("extragradient_step", x_new, y_new, game.step)


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
    y_new = y - eta_y * (gy - gamma * game.dyx_g(x, y, gx))
    return finished_step("sga_step", x_new, y_new, game.step)


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
    return finished_step("conopt_step", x_new, y_new, game.step)


def lcgd_step(game, x, y, eta_x, eta_y):
    r"""Linearized CGD: the first two terms of CGD's Neumann series.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Raises
    ------
    refimpl.validation.DivergenceError
        If the step overflows, with ``step`` 1.

    Notes
    -----
    .. math::

        \Delta x = -\eta_x\,(\nabla_x f - \eta_y D_{xy} f\, \nabla_y g), \qquad
        \Delta y = -\eta_y\,(\nabla_y g - \eta_x D_{yx} g\, \nabla_x f).

    On bilinear games it coincides with extragradient [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> lcgd_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5)
    (array([0.75]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    x_new = x - eta_x * (gx - game.dxy_f(x, y, eta_y * gy))
    y_new = y - eta_y * (gy - game.dyx_g(x, y, eta_x * gx))
    return finished_step("lcgd_step", x_new, y_new, game.step)


def neumann_step(game, x, y, eta_x, eta_y, order):
    r"""CGD with its matrix inverse truncated after ``order + 1`` Neumann terms.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0.
    order : int
        K >= 0: ``order=0`` is GDA and ``order=1`` is LCGD.

    Returns
    -------
    x_new : ndarray, shape (n,)
    y_new : ndarray, shape (m,)

    Raises
    ------
    refimpl.validation.DivergenceError
        If a term of the series overflows, with ``step`` 1.

    Notes
    -----
    .. math::

        \Delta z_K = -\sum_{k=0}^{K} (-H N)^k H \xi .

    The series converges to CGD when the spectral radius of HN is below 1 (for
    xᵀAy with one η: η σ_max(A) < 1) [1]_. Each term is one more level of "I think
    that you think…".

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> neumann_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 0.5, 0.5, order=0)
    (array([1.]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    order = check_integer("order", order, minimum=0, maximum=10_000)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    term_x, term_y = eta_x * gx, eta_y * gy
    total_x, total_y = term_x, term_y
    for _ in range(order):  # at most 10 000 terms
        term_x, term_y = (
            -eta_x * game.dxy_f(x, y, term_y),
            -eta_y * game.dyx_g(x, y, term_x),
        )
        total_x, total_y = total_x + term_x, total_y + term_y
    return finished_step("neumann_step", x - total_x, y - total_y, game.step)
