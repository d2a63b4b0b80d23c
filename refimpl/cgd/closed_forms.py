r"""Closed forms of the methods on quadratic games: iteration matrices and spectral radii.

On a quadratic game with equilibrium 0 every method except ACGD is a linear map of
z = (x, y) (OGDA of (z_k, z_{k−1})). Three levels of generality:

The scalar game f = αxy (:func:`iteration_matrix`, :func:`spectral_radius`)
    With one step size η, J = [[0, 1], [−1, 0]] (so ∇ = (αy, −αx) = αJz) and a = ηα:

    * gda: M = I − aJ, ρ = √(1 + a²);
    * altgda: M = [[1, −a], [a, 1 − a²]], ρ = 1 if |a| ≤ 2, else
      (|t| + √(t² − 4))/2 with t = 2 − a² (det M = 1);
    * extragradient and lcgd: M = (1 − a²)I − aJ, ρ = √(1 − a² + a⁴);
    * sga and conopt: M = (1 − ηγα²)I − aJ, ρ = √((1 − ηγα²)² + a²);
    * cgd: M = (I + aJ)⁻¹, ρ = 1/√(1 + a²) (the closed form of
      :mod:`refimpl.cgd.core`, which these functions call);
    * ogda: M = [[I − 2aJ, aJ], [I, 0]] acting on (z_k, z_{k−1}),
      ρ = max |(1 − 2ia ± √(1 − 4a²))/2|.

    The radii are evaluated without overflow where they are representable
    (√(1 + a²) as hypot(1, a)); where a value exceeds the float range, a
    ``ValueError`` names the arguments.
The bilinear game f = xᵀAy (:func:`cgd_bilinear_contraction`, :func:`cgd_bilinear_closed_form`)
    With A = U Σ Vᵀ, each pair (ξ_i, ζ_i) = (u_iᵀx, v_iᵀy) is the scalar game α = σ_i,
    on which CGD is the scaled rotation (I + ησ_iJ)⁻¹; the null-space components of x
    and y are left fixed.
Any quadratic game (:func:`game_iteration_matrix`, :func:`game_spectral_radius`)
    With H = [[D_xx f, D_xy f], [D_yx g, D_yy g]], N = [[0, D_xy f], [D_yx g, 0]] and
    E = diag(η_x I, η_y I):

    * GDA: I − EH; extragradient: I − EH(I − EH); LCGD: I − E(I − NE)H;
    * CGD: I − (E⁻¹ + N)⁻¹H; SGA: I − E(I − γN)H; ConOpt: I − E(I + γHᵀ)H;
    * OGDA: [[I − 2EH, EH], [I, 0]]; alternating GDA: x first, then y at the new x.

    The matrices are small and computed with NumPy on the CPU.

The derivations are in ``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4 and Figure 2.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

import math

import numpy as np

from refimpl import backend, validation
from refimpl.cgd import core
from refimpl.cgd.arguments import check_game
from refimpl.validation import (
    as_float_array,
    check_array_size,
    check_choice,
    check_integer,
    check_nonnegative,
    check_positive,
    finite_or_overflow,
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


def check_linear_method_arguments(method, alpha, eta, gamma):
    """(alpha, eta, gamma) as floats, checked; gamma None becomes 1.0."""
    check_choice("method", method, LINEAR_METHODS)
    if isinstance(alpha, bool | np.bool_):
        raise ValueError(f"alpha: expected a real number, received {alpha!r}")
    alpha = float(as_float_array("alpha", alpha, ndim=0))
    eta = check_positive("eta", eta)
    gamma = 1.0 if gamma is None else check_nonnegative("gamma", gamma)
    return alpha, eta, gamma


def _representable(value, what):
    return validation.finite_or_overflow(
        value,
        "alpha, eta, gamma",
        hint="use a smaller eta * alpha",
        message=f"{what} exceeds the float range for these values",
    )


def iteration_matrix(method, alpha, eta, gamma=None):
    r"""Iteration matrix of a method on f = αxy, acting on z = (x, y).

    Parameters
    ----------
    method : str
        A name from :data:`LINEAR_METHODS` (ACGD is nonlinear and excluded).
    alpha : float
        The coupling α of f = αxy.
    eta : float
        Step size of both players, > 0.
    gamma : float, optional
        SGA/ConOpt parameter, >= 0 (default 1.0, as in :func:`refimpl.cgd.run`).

    Returns
    -------
    ndarray, shape (2, 2), or (4, 4) for OGDA acting on (x_k, y_k, x_{k−1}, y_{k−1})
        M with z_{k+1} = M z_k.

    Notes
    -----
    With a = ηα and J = [[0, 1], [−1, 0]], CGD's matrix is

    .. math::

        M = (I + aJ)^{-1} = \frac{1}{1 + a^2}\begin{pmatrix} 1 & -a \\ a & 1 \end{pmatrix};

    the other methods' matrices are listed in the module docstring [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> iteration_matrix("cgd", alpha=1.0, eta=1.0)
    array([[ 0.5, -0.5],
           [ 0.5,  0.5]])
    """
    alpha, eta, gamma = check_linear_method_arguments(method, alpha, eta, gamma)
    with np.errstate(over="ignore", invalid="ignore"):
        a = eta * alpha
        J = np.array([[0.0, 1.0], [-1.0, 0.0]])
        I = np.eye(2)
        if method == "gda":
            M = I - a * J
        elif method == "altgda":
            M = np.array([[1.0, -a], [a, 1.0 - a * a]])
        elif method in ("extragradient", "lcgd"):
            M = (1.0 - a * a) * I - a * J
        elif method in ("sga", "conopt"):
            try:
                square = alpha**2
            except OverflowError:  # a Python float's power raises where a product gives inf
                square = math.inf
            M = (1.0 - eta * gamma * square) * I - a * J
        elif method == "cgd":
            M = core.cgd_iteration_matrix(alpha, eta)
        else:  # ogda
            M = np.block([[I - 2 * a * J, a * J], [I, np.zeros((2, 2))]])
    return _representable(M, f"the {method} iteration matrix")


def spectral_radius(method, alpha, eta, gamma=None):
    r"""Spectral radius of a method's iteration matrix on f = αxy, in closed form.

    Parameters
    ----------
    method : str
        A name from :data:`LINEAR_METHODS`.
    alpha : float
        The coupling α.
    eta : float
        Step size, > 0.
    gamma : float, optional
        SGA/ConOpt parameter, >= 0 (default 1.0).

    Returns
    -------
    float
        ρ, the rate at which ‖z_k‖ grows (> 1) or shrinks (< 1) per step.

    Notes
    -----
    For CGD and GDA, whose matrices are scaled rotations,

    .. math::

        \rho_{\mathrm{cgd}} = \frac{1}{\sqrt{1 + \eta^2\alpha^2}}, \qquad
        \rho_{\mathrm{gda}} = \sqrt{1 + \eta^2\alpha^2};

    the other formulas are in the module docstring and derived in
    ``docs/derivations/cgd.md`` [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> round(spectral_radius("gda", 3.0, 0.2), 6), round(spectral_radius("cgd", 3.0, 0.2), 6)
    (1.16619, 0.857493)
    """
    alpha, eta, gamma = check_linear_method_arguments(method, alpha, eta, gamma)
    with np.errstate(over="ignore", invalid="ignore"):
        a = eta * alpha
        a2 = a * a
        if method == "gda":
            rho = math.hypot(1.0, a)
        elif method == "cgd":
            rho = core.cgd_spectral_radius(alpha, eta)
        elif method in ("extragradient", "lcgd"):  # √(1 − a² + a⁴) = a²√(1 − u + u²), u = 1/a²
            u = 1.0 / a2 if a2 > 1.0 else 0.0
            rho = a2 * math.sqrt(1.0 - u + u * u) if a2 > 1.0 else math.sqrt(1.0 - a2 + a2 * a2)
        elif method in ("sga", "conopt"):
            rho = math.hypot(1.0 - eta * gamma * alpha * alpha, a)
        elif method == "altgda":
            trace = 2.0 - a2
            if abs(trace) <= 2:
                rho = 1.0
            else:
                try:
                    ratio = 4 / trace**2
                except OverflowError:  # |trace| > 1e154: 4 / trace² is below the float range
                    ratio = 0.0
                rho = abs(trace) / 2 * (1 + math.sqrt(1 - ratio))
        else:  # ogda
            root = np.sqrt(complex(1.0 - 4.0 * a2))
            rho = max(abs((1 - 2j * a + root) / 2), abs((1 - 2j * a - root) / 2))
    return float(_representable(rho, f"the {method} spectral radius"))


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


def cgd_bilinear_contraction(A, eta):
    r"""Per-singular-direction contraction factor of one CGD step on f = xᵀAy.

    Parameters
    ----------
    A : ndarray, shape (n, m)
        The game's matrix (finite).
    eta : float
        Step size of both players, > 0.

    Returns
    -------
    ndarray, shape (min(n, m),)
        ρ_i for the singular values σ_i of A, in descending order of σ_i.

    Notes
    -----
    .. math::

        \rho_i = \frac{1}{\sqrt{1 + \eta^2 \sigma_i^2}},

    evaluated as 1/hypot(1, ησ_i), so it does not overflow. Components of x in the
    null space of Aᵀ and of y in the null space of A are left fixed (factor 1, as
    σ = 0 gives) [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> cgd_bilinear_contraction(np.diag([3.0, 0.0]), eta=1.0)
    array([0.31622777, 1.        ])
    """
    A = as_float_array("A", A, ndim=2)
    if A.size == 0:
        raise ValueError(f"A: expected a non-empty matrix, received shape {A.shape}")
    eta = check_positive("eta", eta)
    xp = backend.array_namespace(A)
    scale = float(xp.max(xp.abs(A)))
    sigma = xp.linalg.svd(A / scale if scale > 0 else A, compute_uv=False)
    with np.errstate(over="ignore"):
        return 1.0 / xp.hypot(1.0, (eta * scale) * sigma)


def cgd_bilinear_closed_form(A, x0, y0, eta, k):
    r"""The CGD iterate z_k on f = xᵀAy, in closed form through the SVD of A.

    Parameters
    ----------
    A : ndarray, shape (n, m)
        The game's matrix.
    x0 : ndarray, shape (n,)
        Start of player x.
    y0 : ndarray, shape (m,)
        Start of player y.
    eta : float
        Step size, > 0.
    k : int
        Number of steps, >= 0.

    Returns
    -------
    x_k : ndarray, shape (n,)
    y_k : ndarray, shape (m,)

    Notes
    -----
    With A = U Σ Vᵀ, each pair (ξ_i, ζ_i) = (u_iᵀx, v_iᵀy) is a scalar game with
    α = σ_i, on which k CGD steps apply

    .. math::

        (I + \eta\sigma_i J)^{-k} = (1 + \eta^2\sigma_i^2)^{-k/2}\, R(k\theta_i),
        \qquad \theta_i = \arctan(\eta\sigma_i),

    with R a rotation by kθ_i [1]_. The remaining components (null spaces) are fixed.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = cgd_bilinear_closed_form(np.eye(1), [1.0], [0.0], eta=1.0, k=1)
    >>> x, y
    (array([0.5]), array([0.5]))
    """
    A = as_float_array("A", A, ndim=2)
    x0 = as_float_array("x0", x0, ndim=1, like=A)
    y0 = as_float_array("y0", y0, ndim=1, like=A)
    if A.size == 0:
        raise ValueError(f"A: expected a non-empty matrix, received shape {A.shape}")
    if x0.shape != (A.shape[0],) or y0.shape != (A.shape[1],):
        raise ValueError(
            f"x0, y0: expected shapes ({A.shape[0]},) and ({A.shape[1]},) to match A, "
            f"received {x0.shape} and {y0.shape}"
        )
    eta = check_positive("eta", eta)
    k = check_integer("k", k, minimum=0)
    xp = backend.array_namespace(A, x0, y0)
    a_scale = float(xp.max(xp.abs(A)))
    a_scale = a_scale if a_scale > 0 else 1.0
    z_scale = max(float(xp.max(xp.abs(x0))), float(xp.max(xp.abs(y0))))
    z_scale = z_scale if z_scale > 0 else 1.0
    U, sigma, Vt = xp.linalg.svd(A / a_scale)  # full U (n, n), Vt (m, m)
    r = sigma.size
    xi, zeta = U.T @ (x0 / z_scale), Vt @ (y0 / z_scale)
    with np.errstate(over="ignore", under="ignore"):
        ratio = (eta * a_scale) * sigma  # ησ_i
        scale = xp.hypot(1.0, ratio) ** (-float(k))
        angle = float(k) * xp.arctan(ratio)
    xi_k, zeta_k = xi.copy(), zeta.copy()
    xi_k[:r] = scale * (xp.cos(angle) * xi[:r] - xp.sin(angle) * zeta[:r])
    zeta_k[:r] = scale * (xp.sin(angle) * xi[:r] + xp.cos(angle) * zeta[:r])
    with np.errstate(over="ignore"):
        x_k, y_k = (U @ xi_k) * z_scale, (Vt.T @ zeta_k) * z_scale
    message = "z_k exceeds the float range for starts this large"
    return finite_or_overflow((x_k, y_k), "x0, y0", message=message)
