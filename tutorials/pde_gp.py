# %% [markdown]
# # Solving nonlinear PDEs with Gaussian processes, fast
#
# Lecture notes for `refimpl.pde`, after Chen, Hosseini, Owhadi & Stuart, *Solving and
# learning nonlinear PDEs with Gaussian processes* (J. Comput. Phys. 2021) and Chen,
# Owhadi & Schäfer, *Sparse Cholesky factorization for solving nonlinear PDEs via
# Gaussian processes* (Math. Comp. 2024).
#
# The plan: (1) collocation is conditioning a Gaussian process on *linear measurements*
# of the solution; (2) a nonlinear PDE becomes a sequence of such conditionings by
# Gauss–Newton; (3) the kernel matrices of derivative measurements are compressible
# by the KL-optimal sparse Cholesky factor of `refimpl.vecchia`, *if* the
# measurements are ordered well; (4) with that factor each Gauss–Newton step costs
# near-linear time.
#
# Run this file as a script (`python tutorials/pde_gp.py`) or open it in Jupyter with
# jupytext. `REFIMPL_QUICK=1` shrinks every size.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

from refimpl.pde import (
    CollocationSystem,
    DenseSolver,
    MeasurementKernel,
    NonlinearElliptic,
    measurement_ordering,
    multiset_maximin_ordering,
    solve,
)
from refimpl.vecchia import Matern, ball_pattern, kl_divergence, supernodal_kl_factor, supernodes

QUICK = os.environ.get("REFIMPL_QUICK") == "1"

# %% [markdown]
# ## 1. Collocation is GP conditioning
#
# Put a Gaussian process prior $u \sim \mathcal{GP}(0, k)$ on the unknown solution of
# $-u'' = f$ on $(0, 1)$, $u(0) = u(1) = 0$. Point values $\delta_x u = u(x)$ and second
# derivatives $\partial^2\delta_x u = u''(x)$ are *linear measurements* of u, so they
# are jointly Gaussian with covariances obtained by differentiating the kernel:
# $\mathrm{Cov}(\phi(u), \chi(u)) = \phi^x \chi^y k(x, y)$. Conditioning on the
# measurements $\phi = [\delta_0, \delta_1, -\partial^2\delta_{x_i}]$ taking the values
# $r = [0, 0, f(x_i)]$ gives the posterior mean
#
# $$u^\star(x) = k(x, \phi)\,\Theta^{-1} r, \qquad \Theta = k(\phi, \phi),$$
#
# the minimum-RKHS-norm function that satisfies the equation at the collocation
# points. `MeasurementKernel` evaluates $\phi^x\chi^y k$ in closed form for δ, ∂ᵢ, ∂ᵢ∂ⱼ
# and Δ, in any dimension, from the radial profile of the Matérn or Gaussian kernel.

# %%
kernel = MeasurementKernel(Matern(3.5, 0.3))
x_fine = np.linspace(0, 1, 201)[:, None]


def collocate(n):
    """GP conditioned on u(0) = u(1) = 0 and −u'' = π² sin(πx) at n − 2 interior points."""
    x = np.linspace(0, 1, n)[:, None]
    system = CollocationSystem(x[[0, -1]], x[1:-1], ("value", "d00"))
    solver = DenseSolver(kernel, system, nugget=1e-12)
    weights = np.tile([0.0, -1.0], (n - 2, 1))  # the interior measurement is −∂²δ
    f = np.pi**2 * np.sin(np.pi * x[1:-1, 0])  # so u = sin(πx)
    alpha, _ = solver.solve(weights, np.concatenate([[0.0, 0.0], f]))
    return x, f, solver, weights, alpha


linear_errors = {}
for n in (9, 17) if QUICK else (9, 17, 33):
    x, f, solver, weights, alpha = collocate(n)
    u_gp = solver.evaluate(weights, alpha, x_fine)
    linear_errors[n] = np.abs(u_gp - np.sin(np.pi * x_fine[:, 0])).max()
    print(f"{n:3d} collocation points: max error of the GP solution {linear_errors[n]:.2e}")

plt.figure(figsize=(6, 3))
plt.plot(x_fine, np.sin(np.pi * x_fine), "k-", lw=3, alpha=0.3, label="sin(πx)")
plt.plot(x_fine, u_gp, "C1-", label="GP conditioned on −u'' = f")
plt.plot(x[1:-1], np.sin(np.pi * x[1:-1]), "C0o", ms=4, label="collocation points")
plt.legend()
plt.title("collocation as GP conditioning")
plt.show()

