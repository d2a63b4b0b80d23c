r"""Competitive gradient descent as plain array code: the algorithm, without the machinery.

Read in this order: :func:`gda_step` (the method CGD corrects), :func:`cgd_step_dense`
(the CGD update, Eq. (4) of [1], one dense solve per player), :func:`conjugate_gradient`,
:func:`zero_sum_moves` and :func:`cgd_step_cg` (the same step of a zero-sum game,
matrix-free), :func:`adaptive_step_sizes` and :func:`acgd_step` (adaptive CGD, [2]), and
last :func:`cgd_spectral_radius` and :func:`cgd_iteration_matrix` (what CGD does to
f = αxy). The public modules (``competitive``, ``adaptive``, ``closed_forms`` and the GAN's
``gan.acgd``) add input checks, one check of the result and faster solvers around these
functions: they call :func:`zero_sum_moves`, :func:`adaptive_step_sizes` and the closed
forms themselves, and ``tests/test_core_cgd.py`` holds their fast paths (the Cholesky
solve, the warm-started CG) to the core. Not public API. Numbers such as
"derivations (2.3)" point into ``docs/derivations/cgd.md``.

A game is any object of the protocol of :mod:`refimpl.cgd.games`: player x minimizes
f(x, y), player y minimizes g(x, y), and the game gives ``grad_x_f``, ``grad_y_g``, the
mixed-Hessian products ``dxy_f(x, y, v)`` = D_xy f v and ``dyx_g(x, y, u)`` = D_yx g u,
and the dense blocks ``dxy_f_matrix`` (n, m) and ``dyx_g_matrix`` (m, n).

[1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
[2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization in
GANs", ICML 2020.
"""

from __future__ import annotations

import math

from refimpl import backend

# ---------------------------------------------------------------- gradient descent-ascent


def gda_step(game, x, y, eta_x, eta_y):
    """Simultaneous gradient descent-ascent, the first term of the Neumann series of Eq. (4)."""
    # x ← x − η_x ∇ₓf(x, y),   y ← y − η_y ∇_y g(x, y)
    gx = game.grad_x_f(x, y)  # (n,)
    gy = game.grad_y_g(x, y)  # (m,)
    # each player follows its own gradient as if the other stood still
    return x - eta_x * gx, y - eta_y * gy


# ---------------------------------------------------------------- CGD, Eq. (4), dense


def cgd_step_dense(game, x, y, eta_x, eta_y):
    """One CGD step by Eq. (4) of [1], with scalar steps, for any two-player game.

    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> cgd_step_dense(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 1.0, 1.0)
    (array([0.5]), array([0.5]))
    """
    xp = backend.array_namespace(x, y)
    n, m = x.shape[0], y.shape[0]
    gx = game.grad_x_f(x, y)  # (n,)
    gy = game.grad_y_g(x, y)  # (m,)
    dxy = game.dxy_f_matrix(x, y)  # (n, m)  D_xy f
    dyx = game.dyx_g_matrix(x, y)  # (m, n)  D_yx g
    # Eq. (4) of [1], which has η_x = η_y = η (derivations (2.3)):
    #   Δx = −η_x (I − η_x η_y D_xy f D_yx g)⁻¹ (∇ₓf − η_y D_xy f ∇_y g)
    #   Δy = −η_y (I − η_y η_x D_yx g D_xy f)⁻¹ (∇_y g − η_x D_yx g ∇ₓf)
    # the Nash equilibrium of the local bilinear game
    #   min Δxᵀ∇ₓf + Δxᵀ D_xy f Δy + |Δx|²/(2η_x),  min Δyᵀ∇_y g + Δyᵀ D_yx g Δx + |Δy|²/(2η_y):
    # each player's move is its gradient step corrected by the move it expects of the other.
    system_x = xp.eye(n) - eta_x * eta_y * (dxy @ dyx)  # (n, n)
    system_y = xp.eye(m) - eta_y * eta_x * (dyx @ dxy)  # (m, m)
    dx = -eta_x * xp.linalg.solve(system_x, gx - eta_y * (dxy @ gy))  # (n,)
    dy = -eta_y * xp.linalg.solve(system_y, gy - eta_x * (dyx @ gx))  # (m,)
    return x + dx, y + dy


# ---------------------------------------------------------------- CGD of a zero-sum game, by CG


def conjugate_gradient(apply, b, tol=1e-12, maxiter=None):
    """Solve S w = b by conjugate gradients, for symmetric positive definite S w = apply(w)."""
    # Hestenes–Stiefel; stops once ‖b − S w‖ ≤ tol ‖b‖ or after maxiter steps (exact
    # arithmetic needs at most n)
    xp = backend.array_namespace(b)
    maxiter = 10 * b.shape[0] if maxiter is None else maxiter
    b_norm = xp.linalg.norm(b)
    w = xp.zeros_like(b)  # (n,)  start from w = 0, so r = b
    r = b.copy()  # (n,)  residual b − S w
    p = r.copy()  # (n,)  search direction
    rr = r @ r
    for _ in range(maxiter):
        if rr**0.5 <= tol * b_norm:
            break
        sp = apply(p)  # (n,)
        alpha = rr / (p @ sp)  # minimizes the S-norm of the error along p
        w = w + alpha * p
        r = r - alpha * sp
        rr_old, rr = rr, r @ r
        p = r + (rr / rr_old) * p  # S-conjugate to every earlier direction
    return w


