# %% [markdown]
# # Incremental low-rank learning in a three-layer linear network
#
# These notes follow Zhao, Zhang, Chen, Schäfer & Anandkumar, *InRank: Incremental
# Low-Rank Learning* (TMLR 2024), and the exact mode dynamics of Saxe, McClelland &
# Ganguli (ICLR 2014). The claim: trained by gradient descent on whitened inputs, the
# **cumulative weight updates** $W_t - W_0$ of a deep linear network learn the target's
# singular directions one at a time, largest first, even from an orthogonal
# initialization of ordinary scale. InRank exploits this by training the update as
# low-rank factors $W = W_0 + UV^\top$ whose rank grows during training.
#
# Conventions used throughout `refimpl.inrank`:
#
# * inputs `X` have shape `(n_in, n_samples)`: **columns are samples**;
# * the loss is $\mathcal L = \frac{1}{2n}\|W_3W_2W_1X - Y\|_F^2$;
# * with whitened inputs ($XX^\top/n = I$) gradient descent with learning rate $\eta$
#   has time scale $\tau = 1/\eta$: step $k$ is time $t = k$ with `tau = 1/lr`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from refimpl.inrank import (
    aligned_init,
    dynamics,
    inrank,
    inrank_efficient,
    orthogonal_init,
    teacher,
    teacher_data,
    train,
)
from refimpl.inrank.cost import cost_model
from refimpl.inrank.experiments import mlp_comparison, staircase
from refimpl.inrank.rank import explained_ratio, select_rank

QUICK = os.environ.get("REFIMPL_QUICK") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The mode ODE
#
# Let the target be $T = U\,\mathrm{diag}(s)\,V^\top$ and the inputs whitened, so that
# $\mathcal L = \tfrac12\|W_3W_2W_1 - T\|_F^2 + \text{const}$. Take the *aligned*
# initialization
#
# $$W_1 = \sigma R_2 V^\top,\quad W_2 = \sigma R_3R_2^\top,\quad W_3 = \sigma U R_3^\top$$
#
# with any orthogonal $R_2, R_3$. The gradient
# $\nabla_{W_1}\mathcal L = (W_3W_2)^\top(W_3W_2W_1 - T)$ keeps every layer diagonal in
# the same frames, so each mode $i$ is one scalar $a$ per layer, and the loss of that
# mode is $\tfrac12(a^3 - s)^2$. Its gradient with respect to one layer's scalar is
# $a^2(a^3 - s)$, hence
#
# $$\tau\,\dot a = a^2\,(s - a^3),\qquad u = a^3,\qquad
#   \tau\,\dot u = 3\,u^{4/3}(s - u).$$
#
# For $L$ weight matrices the same argument gives $\tau\dot u = L\,u^{2-2/L}(s-u)$.
# Depth 2 is the logistic equation with the explicit solution
# $u(t) = s e^{2st/\tau}/(e^{2st/\tau} - 1 + s/u_0)$. Depth 3 separates:
# $dt/\tau = da/(a^2(s - a^3))$, and partial fractions with $c = s^{1/3}$ give
#
# $$F(a) = -\frac{1}{sa} + \frac{\ln(a^2+ac+c^2) - 2\ln|c-a|
#    - 2\sqrt3\arctan\frac{2a+c}{\sqrt3\,c}}{6s^{4/3}},\qquad t = \tau[F(a) - F(a_0)].$$
#
# `dynamics.mode_strength` inverts $F$ by bisection. Let us check $F$ against a direct
# numerical integration of the ODE.

# %%
from scipy.integrate import solve_ivp

s, a0 = 2.0, 0.1
sol = solve_ivp(
    lambda t, a: a**2 * (s - a**3), (0, 60), [a0], rtol=1e-11, atol=1e-14, dense_output=True
)
t_grid = np.linspace(0, 60, 7)
u_ode = sol.sol(t_grid)[0] ** 3
u_formula = dynamics.mode_strength(s, a0**3, t_grid, depth=3)
print("ODE:        ", np.round(u_ode, 8))
print("closed form:", np.round(u_formula, 8))

# %% [markdown]
# The same closed forms, with the network, its gradients, the rank rule and the InRank
# loop, are written out plainly in the package's readable core, `refimpl/inrank/core.py`
# (start reading there). `dynamics.mode_strength` is that formula behind the contract:
# it checks its arguments, calls the core and checks the result, so for `t > 0` the two
# agree bit for bit (at `t = 0` the public function returns `u0` itself), and both agree
# with the ODE:

# %%
from refimpl.inrank import core

