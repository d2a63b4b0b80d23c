r"""Closed-form iteration matrices and spectral radii on linear games.

On a quadratic game every method except ACGD is a linear map of z = (x, y)
(OGDA of (z_k, z_{k−1})). For the scalar bilinear game f = αxy with one step
size η, writing J = [[0, 1], [−1, 0]] (so ∇ = (αy, −αx) = αJz):

* gda: M = I − ηαJ, ρ = √(1 + η²α²);
* altgda: M = [[1, −ηα], [ηα, 1 − η²α²]], ρ = 1 if η|α| ≤ 2, else
  (|t| + √(t² − 4))/2 with t = 2 − η²α² (det M = 1);
* extragradient and lcgd: M = (1 − η²α²)I − ηαJ, ρ = √(1 − η²α² + η⁴α⁴);
* sga and conopt: M = (1 − ηγα²)I − ηαJ, ρ = √((1 − ηγα²)² + η²α²);
* cgd: M = (I + ηαJ)⁻¹, ρ = 1/√(1 + η²α²);
* ogda: M = [[I − 2ηαJ, ηαJ], [I, 0]] acting on (z_k, z_{k−1}),
  ρ = max |(1 − 2iηα ± √(1 − 4η²α²))/2|.

Derivations: each follows by applying the update rule to f = αxy. For OGDA the
eigenvalues λ of the companion matrix solve λ² − (1 − 2ηαμ)λ − ηαμ = 0 for the
eigenvalues μ = ±i of J.

The scalar and block iteration matrices are small and computed with NumPy on the
CPU; the bilinear closed forms follow the backend of ``A``.

For general quadratic games, :func:`game_iteration_matrix` builds the matrix from
the game's blocks: with H = [[D_xx f, D_xy f], [D_yx g, D_yy g]],
N = [[0, D_xy f], [D_yx g, 0]] and E = diag(η_x I, η_y I),

* GDA: I − EH; extragradient: I − EH(I − EH); LCGD: I − E(I − NE)H;
* CGD: I − (E⁻¹ + N)⁻¹H; SGA: I − E(I − γN)H; ConOpt: I − E(I + γHᵀ)H;
* OGDA: [[I − 2EH, EH], [I, 0]]; alternating GDA: x first, then y at the new x.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4 and Figure 2.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    check_choice,
    check_integer,
    check_nonnegative,
    check_positive,
)

__all__ = [
    "LINEAR_METHODS",
    "iteration_matrix",
    "spectral_radius",
    "game_iteration_matrix",
    "game_spectral_radius",
    "cgd_bilinear_contraction",
    "cgd_bilinear_closed_form",
]

LINEAR_METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd")


def _check(method, alpha, eta, gamma):
    check_choice("method", method, LINEAR_METHODS)
    alpha = float(as_float_array("alpha", alpha, ndim=0))
    eta = check_positive("eta", eta)
    gamma = 1.0 if gamma is None else check_nonnegative("gamma", gamma)
    return alpha, eta, gamma


def iteration_matrix(method, alpha, eta, gamma=None):
    r"""Iteration matrix of a method on f = αxy, acting on z = (x, y).

    Parameters
    ----------
    method : str
        A name from :data:`LINEAR_METHODS` (ACGD is nonlinear and excluded).
    alpha : float
    eta : float
        Step size of both players, > 0.
    gamma : float, optional
        SGA/ConOpt parameter (default 1.0, as in :func:`refimpl.cgd.run`).

    Returns
    -------
    ndarray, shape (2, 2), or (4, 4) for OGDA acting on (x_k, y_k, x_{k−1}, y_{k−1})

    Examples
    --------
    >>> iteration_matrix("cgd", alpha=1.0, eta=1.0)
    array([[ 0.5, -0.5],
           [ 0.5,  0.5]])
    """
    alpha, eta, gamma = _check(method, alpha, eta, gamma)
    a = eta * alpha
    J = np.array([[0.0, 1.0], [-1.0, 0.0]])
    I = np.eye(2)
    if method == "gda":
        return I - a * J
    if method == "altgda":
        return np.array([[1.0, -a], [a, 1.0 - a * a]])
    if method in ("extragradient", "lcgd"):
        return (1.0 - a * a) * I - a * J
    if method in ("sga", "conopt"):
        return (1.0 - eta * gamma * alpha**2) * I - a * J
    if method == "cgd":
        return np.array([[1.0, -a], [a, 1.0]]) / (1.0 + a * a)
    return np.block([[I - 2 * a * J, a * J], [I, np.zeros((2, 2))]])  # ogda


def spectral_radius(method, alpha, eta, gamma=None):
    r"""Spectral radius of a method's iteration matrix on f = αxy, in closed form.

    The rate at which ‖z_k‖ grows (> 1) or shrinks (< 1) per step. Formulas in the
    module docstring.

    Examples
    --------
    >>> round(spectral_radius("gda", 3.0, 0.2), 6), round(spectral_radius("cgd", 3.0, 0.2), 6)
    (1.16619, 0.857493)
    """
    alpha, eta, gamma = _check(method, alpha, eta, gamma)
    a2 = (eta * alpha) ** 2
    if method == "gda":
        return float(np.sqrt(1.0 + a2))
    if method == "cgd":
        return float(1.0 / np.sqrt(1.0 + a2))
    if method in ("extragradient", "lcgd"):
        return float(np.sqrt(1.0 - a2 + a2 * a2))
    if method in ("sga", "conopt"):
        return float(np.sqrt((1.0 - eta * gamma * alpha**2) ** 2 + a2))
    if method == "altgda":
        trace = 2.0 - a2
        return 1.0 if abs(trace) <= 2 else float((abs(trace) + np.sqrt(trace**2 - 4)) / 2)
    a = eta * alpha  # ogda
    root = np.sqrt(complex(1.0 - 4.0 * a2))
    return float(max(abs((1 - 2j * a + root) / 2), abs((1 - 2j * a - root) / 2)))


def _blocks(game):
    """Dense (P, A, C, Q) = (D_xx f, D_xy f, D_yx g, D_yy g) of a quadratic game."""

    def dense(m):
        m = m.toarray() if hasattr(m, "toarray") else m
        return np.asarray(m.get() if hasattr(m, "get") else m, dtype=float)

    for attr in ("P", "A", "Q"):
        if not hasattr(game, attr):
            raise ValueError(
                "game: expected a quadratic game with matrices P, A, Q "
                f"(BilinearGame, QuadraticGame, GeneralSumQuadraticGame), received "
                f"{type(game).__name__}"
            )
    P, A, Q = dense(game.P), dense(game.A), dense(game.Q)
    C = -A.T if game.zero_sum else dense(game.B).T
    return P, A, C, Q


def game_iteration_matrix(method, game, eta_x, eta_y=None, gamma=None):
    r"""Iteration matrix of a method on a quadratic game, from the game's blocks.

    Parameters
    ----------
    method : str
        A name from :data:`LINEAR_METHODS`.
    game : BilinearGame, QuadraticGame or GeneralSumQuadraticGame
        Games with equilibrium z = 0 (no linear terms), so z_{k+1} = M z_k.
    eta_x : float
    eta_y : float, optional
        Defaults to ``eta_x``.
    gamma : float, optional
        SGA/ConOpt parameter (default 1.0). SGA and ConOpt need a zero-sum game.

    Returns
    -------
    ndarray, shape (n + m, n + m), or (2(n + m), 2(n + m)) for OGDA

    Examples
    --------
    The implicit competitive regularization example min_x max_y x² + 10xy + y²:

    >>> from refimpl.cgd import QuadraticGame
    >>> game = QuadraticGame(2.0, 10.0, -2.0)
    >>> round(game_spectral_radius("gda", game, 0.09, 0.01), 4)   # converges
    0.9625
    >>> round(game_spectral_radius("gda", game, 0.05, 0.05), 4)   # diverges
    1.1136
    """
    check_choice("method", method, LINEAR_METHODS)
    eta_x = check_positive("eta_x", eta_x)
    eta_y = eta_x if eta_y is None else check_positive("eta_y", eta_y)
    gamma = 1.0 if gamma is None else check_nonnegative("gamma", gamma)
    if method in ("sga", "conopt") and not game.zero_sum:
        raise ValueError(f"game: {method} is defined here for zero-sum games only")
    P, A, C, Q = _blocks(game)
    n, m = A.shape
    I = np.eye(n + m)
    E = np.diag(np.r_[np.full(n, eta_x), np.full(m, eta_y)])
    H = np.block([[P, A], [C, Q]])
    N = np.block([[np.zeros((n, n)), A], [C, np.zeros((m, m))]])
    if method == "gda":
        return I - E @ H
    if method == "extragradient":
        return I - E @ H @ (I - E @ H)
    if method == "lcgd":
        return I - E @ (I - N @ E) @ H
    if method == "cgd":
        return I - np.linalg.solve(np.linalg.inv(E) + N, H)
    if method == "sga":
        return I - E @ (I - gamma * N) @ H
    if method == "conopt":
        return I - E @ (I + gamma * H.T) @ H
    if method == "ogda":
        return np.block([[I - 2 * E @ H, E @ H], [I, np.zeros_like(I)]])
    x_part = np.hstack([np.eye(n) - eta_x * P, -eta_x * A])  # altgda: x_{k+1} as a row block
    y_part = np.hstack([np.zeros((m, n)), np.eye(m)]) - eta_y * np.hstack([C, Q]) @ np.vstack(
        [x_part, np.hstack([np.zeros((m, n)), np.eye(m)])]
    )
    return np.vstack([x_part, y_part])


def game_spectral_radius(method, game, eta_x, eta_y=None, gamma=None):
    """Largest eigenvalue modulus of :func:`game_iteration_matrix`."""
    matrix = game_iteration_matrix(method, game, eta_x, eta_y, gamma)
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def cgd_bilinear_contraction(A, eta):
    r"""Per-singular-direction contraction factor of one CGD step on f = xᵀAy.

    .. math::

        \rho_i = \frac{1}{\sqrt{1 + \eta^2 \sigma_i^2}},

    for the singular values σ_i of A (descending, length min(n, m)). Components
    of x in the null space of Aᵀ and of y in the null space of A are left fixed
    (factor 1, as σ = 0 gives).

    Examples
    --------
    >>> import numpy as np
    >>> cgd_bilinear_contraction(np.diag([3.0, 0.0]), eta=1.0)
    array([0.31622777, 1.        ])
    """
    A = as_float_array("A", A, ndim=2)
    eta = check_positive("eta", eta)
    xp = backend.array_namespace(A)
    sigma = xp.linalg.svd(A, compute_uv=False)
    return 1.0 / xp.sqrt(1.0 + (eta * sigma) ** 2)


def cgd_bilinear_closed_form(A, x0, y0, eta, k):
    r"""The CGD iterate z_k on f = xᵀAy, in closed form through the SVD of A.

    With A = U Σ Vᵀ, each pair (ξ_i, ζ_i) = (u_iᵀx, v_iᵀy) is a scalar game with
    α = σ_i, on which k CGD steps apply

    .. math::

        (I + \eta\sigma_i J)^{-k} = (1 + \eta^2\sigma_i^2)^{-k/2}\, R(k\theta_i),
        \qquad \theta_i = \arctan(\eta\sigma_i),

    with R a rotation by k θ_i. The remaining components (null spaces) are fixed.

    Parameters
    ----------
    A : ndarray, shape (n, m)
    x0 : ndarray, shape (n,)
    y0 : ndarray, shape (m,)
    eta : float
    k : int

    Returns
    -------
    x_k : ndarray, shape (n,)
    y_k : ndarray, shape (m,)
    """
    A = as_float_array("A", A, ndim=2)
    x0 = as_float_array("x0", x0, ndim=1, like=A)
    y0 = as_float_array("y0", y0, ndim=1, like=A)
    if x0.shape != (A.shape[0],) or y0.shape != (A.shape[1],):
        raise ValueError(
            f"x0, y0: expected shapes ({A.shape[0]},) and ({A.shape[1]},), "
            f"received {x0.shape} and {y0.shape}"
        )
    eta = check_positive("eta", eta)
    k = check_integer("k", k, minimum=0)
    xp = backend.array_namespace(A, x0, y0)
    U, sigma, Vt = xp.linalg.svd(A)  # full U (n, n), Vt (m, m)
    r = sigma.size
    xi, zeta = U.T @ x0, Vt @ y0
    scale = (1.0 + (eta * sigma) ** 2) ** (-k / 2)
    angle = k * xp.arctan(eta * sigma)
    xi_k, zeta_k = xi.copy(), zeta.copy()
    xi_k[:r] = scale * (xp.cos(angle) * xi[:r] - xp.sin(angle) * zeta[:r])
    zeta_k[:r] = scale * (xp.sin(angle) * xi[:r] + xp.cos(angle) * zeta[:r])
    return U @ xi_k, Vt.T @ zeta_k