def zero_sum_moves(d_own, d_other, g_own, g_other, h_own, h_other, solve):
    """Eq. (4) of [1] for a zero-sum game: solve one player's system, substitute the other's.

    d_own(v) = D_own,other v and d_other(u) = D_other,own u are the mixed products of each
    player's own loss (for player x: D_xy f and D_yx g; for player y the roles swap),
    g_own, g_other the gradients, h_own, h_other the step sizes (scalars or per
    coordinate). solve(apply, b) returns w with apply(w) = b: CG here; the package passes
    a warm-started CG or a Cholesky solve. Returns Δ_own, Δ_other and w.
    """
    # Write D = D_own,other; zero sum gives D_other,own = −Dᵀ. For w = −H^{−1/2} Δ_own,
    # H = diag(h_own), H' = diag(h_other), Eq. (4) for the own player is (derivations (4.1))
    #   (I + H^{1/2} D H' Dᵀ H^{1/2}) w = H^{1/2} (g_own − D H' g_other),
    # symmetric positive definite with eigenvalues >= 1.
    sqrt_h = h_own**0.5  # scalar or (p,): the diagonal of H^{1/2}

    def apply(w):  # (p,) -> (p,); D_other,own = −Dᵀ turns the "+" into "−"
        return w - sqrt_h * d_own(h_other * d_other(sqrt_h * w))

    rhs = sqrt_h * (g_own - d_own(h_other * g_other))  # (p,)
    w = solve(apply, rhs)  # (p,)
    move = -sqrt_h * w  # (p,)  Δ_own
    # the other player's best response to Δ_own in the local game: its first-order
    # condition (derivations (3.1)), no second solve
    return move, -h_other * (g_other + d_other(move)), w


def cgd_step_cg(game, x, y, eta_x, eta_y, tol=1e-12, maxiter=None):
    """One CGD step, Eq. (4) of [1], of a zero-sum game (g = −f) by CG, matrix-free."""
    # H_x = diag(η_x), H_y = diag(η_y): eta_x, eta_y are scalars or of shapes (n,), (m,).
    gx = game.grad_x_f(x, y)  # (n,)
    gy = game.grad_y_g(x, y)  # (m,)  = −∇_y f
    dx, dy, _ = zero_sum_moves(
        lambda v: game.dxy_f(x, y, v),  # (m,) -> (n,)
        lambda u: game.dyx_g(x, y, u),  # (n,) -> (m,)
        gx,
        gy,
        eta_x,
        eta_y,
        lambda apply, b: conjugate_gradient(apply, b, tol, maxiter),
    )
    return x + dx, y + dy


# ---------------------------------------------------------------- adaptive CGD


def adaptive_step_sizes(v, gradient, t, eta, beta=0.99, eps=1e-5):
    """ACGD's per-coordinate step sizes at step t = 1, 2, … [2]: RMSProp, bias-corrected."""
    # (derivations (6.1))  v ← β v + (1 − β) g ⊙ g,   η_t = √(1 − βᵗ) η / (√v + ε),
    # with ε outside the root, as in the authors' code
    xp = backend.array_namespace(v, gradient)
    v = beta * v + (1.0 - beta) * gradient * gradient  # (k,)  running mean of g², v_0 = 0
    # from v_0 = 0, v_t is about (1 − βᵗ) E g²: the factor √(1 − βᵗ) undoes that bias
    return v, (1.0 - beta**t) ** 0.5 * eta / (xp.sqrt(v) + eps)


def acgd_step(game, x, y, eta_x, eta_y, state, beta=0.99, eps=1e-5, tol=1e-12, maxiter=None):
    """One ACGD step of a zero-sum game [2]: the CG step above with H = diag(η_t)."""
    # state = (t, v_x, v_y): steps taken so far and the running means, (n,) and (m,);
    # the first step starts from (0, zeros, zeros). Returns x_new, y_new and the new state.
    t, v_x, v_y = state
    t = t + 1
    v_x, step_x = adaptive_step_sizes(v_x, game.grad_x_f(x, y), t, eta_x, beta, eps)  # (n,)
    v_y, step_y = adaptive_step_sizes(v_y, game.grad_y_g(x, y), t, eta_y, beta, eps)  # (m,)
    x_new, y_new = cgd_step_cg(game, x, y, step_x, step_y, tol, maxiter)
    return x_new, y_new, (t, v_x, v_y)


# ---------------------------------------------------------------- closed form on f = αxy


def cgd_spectral_radius(alpha, eta):
    """CGD's contraction factor per step on f = αxy [1, Fig. 2]: ρ = 1/√(1 + η²α²)."""
    # M below is ρ times a rotation, so ‖z_{k+1}‖ = ρ ‖z_k‖ exactly: CGD contracts for
    # every η, α ≠ 0. hypot(1, a) is √(1 + a²) without overflow in a².
    return 1.0 / math.hypot(1.0, eta * alpha)


def cgd_iteration_matrix(alpha, eta):
    """M with z_{k+1} = M z_k for CGD on f = αxy [1, Fig. 2]; z = (x, y), one step size η."""
    # ξ = (∇ₓf, ∇_y g) = (αy, −αx) = αJz with J = [[0, 1], [−1, 0]], and Eq. (4) gives
    # (derivations §7)  M = (I + ηαJ)⁻¹ = (I − aJ) / (1 + a²), a = ηα, because J² = −I;
    # that is ρ (ρ I − s J) with ρ = 1/√(1 + a²) and s = aρ: a rotation by arctan a
    # scaled by ρ, written so that no a² overflows.
    xp = backend.array_namespace(alpha, eta)
    rho = cgd_spectral_radius(alpha, eta)
    s = (eta * alpha) * rho  # sin of the rotation angle
    J = xp.asarray([[0.0, 1.0], [-1.0, 0.0]])  # (2, 2)
    return rho * (rho * xp.eye(2) - s * J)  # (2, 2)