u_core = core.mode_strength(s, a0**3, t_grid, depth=3)
print("core:       ", np.round(u_core, 8))
assert np.abs(u_core - u_ode).max() < 1e-7 * s
assert np.array_equal(u_core[1:], u_formula[1:])  # t_grid[0] = 0

# %% [markdown]
# Two consequences. For small $a_0$ the term $-1/(sa)$ dominates, so the **learning
# time is about $\tau/(s a_0)$**: it scales like $1/s$ (modes are learned in order of
# decreasing $s$) and like the inverse init scale itself, not its logarithm as at depth 2.
# And a **null mode** ($s = 0$) decays as $a(t) = (a_0^{-4} + 4t/\tau)^{-1/4}$: slowly,
# polynomially.

# %%
s_values = np.array([4.0, 2.0, 1.0, 0.5])
tss = {}
for sigma in (1e-3, 1e-2):
    t_learn = dynamics.learning_time(s_values, sigma**3, depth=3)
    tss[sigma] = t_learn * s_values * sigma
    print(f"σ = {sigma:g}: t·s·σ =", np.round(tss[sigma], 4))
a_null = dynamics.null_mode_strength(0.5**3, np.array([0.0, 10.0, 100.0]), 3) ** (1 / 3)
print("null mode a(t):", a_null)

# %% [markdown]
# ## 2. Training the network: the closed form is exact up to O(η)
#
# Gradient descent is forward Euler on the mode ODE, so with the aligned init the
# simulated mode strengths $u_i(t) = u_i^\top W_3W_2W_1 v_i$ follow `mode_strength` up
# to an error of order $\eta$.

# %%
s_target = np.array([3.0, 1.5, 0.75])
tch = teacher(s_target, 5, 5, rng=rng)
X, Y = teacher_data(tch.target, 20, rng=rng)
sigma, lr = 0.2, 0.02
steps = 800 if QUICK else 2500
result = train(aligned_init(tch.target, sigma, rng), X, Y, lr, steps, record_every=10)
u_closed = dynamics.mode_strength(
    s_target[None, :], sigma**3, result.steps[:, None].astype(float), depth=3, tau=1 / lr
)
euler_error = np.abs(result.mode_strengths[:, :3] - u_closed).max()
print("max |u_sim − u_closed| =", euler_error)

fig, ax = plt.subplots(figsize=(6, 3.5))
for i in range(3):
    ax.plot(result.steps, result.mode_strengths[:, i], label=f"s = {s_target[i]:g}")
    ax.plot(result.steps, u_closed[:, i], "k--", lw=0.8)
ax.set_xlabel("step")
ax.set_ylabel("mode strength $u_i$")
ax.legend()
plt.show()

# %% [markdown]
# Each of those steps needs the gradients of the loss. With
# $G = (W_3W_2W_1X - Y)X^\top/n$ the chain rule gives
# $\nabla_{W_1} = (W_3W_2)^\top G$, $\nabla_{W_2} = W_3^\top G W_1^\top$ and
# $\nabla_{W_3} = G(W_2W_1)^\top$. Written out from scratch they agree with the core's
# backward pass to rounding (it multiplies in another order), and the core agrees with
# the public `refimpl.inrank.gradients` bit for bit:

# %%
from refimpl.inrank import gradients


def my_gradients(W1, W2, W3, X, Y):
    G = (W3 @ W2 @ W1 @ X - Y) @ X.T / X.shape[1]
    return [(W3 @ W2).T @ G, W3.T @ G @ W1.T, G @ (W2 @ W1).T]


W_check = orthogonal_init((5, 5, 5, 5), 0.5, rng=5)
_, public_grads = gradients(W_check, X, Y)
for mine, from_core, public in zip(
    my_gradients(*W_check, X, Y), core.gradients(W_check, X, Y), public_grads, strict=True
):
    assert np.abs(mine - from_core).max() <= 1e-13 * np.abs(from_core).max()
    assert np.array_equal(from_core, public)

# %% [markdown]
# ## 3. The staircase from a random orthogonal init
#
# The aligned init is a theorist's device. InRank's observation is that a *random*
# orthogonal init $W_l = \sigma Q_l$ behaves much the same: the singular values of the
# cumulative update $W_t - W_0$ switch on one at a time. `experiments.staircase` trains
# from three scales and returns the simulated spectrum next to the aligned closed form
# $|u_i(t) - \sigma^3|$.

