r"""CGD's Neumann series: GDA, linearized CGD (LCGD) and their higher orders.

With H = diag(H_x, H_y), N = [[0, D_xy f], [D_yx g, 0]] and ξ = (∇ₓf, ∇_y g), CGD
is Δz = −(I + HN)⁻¹Hξ. Expanding the inverse gives the "I think that you think
that I think…" hierarchy: one term is GDA, two terms are LCGD.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103, Section 3.
"""

from __future__ import annotations

from refimpl.cgd.arguments import check_finite_result, check_step_arguments
from refimpl.validation import check_integer

__all__ = ["lcgd_step", "neumann_step"]


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
    check_finite_result("lcgd_step", eta_x * gx, eta_y * gy, hint="reduce eta_x, eta_y")
    x_new = x - eta_x * (gx - game.dxy_f(x, y, eta_y * gy))
    y_new = y - eta_y * (gy - game.dyx_g(x, y, eta_x * gx))
    check_finite_result("lcgd_step", x_new, y_new, hint="reduce eta_x, eta_y")
    return x_new, y_new


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
    for _ in range(order):
        check_finite_result("neumann_step", term_x, term_y, hint="reduce eta_x, eta_y")
        term_x, term_y = (
            -eta_x * game.dxy_f(x, y, term_y),
            -eta_y * game.dyx_g(x, y, term_x),
        )
        total_x, total_y = total_x + term_x, total_y + term_y
    x_new, y_new = x - total_x, y - total_y
    check_finite_result("neumann_step", x_new, y_new, hint="reduce eta_x, eta_y")
    return x_new, y_new
