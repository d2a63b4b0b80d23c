# %% [markdown]
# # Competitive gradient descent on bilinear games
#
# Lecture notes for `refimpl.cgd`. We follow Schäfer & Anandkumar, *Competitive Gradient
# Descent* (NeurIPS 2019), and Schäfer, Zheng & Anandkumar, *Implicit competitive
# regularization in GANs* (ICML 2020).
#
# **Setting.** Two players: x minimizes f(x, y), y minimizes g(x, y). In a zero-sum game
# g = −f, so y maximizes f. The simplest interesting game is the bilinear game
#
# $$ f(x, y) = \alpha\, x y, $$
#
# whose only equilibrium is (0, 0). Run this file as a script
# (`python tutorials/cgd_bilinear.py`) or open it in Jupyter with jupytext.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from refimpl import cgd
from refimpl.cgd import BilinearGame, QuadraticGame

QUICK = os.environ.get("REFIMPL_QUICK") == "1"
STEPS = 20 if QUICK else 50


# %% [markdown]
# ## 1. Simultaneous gradient descent-ascent spirals out
#
# Gradient descent-ascent (GDA) moves each player along its own negative gradient:
# x ← x − ηαy and y ← y + ηαx. Writing z = (x, y) and J = [[0, 1], [−1, 0]], one step
# is z ← (I − ηαJ) z. The matrix I − ηαJ is √(1 + η²α²) times a rotation, so **every
# step increases ‖z‖ by exactly √(1 + η²α²)**, whatever η > 0. GDA cycles outward.

# %%
alpha, eta = 3.0, 0.2
game = BilinearGame(alpha)
gda = cgd.run(game, "gda", 0.5, 0.5, STEPS, eta)
growth = gda.norm[1:] / gda.norm[:-1]
print(f"GDA growth per step: {growth.min():.6f} .. {growth.max():.6f}")
print(f"closed form sqrt(1 + eta^2 alpha^2) = {np.sqrt(1 + (eta * alpha) ** 2):.6f}")

# %% [markdown]
# ## 2. Deriving CGD from the local bilinear game
#
# GDA lets each player respond to a *linear* model of its own loss, ignoring what the
# other player will do. CGD instead lets each player solve the **regularized local
# bilinear game**, which keeps the mixed term:
#
# $$
# \min_{\Delta x}\; \Delta x^\top \nabla_x f + \Delta x^\top D_{xy} f\, \Delta y
#     + \frac{1}{2\eta}\lVert \Delta x\rVert^2, \qquad
# \min_{\Delta y}\; \Delta y^\top \nabla_y g + \Delta y^\top D_{yx} g\, \Delta x
#     + \frac{1}{2\eta}\lVert \Delta y\rVert^2 .
# $$
#
# Each objective is a strictly convex quadratic in the player's own move, so the Nash
# equilibrium is given by the first-order conditions
#
# $$ \Delta x = -\eta(\nabla_x f + D_{xy} f\,\Delta y), \qquad
#    \Delta y = -\eta(\nabla_y g + D_{yx} g\,\Delta x). $$
#
# Substituting one into the other gives the CGD update (Eq. 4 of the paper):
#
# $$ \Delta x = -\eta\,(I - \eta^2 D_{xy} f\, D_{yx} g)^{-1}
#                (\nabla_x f - \eta D_{xy} f\,\nabla_y g), $$
#
# and symmetrically for Δy. In a zero-sum game D_yx g = −(D_xy f)ᵀ, so the matrix is
# I + η² D_xy f D_xy fᵀ: symmetric positive definite, which is why conjugate gradients
# solve it. Let us check numerically that `cgd_step` returns the equilibrium of the
# local game: the gradient of each player's local objective must vanish.

# %%
rng = np.random.default_rng(0)
A = rng.standard_normal((4, 3))
big_game = BilinearGame(A)
x, y = rng.standard_normal(4), rng.standard_normal(3)
x1, y1, info = cgd.cgd_step(big_game, x, y, eta, eta, solver="dense")
dx, dy = x1 - x, y1 - y
# ∂/∂Δx of x's local objective, and ∂/∂Δy of y's (with g = -f, D_yx g = -Aᵀ):
residual_x = big_game.grad_x_f(x, y) + A @ dy + dx / eta
residual_y = big_game.grad_y_g(x, y) - A.T @ dx + dy / eta
print("first-order conditions:", np.abs(residual_x).max(), np.abs(residual_y).max())

# %% [markdown]
# On f = αxy the CGD iteration matrix is (I + ηαJ)⁻¹: the inverse of GDA's
# mirror image. It is a rotation times 1/√(1 + η²α²), so **CGD contracts by exactly
# 1/√(1 + η²α²) per step, for every η > 0**.

# %%
results = cgd.compare_methods(game, 0.5, 0.5, STEPS, eta, methods=cgd.METHODS)
for method, result in results.items():
    print(f"{method:>14}: |z_K| / |z_0| = {result.norm[-1] / result.norm[0]:.3e}")