# %%
out = staircase(steps=800 if QUICK else 10000, n=6 if QUICK else 8, rng=0)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
for ax, run in zip(axes, out["runs"], strict=True):
    steps_pos = np.maximum(run["steps"], 1)
    ax.plot(steps_pos, run["update_sv"], lw=1.5)
    ax.plot(steps_pos, run["closed_form_sv"], "k--", lw=0.7)
    ax.set_xscale("log")
    ax.set_title(f"σ = {run['sigma']:g}")
plt.show()
for run in out["runs"]:
    print(
        f"σ = {run['sigma']:<5g} learned at steps {run['learned_steps']}, "
        f"aligned prediction {np.round(run['predicted_learning_steps']).astype(int)}"
    )

# %% [markdown]
# ## 4. The effect of the init scale
#
# * Small $\sigma$: long plateaus, sharp steps, learning times $\approx \tau/(s\sigma)$
#   — twice as long for half the singular value. The random init lags the aligned
#   prediction (by 12–52 % at $\sigma = 0.01$ in the full run): its projection onto
#   each target mode starts below $\sigma^3$.
# * $\sigma = 1$: the steps overlap and blur. The init's own product $W_3W_2W_1(0) =
#   Q$ has to be removed in the directions where the target is zero: these **null
#   modes** decay from $\sigma^3$ toward 0 and add a bulk of singular values near
#   $\sigma^3$ to the update, so the update is no longer low rank at the end. The
#   aligned closed form no longer describes the run at all here: it plateaus at
#   $|4 - 1| = 3$ for the top mode, while the simulation reaches about 3.9.
#
# The effective rank makes this quantitative. Two definitions are in use (see
# `refimpl.inrank.rank`): the **energy** ratio $\sum_{i\le k}s_i^2/\sum_i s_i^2$
# (Eckart–Young) and the **variance** ratio $1 - \mathrm{var}(s^{(k)})/\mathrm{var}(s)$
# of InRank's code, where $s^{(k)}$ zeroes the first $k$ entries. They can disagree,
# and the variance ratio is not even monotone in $k$. The code takes the variance over
# *all* $\min(m, n)$ singular values of the matrix, zeros included (`length=` below);
# many zeros pull the mean toward 0, and the variance ratio toward the energy ratio:

# %%
spectrum = np.array([10.0, 1.0, 1.0, 1.0])
print("energy  :", np.round(explained_ratio(spectrum, "energy"), 3))
print("variance:", np.round(explained_ratio(spectrum, "variance"), 3))
steps4 = np.array([4.0, 2.0, 1.0, 0.5])
print("energy              :", np.round(explained_ratio(steps4, "energy"), 3))
print("variance, 4 values  :", np.round(explained_ratio(steps4, "variance"), 3))
print("variance, 64 values :", np.round(explained_ratio(steps4, "variance", length=64), 3))
for run in out["runs"]:
    print(
        f"σ = {run['sigma']:<5g} final effective rank: energy {run['rank_energy'][-1]}, "
        f"variance {run['rank_variance'][-1]}"
    )

# %% [markdown]
# ## 5. InRank
#
# InRank writes each weight as $W = W_0 + UV^\top$ with $W_0$ frozen and trains the
# factors. Of the preallocated columns, `rank + buffer` are active. After a warm-up,
# every `gap` steps it takes the singular values of the current $U_kV_k^\top$ and picks
# the smallest rank in $[r, \min(r + b, \text{cap})]$ whose explained ratio exceeds the
# threshold (0.9 by default), the variance ratio taken over all $\min(m, n)$ singular
# values of the $m\times n$ update as in the official code. The rank never decreases
# and never exceeds the cap ($\min(m, n)/2$ by default).

# %%
print(select_rank(np.array([5.0, 4.0, 0.1, 0.1, 0.0]), 1, 4, 10, 0.9, "energy"))

tch16 = teacher([3.0, 2.0, 1.0], 16, 16, rng=1)
X16, Y16 = teacher_data(tch16.target, 32, rng=2)
res = inrank(
    orthogonal_init((16, 16, 16, 16), 0.5, rng=3),
    X16,
    Y16,
    lr=0.05,
    steps=600 if QUICK else 1500,
    initial_rank=1,
    buffer=2,
    warmup=100,
    record_every=50,
    rng=4,
)
print("ranks per layer over training:\n", res.ranks[::4].T)
print("loss:", np.round(res.loss[::6], 5))

# %% [markdown]
# One step of InRank, from scratch: with $W = W_0 + U_kV_k^\top$ and $G = \nabla_W\mathcal L$
# the factors move by $\nabla_U = GV_k$ and $\nabla_V = G^\top U_k$ (both from the old
# factors). The core's `inrank_step` takes the same step, and the core's whole loop
# (package defaults: start rank 2, buffer 2, cap 8 at width 16) picks the same ranks as
# the public `inrank` with the same seed, with losses equal to rounding:

# %%
W16 = orthogonal_init((16, 16, 16, 16), 0.5, rng=3)
state = core.init_layers(W16, rng=4)  # V = 0: training starts exactly at W0
k = core.active(state[0])  # rank + buffer = 4 trained columns per layer
grads16 = my_gradients(*[core.dense(layer) for layer in state], X16, Y16)
mine = [
    (L["U"][:, :k] - 0.05 * G @ L["V"][:, :k], L["V"][:, :k] - 0.05 * G.T @ L["U"][:, :k])
    for L, G in zip(state, grads16, strict=True)
]
core.inrank_step(state, X16, Y16, lr=0.05, step=1)
for (U, V), layer in zip(mine, state, strict=True):  # equal to rounding
    assert np.allclose(U, layer["U"][:, :k], rtol=1e-12, atol=1e-15)
    assert np.allclose(V, layer["V"][:, :k], rtol=1e-12, atol=1e-15)

core_losses, core_ranks, _ = core.inrank(W16, X16, Y16, 0.05, 300, rng=4, warmup=100)
public = inrank(W16, X16, Y16, lr=0.05, steps=300, warmup=100, rng=4)
print("core ranks at the end:", core_ranks[-1], " public:", public.ranks[-1].tolist())
assert np.array_equal(np.array(core_ranks), public.ranks)
# The routes associate each step's products differently: within 10·steps·d·ε of the first
# loss, d = n_samples + Σ widths (the bound derived in tests/test_core_inrank.py).
d16 = X16.shape[1] + 4 * 16
assert (
    np.abs(np.array(core_losses) - public.loss).max() <= 10 * 300 * d16 * 2.3e-16 * public.loss[0]
)

# %% [markdown]
# The rule settles on ranks (1, 2, 2) with `rank + buffer` = (3, 4, 4) trained columns,
# enough for the rank-3 target. The residual loss (about 0.08) is the part of
# $W_3W_2W_1(0)$ outside the target's rank: low-rank updates cannot cancel
# $\sigma^3 Q$ in the other 13 directions (all of it would be
# $\tfrac12 \cdot 13 \cdot 0.125^2 \approx 0.10$). This is the same null-mode bulk as in
# section 4, and why InRank's rank cap and threshold matter.
#
# **Costs.** Training the factors of an $m\times n$ layer at rank $k$ costs
# $3(m+n)k$ multiply-adds per sample instead of $3mn$ (forward, weight gradient, input
# gradient) — but only if $W_0$ leaves the forward pass. In the adaptive stage it does
# not; the *efficient* variant adapts the rank for a while, truncates by SVD and then
# trains at fixed rank. Truncating the whole weight ($W_0 + UV^\top$, as the official
# code does with its $B\cdot A$) removes $W_0$; truncating only the update keeps it.

# %%
for width in (1024, 2048):
    dense = cost_model([(width, width)] * 2, batch=256)
    low = cost_model([(width, width)] * 2, batch=256, ranks=[32, 32])
    print(
        f"width {width}: parameters {dense['trainable']:>9} → {low['trainable']:>7}, "
        f"MACs per step ratio {dense['macs_step'] / low['macs_step']:.1f}"
    )

# %% [markdown]
# ### InRank on a ReLU MLP
#
# The same algorithm trains a two-layer ReLU network on a narrower ReLU teacher. In the
# full run (figure (c)) both ratios settle on ranks (7, 4) soon after the first check,
# but InRank's loss ends about five orders of magnitude above full-rank training, and
# truncating to the adapted rank costs the efficient variant a loss jump: the buffer
# directions it drops were carrying part of the fit.

# %%
cmp = mlp_comparison(
    steps=300 if QUICK else 3000,
    adapt_steps=150 if QUICK else 1000,
    warmup=50 if QUICK else 200,
    gap=10 if QUICK else 25,
)
for key in ("full", "inrank_variance", "inrank_energy", "efficient"):
    r = cmp[key]
    print(
        f"{key:16s} final loss {r.loss[-1]:.2e}, ranks {r.ranks[-1].tolist()}, "
        f"trainable {r.counts_final['trainable']}"
    )
eff = inrank_efficient(
    orthogonal_init((16, 16, 16, 16), 0.5, rng=3),
    X16,
    Y16,
    0.05,
    400,
    200,
    truncate="update",
    warmup=50,
    record_every=100,
    rng=4,
)
print("efficient variant, loss before/after truncation:", np.round(eff.truncation_loss, 5))