# %% [markdown]
# The GP does not interpolate the *function values* at the collocation points (it was
# never told them); it interpolates the *measurements*: its second derivative equals f
# there, up to the pull of the nugget η, which regularizes
# $\Theta + \eta\,\mathrm{diag}(\Theta)$ and moves each measurement by
# $\eta\,\Theta_{kk}|\alpha_k|$.

# %%
state = solver.state(weights, alpha)  # [u, u''] at the interior points
missed = np.abs(-state[:, 1] - f).max()
print(f"largest miss of −u'' = f at the collocation points: {missed:.1e}")

# %% [markdown]
# ## 2. Nonlinear PDEs by Gauss–Newton
#
# For $-\Delta u + u^3 = f$ on $[0,1]^2$ the interior measurement $-\Delta\delta_x +
# (\cdot)^3\delta_x$ is not linear. Gauss–Newton linearizes it at the current iterate v,
#
# $$-\Delta u + 3v^2 u = f + 2v^3 \quad\text{at each } x_i,$$
#
# so each step conditions the GP on the linear measurements
# $\phi_i = (-\Delta + 3v(x_i)^2)\delta_{x_i}$ (and δ on the boundary). The residual of the
# new iterate is exactly $(u - v)^2(u + 2v)$: the linearization error is quadratic in
# the step, so the residual falls quadratically while the step is large.

# %%
problem = NonlinearElliptic()
h_small = 0.125 if QUICK else 0.0625
sol = solve(problem, h_small, method="dense", steps=4)
residuals = [r["pde_residual"] for r in sol.history]
for step, r in enumerate(residuals, 1):
    print(f"Gauss–Newton step {step}: RMS residual at the collocation points {r:.2e}")
print(f"RMS error against the truth: {sol.rms_error:.2e}")

# %% [markdown]
# ### The dense method from scratch
#
# Everything above fits on a page; we write it out ourselves. The prior is the Matérn-7/2
# kernel with ℓ = 0.3, $k = e^{-t}P(t)/15$, $P = 15 + 15t + 6t^2 + t^3$, $t = sr$,
# $s = \sqrt7/\ell$. The Laplacian of a radial function in the plane is
# $\Delta\varphi = \varphi'' + \varphi'/r$; for $\varphi = e^{-t}p(t)$ that is
#
# $$\Delta\varphi = s^2 e^{-t}\Big(p'' - 2p' + p + \frac{p' - p}{t}\Big),$$
#
# again $e^{-t}$ times a polynomial (the division is exact: $p'(0) = p(0)$ for these
# kernels). Applied once and twice to P it gives $\Delta_y k$ and $\Delta_x\Delta_y k$
# (the sign of $\partial_y$ drops out at even order), so the covariances of the *big list*
# $[\delta_{x_b}; \delta_{x_i}; \Delta\delta_{x_i}]$ are three matrices. The system's
# measurements are $A$ times the big list, $A = [I\ 0\ 0;\ 0\ \mathrm{diag}(3v^2)\ {-I}]$,
# so $\Theta = A\Theta_{\text{big}}A^\top$, and the new state, the values and Laplacians
# of the new iterate at the interior points, is $\Theta_{\text{big}}A^\top\alpha$.

# %%
from numpy.polynomial import Polynomial
from scipy.linalg import cho_factor, cho_solve


def radial_laplacian(p):
    """q with Δ(e^{-t} p(t)) = s² e^{-t} q(t) in the plane."""
    dp = p.deriv()
    ratio, remainder = divmod(dp - p, Polynomial([0, 1]))
    assert not remainder.coef.any()  # (p' − p)/t is a polynomial
    return dp.deriv() - 2 * dp + p + ratio


P_k = Polynomial([15, 15, 6, 1])  # 15 e^t k
P_lap = radial_laplacian(P_k)  # 15 e^t Δk / s²
P_bilap = radial_laplacian(P_lap)  # 15 e^t Δ²k / s⁴