print("CGD closed form:", (1 + (eta * alpha) ** 2) ** (-STEPS / 2))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
for method, result in results.items():
    ax1.semilogy(result.norm, label=method)
    ax2.plot(result.x[:, 0], result.y[:, 0], label=method)
ax1.set(xlabel="iteration", ylabel="‖z‖", title=f"f = {alpha:g}xy, η = {eta}")
ax2.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), xlabel="x", ylabel="y", title="trajectories")
ax1.legend(fontsize=7, ncol=2)
plt.show()

# %% [markdown]
# ## 3. The Neumann series: "I think that you think that I think…"
#
# Write H = ηI and N = [[0, D_xy f], [D_yx g, 0]]. CGD is Δz = −(I + HN)⁻¹ H ξ with
# ξ = (∇ₓf, ∇_y g). Expanding the inverse,
#
# $$ \Delta z = -\sum_{k\ge 0} (-HN)^k H\xi . $$
#
# * k = 0 only: simultaneous GDA, each player ignores the other;
# * k ≤ 1: linearized CGD (LCGD): each player accounts for the other's *naive* move;
# * k ≤ 2: … for the other's response to its own naive move; and so on.
#
# On bilinear games LCGD coincides with extragradient. The series converges when
# η σ_max(D_xy f) < 1; CGD itself needs no such condition.

# %%
eta_small = 0.5 / np.linalg.norm(A, 2)
exact = np.r_[cgd.cgd_step(big_game, x, y, eta_small, eta_small, solver="dense")[:2]]
neumann_errors = []
for order in range(6):
    approx = np.r_[cgd.neumann_step(big_game, x, y, eta_small, eta_small, order)]
    neumann_errors.append(np.linalg.norm(approx - exact))
    print(f"order {order}: |truncated - CGD| = {neumann_errors[-1]:.2e}")
lcgd = np.r_[cgd.lcgd_step(big_game, x, y, eta_small, eta_small)]
extragradient = np.r_[cgd.extragradient_step(big_game, x, y, eta_small, eta_small)]
print("LCGD vs extragradient on a bilinear game:", np.abs(lcgd - extragradient).max())

# %% [markdown]
# The spectral radius of each method's iteration matrix on f = αxy has a closed form
# (`refimpl.cgd.spectral_radius`). Only CGD stays below 1 for every ηα:

# %%
radii = {}
for method in cgd.LINEAR_METHODS:
    radii[method] = [cgd.spectral_radius(method, a, eta) for a in (1.0, 3.0, 6.0)]
    print(f"{method:>14}: " + "  ".join(f"{r:7.3f}" for r in radii[method]))

# %% [markdown]
# ## 4. Implicit competitive regularization on x² + 10xy + y²
#
# Consider min_x max_y x² + 10xy + y². The y player *maximizes* a function that is
# convex in y, so on its own it would run away; the game is held together only by the
# strong interaction term 10xy. Simultaneous GD converges only for well-tuned, unequal
# step sizes, and diverges with ηₓ = η_y = 0.05. CGD, which lets each player anticipate
# the other, converges in both settings: this is *implicit competitive
# regularization* (ICR).

# %%
icr = QuadraticGame(2.0, 10.0, -2.0)  # f = x² + 10xy + y² (P = 2, A = 10, -Q/2 = 1)
icr_steps = 60 if QUICK else 300
icr_radii = {}
for eta_x, eta_y in ((0.09, 0.01), (0.05, 0.05)):
    for method in ("gda", "cgd"):
        rho = cgd.game_spectral_radius(method, icr, eta_x, eta_y)
        icr_radii[method, eta_x, eta_y] = rho
        result = cgd.run(icr, method, 1.0, 1.0, icr_steps, eta_x=eta_x, eta_y=eta_y)
        print(
            f"{method} eta=({eta_x}, {eta_y}): spectral radius {rho:.4f}, "
            f"|z_K|/|z_0| = {result.norm[-1] / result.norm[0]:.2e}"
        )

# %% [markdown]
# ## 5. Checking your own CGD implementation against refimpl
#
# refimpl is meant as a correctness oracle. A good sequence of checks:
#
# 1. **One step on f = αxy** equals `cgd.iteration_matrix("cgd", alpha, eta) @ z0` to a
#    few ulps times (1 + η²α²).
# 2. **Many steps**: ‖z_k‖ = ‖z₀‖ (1 + η²α²)^(−k/2) to about 1e−12 relative.
# 3. **Rectangular, rank-deficient A**: compare with `cgd.run(BilinearGame(A), "cgd", …,
#    solver="dense")`. Each singular direction contracts by `cgd_bilinear_contraction`,
#    and `cgd_bilinear_closed_form` gives z_k directly.
# 4. **Matrix-free solver with warm start**: the residual must start as b − A x₀. Start
#    your CG from the exact solution: it must stop at once.
# 5. **Costs**: `RunResult.gradient_evaluations`, `hvp_evaluations` and
#    `inner_iterations` count what the paper counts.
#
# Here is check 1 and 2 against a deliberately naive "implementation":