# %% [markdown]
# ## Exercises
#
# 1. Derive the null-mode formula $a(t) = (a_0^{-4} + 4t/\tau)^{-1/4}$ and check it with
#    `dynamics.null_mode_strength`. What is the analogue for $L$ layers?
# 2. Show that for small $a_0$ the depth-3 learning time is
#    $\tau/(s a_0)\,(1 - 0.85\,a_0/s^{1/3} + \dots)$ for the half-way point. Where does
#    the constant come from?
# 3. Run `staircase(input_spectrum=(3, 1, 1, 1, 1, 1, 1, 0.3))` (correlated inputs).
#    Which matrix's singular directions are learned now, and in which order?
# 4. Compare the energy and variance ratios on the spectra of section 3. When does
#    InRank's rank rule behave differently under the two?
# 5. Rerun figure (c)'s InRank with the variance taken over only the `rank + buffer`
#    computed singular values (`select_rank(..., length=None)`) instead of all
#    $\min(m, n)$. Why does the chosen rank climb toward the cap? (Hint: without the
#    zeros the mean is large, and Adam keeps every buffer column moving.)
# 6. Measure the step time of full-rank and fixed-rank training at width 1024 with
#    `benchmarks/inrank_bench.py`, and compare the ratio with `cost_model`.

# %% [markdown]
# ## Checks
#
# The claims of these notes, as assertions (they hold in the quick and the full run).

# %%
# §1: the closed form F agrees with the ODE integration (rtol 1e-11 there).
assert np.allclose(u_formula, u_ode, rtol=1e-7, atol=1e-10)
# §1: learning times ≈ τ/(s a0): t·s·σ = 1 − 0.850 σ/s^{1/3} + O(σ²) (derivations, §3).
for sigma, values in tss.items():
    assert np.allclose(values, 1 - 0.850 * sigma / np.cbrt(s_values), atol=2 * sigma**2)
# §1: the null mode decays like (a0⁻⁴ + 4t)^(−1/4).
assert np.allclose(a_null, (0.5**-4 + 4 * np.array([0.0, 10.0, 100.0])) ** -0.25)
# §2: gradient descent follows the closed form up to Euler's O(η) delay, bounded by
# (η/2) max f · ln(max f / f(u0)) with f(u) = 3u^{4/3}(s − u) (derivations, §5).
u_grid = np.linspace(0.2**3, s_target[0], 2001)  # the σ = 0.2 run of §2
rate = 3 * u_grid ** (4 / 3) * (s_target[0] - u_grid)
assert euler_error < 0.5 * lr * rate.max() * np.log(rate.max() / rate[0])
# §3: for σ ≤ 0.1 the largest mode is learned first, and never before the prediction.
for run in out["runs"][:2]:
    learned = run["learned_steps"]
    assert learned[0] > 0 and all(k == -1 or k > learned[0] for k in learned[1:])
    assert learned[0] >= run["predicted_learning_steps"][0] - 10
# §4: the variance ratio is not monotone, and zero padding pulls it to the energy ratio.
variance = explained_ratio(spectrum, "variance")
assert variance[2] < variance[1]
gap_4 = np.abs(explained_ratio(steps4, "variance") - explained_ratio(steps4, "energy"))
gap_64 = np.abs(explained_ratio(steps4, "variance", 64) - explained_ratio(steps4, "energy"))
assert np.all(gap_64[1:-1] < gap_4[1:-1])
# §5: InRank's rank never decreases and stays within rank + buffer of the target's 3;
# the residual is W0's product outside the target (at most ½ · 13 · 0.125² ≈ 0.10).
assert np.all(np.diff(res.ranks, axis=0) >= 0) and np.all(res.ranks[-1] <= 3)
assert res.loss[-1] < 0.5 * 13 * 0.125**2
# §5: the MAC ratio of two w × w layers at rank k is 5w / (11k) (derivations, §8).
for width in (1024, 2048):
    dense = cost_model([(width, width)] * 2, batch=256)["macs_step"]
    low = cost_model([(width, width)] * 2, batch=256, ranks=[32, 32])["macs_step"]
    assert np.isclose(dense / low, 5 * width / (11 * 32))
# §5: efficient InRank trains every layer at its adapted rank after the truncation.
assert np.all(eff.ranks[-1] == eff.active[-1]) and np.all(np.isfinite(eff.truncation_loss))
assert cmp["full"].loss[-1] < cmp["inrank_variance"].loss[-1]  # InRank ends above full rank
print("all checks passed")
