r"""Gradient-based relatives of CGD: GDA, alternating GDA, OGDA and extragradient.

Every step takes a game (see :class:`refimpl.cgd.Game`), the current (x, y) and
separate step sizes η_x and η_y (finite, > 0; scalars or per-coordinate arrays),
and returns the next (x, y); it raises :class:`refimpl.validation.DivergenceError`
with ``step`` 1 when the step overflows. Player x minimizes f, player y minimizes
g; for zero-sum games g = −f.

SGA and ConOpt, which add second-derivative terms, are in
:mod:`refimpl.cgd.adjusted_gradients`.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4 (the update rules compared there).
.. [2] C. Daskalakis et al., "Training GANs with Optimism", ICLR 2018 (OGDA).
.. [3] G. M. Korpelevich, "The extragradient method for finding saddle points and
   other problems", 1976.
"""

from __future__ import annotations

from refimpl.cgd.arguments import check_finite_result, check_step_arguments, check_vector

__all__ = [
    "finished_step",
    "gda_step",
    "altgda_step",
    "ogda_step",
    "extragradient_step",
]

HINT = "reduce eta_x, eta_y"


def finished_step(method, x_new, y_new):
    """(x_new, y_new), or DivergenceError naming ``method`` if the step overflowed."""
    check_finite_result(method, x_new, y_new, hint=HINT)
    return x_new, y_new


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
    x_new, y_new = x - eta_x * game.grad_x_f(x, y), y - eta_y * game.grad_y_g(x, y)
    return finished_step("gda_step", x_new, y_new)


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
    check_finite_result("altgda_step", x_new, hint=HINT)
    return finished_step("altgda_step", x_new, y - eta_y * game.grad_y_g(x_new, y))


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
    x_new, y_new = finished_step("ogda_step", x - eta_x * (2 * gx - px), y - eta_y * (2 * gy - py))
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
    x_look, y_look = gda_step(game, x, y, eta_x, eta_y)
    x_new = x - eta_x * game.grad_x_f(x_look, y_look)
    return finished_step("extragradient_step", x_new, y - eta_y * game.grad_y_g(x_look, y_look))