def my_dense_gauss_newton(boundary, interior, g, f, steps, eta=1e-10, ell=0.3):
    """−Δu + u³ = f by Gauss–Newton from v = 0: v at the interior and the last step's
    Θ (with its nugget), α and Cov(δ_{x_i}, φ)."""
    s = np.sqrt(7) / ell
    nb, ni = len(boundary), len(interior)
    points = np.concatenate([boundary, interior, interior])  # where the big list acts
    t = s * np.linalg.norm(points[:, None] - points[None], axis=-1)
    e = np.exp(-t) / 15
    K, L, B = e * P_k(t), s**2 * e * P_lap(t), s**4 * e * P_bilap(t)
    is_laplacian = np.arange(len(points)) >= nb + ni
    theta_big = np.where(  # Cov(δ, δ) = k, Cov(δ, Δδ) = Δk, Cov(Δδ, Δδ) = Δ²k
        is_laplacian[:, None] & is_laplacian[None],
        B,
        np.where(is_laplacian[:, None] | is_laplacian[None], L, K),
    )
    v = np.zeros(ni)
    for _ in range(steps):
        A = np.zeros((nb + ni, nb + 2 * ni))
        A[:nb, :nb] = np.eye(nb)
        A[nb:, nb : nb + ni] = np.diag(3 * v**2)
        A[nb:, nb + ni :] = -np.eye(ni)
        theta = A @ theta_big @ A.T
        theta += eta * np.diag(np.diag(theta))  # the nugget, relative to each variance
        alpha = cho_solve(cho_factor(theta, lower=True), np.concatenate([g, f + 2 * v**3]))
        beta = theta_big @ A.T @ alpha  # the big list's values at the new iterate
        v = beta[nb : nb + ni]
    cross = (theta_big @ A.T)[nb : nb + ni]  # Cov(δ_{x_i}, φ) of the last step
    return v, theta, alpha, cross


b_core, i_core = problem.collocation(h_small)
g_core, f_core = problem.truth(b_core), problem.rhs(i_core)
v_mine, theta, alpha, cross = my_dense_gauss_newton(b_core, i_core, g_core, f_core, steps=4)

# %% [markdown]
# The package's readable core, `refimpl/pde/core.py`, is the same method written directly
# on the system's measurements (the covariance of $a_0\delta + a_1\Delta\delta$ with
# hard-coded polynomials), and `solve` is the core behind the contract, for general
# measurements and problems. How close must the three be? Each solves
# $(\Theta + \eta\,\mathrm{diag}\,\Theta)\alpha = r$ by Cholesky; the computed α solves it
# with Θ perturbed by at most $\gamma\sqrt{d_id_j}$ per entry, $\gamma = (3N + 1)\varepsilon$
# (Higham, Thm. 10.4; $d$ the diagonal), which moves the values by at most
# $\Lambda\gamma\sqrt{d_{\max}}\sum_j\sqrt{d_j}|\alpha_j|$ with
# $\Lambda = \|K_t\Theta^{-1}\|_\infty$ ($K_t$ = `cross`); forming $K_t\alpha$ adds
# $N\varepsilon\max|K_t||\alpha|$, and the Gauss–Newton steps add up (their contraction
# damps each step's difference; `tests/test_core_pde.py` derives the same bound).

# %%
from refimpl.pde import core

eps, N, root_d = np.finfo(float).eps, len(alpha), np.sqrt(np.diag(theta))
lebesgue = np.abs(np.linalg.solve(theta, cross.T)).sum(axis=0).max()
rounding = (3 * N + 1) * eps * lebesgue * root_d.max() * (root_d @ np.abs(alpha))
tolerance = 4 * (rounding + N * eps * (np.abs(cross) @ np.abs(alpha)).max())  # 4 steps

v_core, _ = core.dense_gauss_newton(b_core, i_core, g_core, f_core, steps=4)
print(f"from scratch vs core:          {np.abs(v_mine - v_core).max():.1e}")
print(f"core vs solve(method='dense'): {np.abs(v_core - sol.values).max():.1e}")
print(f"the rounding bound:            {tolerance:.1e} (Λ = {lebesgue:.2f})")
assert np.abs(v_mine - v_core).max() <= tolerance
assert np.abs(v_core - sol.values).max() <= tolerance

# %% [markdown]
# ## 3. Derivative measurements need their own ordering
#
# The sparse method factors the Gram matrix of the *big* list
# $[\delta_{\partial\Omega}; \delta_\Omega; \Delta\delta_\Omega]$ by the KL-optimal sparse
# inverse Cholesky factor. Its accuracy rests on the screening effect: conditioned on
# the coarser measurements, each measurement should only correlate with nearby ones.
# For points that is the reverse maximin order. A Laplacian at x is a much *rougher*
# functional than a Dirac at x: its conditional covariance given the Diracs around it
# at scale ℓ still lives at the scale of the grid. So the paper gives derivative
# measurements the finest scale: either right after their Dirac (same supernode,
# "follow"), or all after the Diracs at the finest length scale ("last"). We compare
# the two, and a third choice that orders the Laplacians as the *coarsest* measurements
# (with the lengths of their points), by the KL divergence of the factor and its
# nonzeros per column, at ρ = 3:

