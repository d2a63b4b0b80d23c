r"""Iteration matrices of the linear methods on any quadratic game, from its blocks.

With H = [[D_xx f, D_xy f], [D_yx g, D_yy g]], N = [[0, D_xy f], [D_yx g, 0]] and
E = diag(η_x I, η_y I):

* GDA: I − EH; extragradient: I − EH(I − EH); LCGD: I − E(I − NE)H;
* CGD: I − (E⁻¹ + N)⁻¹H; SGA: I − E(I − γN)H; ConOpt: I − E(I + γHᵀ)H;
* OGDA: [[I − 2EH, EH], [I, 0]]; alternating GDA: x first, then y at the new x.

The matrices are small and computed with NumPy on the CPU.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

import numpy as np

from refimpl import validation
from refimpl.cgd.arguments import check_game
from refimpl.cgd.closed_forms import LINEAR_METHODS
from refimpl.validation import check_array_size, check_choice, check_nonnegative, check_positive

__all__ = ["game_iteration_matrix", "game_spectral_radius"]


def _blocks(game):
    """Dense (P, A, C, Q) = (D_xx f, D_xy f, D_yx g, D_yy g) of a quadratic game."""

    def dense(m):
        m = m.toarray() if hasattr(m, "toarray") else m
        return np.asarray(m.get() if hasattr(m, "get") else m, dtype=float)

    check_game(game)
    for attr in ("P", "A", "Q") if game.zero_sum else ("P", "A", "B", "Q"):
        if not hasattr(game, attr):
            raise ValueError(
                "game: expected a quadratic game with matrices P, A, Q "
                f"(BilinearGame, QuadraticGame, GeneralSumQuadraticGame), received "
                f"{type(game).__name__}"
            )
    check_array_size("game", (2 * (game.n + game.m), 2 * (game.n + game.m)))
    P, A, Q = dense(game.P), dense(game.A), dense(game.Q)
    C = -A.T if game.zero_sum else dense(game.B).T
    return P, A, C, Q


def game_iteration_matrix(method, game, eta_x, eta_y=None, gamma=None):
    r"""Iteration matrix of a method on a quadratic game, from the game's blocks.

    Parameters
    ----------
    method : str
        A name from :data:`~refimpl.cgd.LINEAR_METHODS`.
    game : BilinearGame, QuadraticGame or GeneralSumQuadraticGame
        Games with equilibrium z = 0 (no linear terms), so z_{k+1} = M z_k.
    eta_x : float
        Step size of x, > 0.
    eta_y : float, optional
        Step size of y, > 0; defaults to ``eta_x``.
    gamma : float, optional
        SGA/ConOpt parameter (default 1.0). SGA and ConOpt need a zero-sum game.

    Returns
    -------
    ndarray, shape (n + m, n + m), or (2(n + m), 2(n + m)) for OGDA
        M with z_{k+1} = M z_k.

    Raises
    ------
    numpy.linalg.LinAlgError
        For CGD when E⁻¹ + N is singular (possible in general-sum games only).

    Notes
    -----
    CGD's matrix follows from Δz = −(E⁻¹ + N)⁻¹ξ with ξ = Hz:

    .. math::

        M_{\mathrm{cgd}} = I - (E^{-1} + N)^{-1} H .

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    The implicit competitive regularization example min_x max_y x² + 10xy + y²:

    >>> from refimpl.cgd import QuadraticGame
    >>> game = QuadraticGame(2.0, 10.0, -2.0)
    >>> game_iteration_matrix("gda", game, 0.1).round(2)
    array([[ 0.8, -1. ],
           [ 1. ,  1.2]])
    """
    check_choice("method", method, LINEAR_METHODS)
    eta_x = check_positive("eta_x", eta_x)
    eta_y = eta_x if eta_y is None else check_positive("eta_y", eta_y)
    gamma = 1.0 if gamma is None else check_nonnegative("gamma", gamma)
    P, A, C, Q = _blocks(game)
    if method in ("sga", "conopt") and not game.zero_sum:
        raise ValueError(f"game: {method} is defined here for zero-sum games only")
    n, m = A.shape
    I = np.eye(n + m)
    e = np.r_[np.full(n, eta_x), np.full(m, eta_y)]
    with np.errstate(over="ignore", invalid="ignore"):
        H = np.block([[P, A], [C, Q]])
        N = np.block([[np.zeros((n, n)), A], [C, np.zeros((m, m))]])
        EH = e[:, None] * H
        if method == "gda":
            M = I - EH
        elif method == "extragradient":
            M = I - EH @ (I - EH)
        elif method == "lcgd":
            M = I - e[:, None] * ((I - N * e[None, :]) @ H)
        elif method == "cgd":
            M = I - np.linalg.solve(np.diag(1.0 / e) + N, H)
        elif method == "sga":
            M = I - e[:, None] * ((I - gamma * N) @ H)
        elif method == "conopt":
            M = I - e[:, None] * ((I + gamma * H.T) @ H)
        elif method == "ogda":
            M = np.block([[I - 2 * EH, EH], [I, np.zeros_like(I)]])
        else:  # altgda: x_{k+1} as a row block, then y_{k+1} at the new x
            x_part = np.hstack([np.eye(n) - eta_x * P, -eta_x * A])
            y_rows = np.hstack([np.zeros((m, n)), np.eye(m)])
            y_part = y_rows - eta_y * np.hstack([C, Q]) @ np.vstack([x_part, y_rows])
            M = np.vstack([x_part, y_part])
    return validation.finite_or_overflow(
        M,
        "eta_x, eta_y, gamma, game",
        hint="use smaller step sizes",
        message="the iteration matrix exceeds the float range",
    )


def game_spectral_radius(method, game, eta_x, eta_y=None, gamma=None):
    r"""Largest eigenvalue modulus of :func:`game_iteration_matrix`.

    Parameters
    ----------
    method : str
        A name from :data:`~refimpl.cgd.LINEAR_METHODS`.
    game : BilinearGame, QuadraticGame or GeneralSumQuadraticGame
        A quadratic game with equilibrium 0.
    eta_x : float
        Step size of x, > 0.
    eta_y : float, optional
        Step size of y (default ``eta_x``).
    gamma : float, optional
        SGA/ConOpt parameter (default 1.0).

    Returns
    -------
    float
        ρ(M): the method converges locally when ρ < 1.

    Notes
    -----
    .. math::

        \rho(M) = \max_i |\lambda_i(M)|.

    On the implicit competitive regularization example x² + 10xy + y², GDA converges
    with (η_x, η_y) = (0.09, 0.01) and diverges with (0.05, 0.05); CGD converges in
    both [1]_.

    References
    ----------
    .. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    >>> from refimpl.cgd import QuadraticGame
    >>> game = QuadraticGame(2.0, 10.0, -2.0)
    >>> round(game_spectral_radius("gda", game, 0.09, 0.01), 4)   # converges
    0.9625
    >>> round(game_spectral_radius("gda", game, 0.05, 0.05), 4)   # diverges
    1.1136
    """
    matrix = game_iteration_matrix(method, game, eta_x, eta_y, gamma)
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))