# %%
def my_cgd(alpha, eta, z, steps):
    """A from-scratch CGD for f = αxy, written from the update formula."""
    out = [np.array(z, dtype=float)]
    for _ in range(steps):
        x, y = out[-1]
        gx, gy = alpha * y, -alpha * x  # ∇ₓf, ∇_y g
        dx = -eta * (gx - eta * alpha * gy) / (1 + eta**2 * alpha**2)
        dy = -eta * (gy + eta * alpha * gx) / (1 + eta**2 * alpha**2)
        out.append(np.array([x + dx, y + dy]))
    return np.array(out)


mine = my_cgd(alpha, eta, (0.5, 0.5), STEPS)
oracle = results["cgd"]
error = np.abs(mine - np.c_[oracle.x, oracle.y]).max()
print(f"max deviation from refimpl over {STEPS} steps: {error:.2e}")

# %% [markdown]
# The package's own plain version is its readable core, `refimpl/cgd/core.py`: Eq. 4
# with one dense solve per player, for any game with gradients and mixed Hessians. The
# from-scratch lines above, the core and the public `cgd.run` all take the same steps
# (the public function is the core behind the contract, with faster solvers; the test
# suite holds the two together).

# %%
from refimpl.cgd import core

x_core, y_core = np.array([0.5]), np.array([0.5])
trajectory = [(0.5, 0.5)]
for _ in range(STEPS):
    x_core, y_core = core.cgd_step_dense(BilinearGame(alpha), x_core, y_core, eta, eta)
    trajectory.append((x_core[0], y_core[0]))
core_gap = np.abs(np.array(trajectory) - mine).max()
print(f"from-scratch vs core: {core_gap:.1e}")
assert core_gap < 1e-12

# %% [markdown]
# ## 6. Checking the claims of these notes
#
# Every claim above, as a check that fails loudly if refimpl (or the notes) were wrong.
# The tolerances are rounding only: each method here is a few flops per step on numbers
# of size about 1.

# %%
# §1: GDA grows ‖z‖ by exactly √(1 + η²α²) per step.
np.testing.assert_allclose(growth, np.sqrt(1 + (eta * alpha) ** 2), rtol=1e-12)
# §2: cgd_step returns the Nash equilibrium of the local game (first-order conditions).
assert max(np.abs(residual_x).max(), np.abs(residual_y).max()) < 1e-12
# §2: CGD contracts by exactly 1/√(1 + η²α²) per step.
cgd_ratio = results["cgd"].norm[-1] / results["cgd"].norm[0]
np.testing.assert_allclose(cgd_ratio, (1 + (eta * alpha) ** 2) ** (-STEPS / 2), rtol=1e-12)
# §3: the Neumann series converges to CGD (geometrically, ‖ηN‖ = 1/2 here), and LCGD
# equals extragradient on a bilinear game.
# (error_{K+1} = −HN error_K, and ‖HN‖ = η σ_max(A) = 1/2)
errors = np.array(neumann_errors)
assert np.all(errors[1:] <= 0.5 * errors[:-1] + 1e-15)
assert np.abs(lcgd - extragradient).max() < 1e-14
# §3: only CGD has spectral radius below 1 for α = 1, 3, 6 (η = 0.2).
assert all(r < 1 for r in radii["cgd"])
assert all(max(r) >= 1 for method, r in radii.items() if method != "cgd")
# §4: ICR — GDA converges only with the tuned unequal steps, CGD with both.
assert icr_radii["gda", 0.09, 0.01] < 1 < icr_radii["gda", 0.05, 0.05]
assert icr_radii["cgd", 0.09, 0.01] < 1 and icr_radii["cgd", 0.05, 0.05] < 1
# §5: the naive implementation agrees with the oracle.
assert error < 1e-12
print("all checks of these notes passed")

# %% [markdown]
# ## Exercises
#
# 1. Derive the iteration matrix of alternating GDA on f = αxy and show that its
#    determinant is 1. Why does it cycle forever for ηα < 2 and explode for ηα > 2?
#    Compare with `cgd.spectral_radius("altgda", …)`.
# 2. Show that OGDA's eigenvalues on f = αxy solve λ² − (1 − 2ηαμ)λ − ηαμ = 0 with
#    μ = ±i. For which ηα is OGDA convergent?
# 3. Run CGD with ηₓ ≠ η_y on f = αxy. Show that the contraction factor becomes
#    1/√(1 + ηₓη_y α²) and check it with `cgd.game_spectral_radius`.
# 4. On f = −(x² − y²) ConOpt converges to the origin, which is a *maximum* for the
#    minimizing player (see `figures/cgd_quadratic_games.png`). Which term of the
#    ConOpt update causes this, and why does CGD not have it?
# 5. Time `cgd.run(..., solver="cg")` against `solver="dense"` for growing n with
#    `benchmarks/cgd_bench.py`. Where is the crossover on your machine?