# %%
h_order = 0.125 if QUICK else 1 / 16
boundary, interior = problem.collocation(h_order)
big_system = CollocationSystem(boundary, interior, problem.basis)
kernel = MeasurementKernel(problem.kernel)
big = big_system.big_measurements()
big = big.scaled(1 / np.sqrt(kernel.variances(big)))  # unit variances: a relative nugget
order, lengths = multiset_maximin_ordering(boundary, interior, p=3)
nb, ni = len(boundary), len(interior)


def kl_for(m_order, m_lengths, rho=3.0):
    rows = big.rows()[m_order]
    groups = supernodes(ball_pattern(big.points[m_order], m_lengths, rho), m_lengths, 1.5)
    L = supernodal_kl_factor(rows, kernel, groups, nugget=1e-10)
    theta = kernel(rows) + 1e-10 * np.eye(len(rows))
    return kl_divergence(theta, L), L.nnz / len(rows)


kl = {p: kl_for(*measurement_ordering(order, lengths, nb, 2, p)) for p in ("follow", "last")}
last_order, last_lengths = measurement_ordering(order, lengths, nb, 2, "last")
laplacian_index = nb + ni + (order[:ni] - nb)  # Laplacians at the interior points, fine first
kl["Laplacians coarsest"] = kl_for(
    np.concatenate([last_order[ni:], laplacian_index]),
    np.concatenate([last_lengths[ni:], lengths[:ni]]),
)
for name, (value, nnz) in kl.items():
    print(f"ρ = 3, {name:20s}: KL {value:.3g} with {nnz:.0f} nonzeros per column")

# %% [markdown]
# "last" is the most accurate per nonzero of the paper's two placements; ordering the
# Laplacians coarsest buys its small KL on this small grid with many more nonzeros
# (their columns see every coarser measurement within ρℓ of a coarse point). The
# figure `pde_orderings` repeats the comparison over ρ, with the CG iterations.

# %% [markdown]
# ## 4. Sparse against dense
#
# The sparse solver factors $\Theta_{\text{big}}$ once, applies
# $\Theta = A\Theta_{\text{big}}A^\top$ with two sparse triangular solves (A holds the
# linearization weights), and solves each Gauss–Newton system by conjugate gradients
# preconditioned with a KL factor of Θ itself. Same answer, much less time:

# %%
hs = [1 / 8, 1 / 16] if QUICK else [1 / 16, 1 / 32, 0.025]
table = []
for h in hs:
    row = {"h": h}
    for method in ("dense", "sparse"):
        start = time.perf_counter()
        s = solve(problem, h, method=method)
        row[method] = (time.perf_counter() - start, s.rms_error)
    row["cg"] = [r["cg_iterations"] for r in s.history]
    table.append(row)
    print(
        f"h = {h:.4f}: dense {row['dense'][0]:6.2f} s (RMS {row['dense'][1]:.2e}), "
        f"sparse {row['sparse'][0]:6.2f} s (RMS {row['sparse'][1]:.2e}), CG {row['cg']}"
    )

# %% [markdown]
# ## Exercises
#
# 1. Replace the Matérn-7/2 kernel by Matérn-5/2 and by the Gaussian (`solve(...,
#    kernel=...)`). Which converges faster in h, and where does the nugget floor start?
# 2. Pass `precondition=False` to `solve`: how many CG iterations does plain CG need?
# 3. Show that with ρ = ∞ the sparse solver reproduces the dense one to O(η).
# 4. Derive the linearization of $\det D^2u = f$ and compare with
#    `refimpl.pde.MongeAmpere.linearize`.
# 5. Burgers: halve `dt` in `refimpl.pde.Burgers` and check Crank–Nicolson's second
#    order against the Cole–Hopf solution.

# %% [markdown]
# ## Checks
# Every statement above was measured; here it is asserted, so that the notes fail
# loudly if the code stops doing what they say.

# %%
assert linear_errors[17] < 0.25 * linear_errors[9], linear_errors  # collocation converges
assert missed < 1e-6 * np.abs(f).max(), missed  # measurements met up to the nugget
assert residuals[1] < 1e-2 * residuals[0] and residuals[2] < 1e-3 * residuals[1], residuals
assert kl["last"][0] < kl["follow"][0] and kl["last"][1] < kl["follow"][1], kl
assert kl["Laplacians coarsest"][1] > kl["last"][1], kl  # more nonzeros
for row in table:
    assert row["sparse"][1] < 1.5 * row["dense"][1], row  # same accuracy
if not QUICK:  # at the tiny quick sizes the dense solver is still the faster one
    assert table[-1]["sparse"][0] < table[-1]["dense"][0], table
