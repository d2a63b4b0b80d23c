"""InRank as plain array code, for a first reading (not public API).

Read it top to bottom: (a) the deep linear network's forward pass, loss and gradients;
(b) the mode dynamics behind InRank, the strength ``u(t)`` of one singular direction and
its learning time at depths 1, 2 and 3; (c) the rank rule; (d) one InRank step on
``W = W0 + U Vᵀ`` through the factors, rank check included; (e) the training loop. The
public modules (``network``, ``dynamics``, ``rank``, ``algorithm``, ``loop``) compute the
same things with input checks, overflow guards and faster paths;
``tests/test_core_inrank.py`` checks that the two agree.

Conventions: ``X`` is ``(n_in, n_samples)``, columns are samples; ``W_l`` is
``(width_l, width_{l-1})``; the loss is ``½‖W_L⋯W_1 X − Y‖²_F / n_samples``. Equation
labels: [S n] and [S §n] are Eq. (n) and Section n of Saxe, McClelland & Ganguli (ICLR 2014);
[D n] and [D §n] the same of ``docs/derivations/inrank.md``; [Z Alg. 1] is Algorithm 1 of
Zhao, Zhang, Chen, Schäfer & Anandkumar, "InRank: Incremental Low-Rank Learning" (TMLR 2024).
"""

from __future__ import annotations

import math

import numpy as np

from refimpl import backend

# ---------------------------------------------------------------- (a) the linear network


def forward(weights, X):
    """Every layer's output ``[A_0, ..., A_L]``: ``A_0 = X``, ``A_l = W_l A_{l-1}`` [S 2]."""
    acts = [X]  # A_0: (n_in, n_samples)
    for W in weights:  # W_l: (width_l, width_{l-1})
        acts.append(W @ acts[-1])  # A_l: (width_l, n_samples)
    return acts


def loss(weights, X, Y):
    """``L = ½‖W_L⋯W_1 X − Y‖²_F / n_samples`` [S 2]."""
    xp = backend.array_namespace(X)
    R = forward(weights, X)[-1] - Y  # residual: (n_out, n_samples)
    return 0.5 * float(xp.sum(R * R)) / X.shape[1]


def gradients(weights, X, Y):
    """``∇_{W_l} L = δ_l A_{l-1}ᵀ`` with ``δ_L = (A_L − Y)/n``, ``δ_{l-1} = W_lᵀ δ_l``."""
    # For three layers and G = (W3 W2 W1 X − Y) Xᵀ / n this is ∇W1 = (W3 W2)ᵀ G,
    # ∇W2 = W3ᵀ G W1ᵀ, ∇W3 = G (W2 W1)ᵀ.
    acts = forward(weights, X)
    delta = (acts[-1] - Y) / X.shape[1]  # δ_L: (n_out, n_samples)
    grads = [None] * len(weights)
    for l in reversed(range(len(weights))):
        grads[l] = delta @ acts[l].T  # (width_l, width_{l-1}); acts[l] is layer l's input
        delta = weights[l].T @ delta  # δ_{l-1}: (width_{l-1}, n_samples)
    return grads


# ---------------------------------------------------------------- (b) mode dynamics
# With whitened inputs (X Xᵀ/n = I) and an aligned init, gradient flow splits into modes,
# one per singular value s of the target; a mode's strength u = a^L (a per layer) obeys
#     τ u̇ = L u^{2 − 2/L} (s − u),   τ = 1/η (time counted in steps)       [D 1], [S §3]
# Here s > 0 (null modes, s = 0, are refimpl.inrank.dynamics.null_mode_strength) and L ≤ 3.

BISECTION_STEPS = 64  # halvings of a bracket ≤ ~1500 wide in log a: float64 resolution


def time_function_depth3(a, s):
    """``F(a)``, with ``t = τ [F(a) − F(a0)]`` at depth 3 (``τ ȧ = a²(s − a³)``) [D §2]."""
    # Partial fractions of 1/(a²(s − a³)) with c = s^{1/3}:
    # F(a) = −1/(s a) + [ln(a² + ac + c²) − 2 ln|c − a| − 2√3 arctan((2a + c)/(√3 c))] / (6 s^{4/3})
    xp = backend.array_namespace(a, s)
    c = xp.cbrt(s)
    sqrt3 = math.sqrt(3.0)
    bracket = (
        xp.log(a * a + a * c + c * c)
        - 2.0 * xp.log(xp.abs(c - a))
        - 2.0 * sqrt3 * xp.arctan((2.0 * a + c) / (sqrt3 * c))
    )
    return -1.0 / (s * a) + bracket / (6.0 * s ** (4.0 / 3.0))


def mode_strength(s, u0, t, depth, tau=1.0):
    """Strength ``u(t)`` of a mode with target ``s > 0`` from ``u(0) = u0``, depth 1, 2 or 3."""
    xp = backend.array_namespace(s, u0, t)  # s, u0, t broadcast together
    if depth == 1:  # τ u̇ = s − u
        return s + (u0 - s) * xp.exp(-t / tau)
    if depth == 2:  # logistic [S 6]: u = s e^{2st/τ} / (e^{2st/τ} − 1 + s/u0), divided through
        # by e^{2st/τ}, and s, u0 by m = max(s, u0) so that s·u0 cannot overflow or underflow
        m = xp.maximum(s, u0)
        s_, u0_ = s / m, u0 / m
        decay = xp.exp(-2.0 * s * (t / tau))
        return m * (s_ * u0_) / (u0_ + (s_ - u0_) * decay)
    # Depth 3: a = u^{1/3} solves F(a) = F(a0) + t/τ. F increases on (0, c) and decreases on
    # (c, ∞), c = s^{1/3}, so a(t) lies between a0 and c: bisect there, in log a.
    a0, c = xp.cbrt(u0), xp.cbrt(s)
    target = time_function_depth3(a0, s) + t / tau
    lo, hi = xp.log(xp.minimum(a0, c)), xp.log(xp.maximum(a0, c))
    increasing = a0 < c  # the mode grows toward s
    with np.errstate(divide="ignore"):  # F(c) = +∞: s is reached only asymptotically
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            # Reaching e^mid takes longer than t: a(t) lies on a0's side of mid.
            go_low = (time_function_depth3(xp.exp(mid), s) >= target) == increasing
            hi = xp.where(go_low, mid, hi)
            lo = xp.where(go_low, lo, mid)
    return xp.exp(1.5 * (lo + hi))  # a³ at the bracket's midpoint


def mode_time(s, u0, u1, depth, tau=1.0):
    """Time from ``u0`` to ``u1`` (between ``u0`` and ``s``): ``τ ∫ du / (L u^{2−2/L}(s − u))``."""
    # The learning time is mode_time(s, u0, s/2, depth); for small a0 = u0^{1/3} at depth 3
    # it is about τ/(s a0) [D 2]: larger singular values are learned first.
    xp = backend.array_namespace(s, u0, u1)
    if depth == 1:
        return tau * xp.log((s - u0) / (s - u1))
    if depth == 2:  # [S 6] solved for t
        return tau / (2.0 * s) * xp.log(u1 * (s - u0) / (u0 * (s - u1)))
    return tau * (time_function_depth3(xp.cbrt(u1), s) - time_function_depth3(xp.cbrt(u0), s))


# ---------------------------------------------------------------- (c) the rank rule


def variance_ratio(s, length):
    """Explained ratio ``ρ(k) = 1 − var(s, first k set to 0) / var(s)``, ``k = 0..n`` [D §6]."""
    # s: (n,) singular values, descending, of a matrix with `length` = N ≥ n singular values
    # (the rest are 0 and count in the variance, as in the official code). InRank's default;
    # the other kind, energy, is ρ(k) = Σ_{i≤k} s_i² / Σ_i s_i².
    xp = backend.array_namespace(s)
    n = s.shape[0]
    if float(s[0]) == 0.0:  # s = 0 (V = 0 before the first step): nothing is unexplained
        return xp.ones(n + 1, dtype=s.dtype)
    padded = xp.concatenate([s, xp.zeros(length - n, dtype=s.dtype)])  # (N,)
    cut = xp.arange(length)[None, :] < xp.arange(n + 1)[:, None]  # (n + 1, N): row k cuts k
    var = xp.var(xp.where(cut, 0.0, padded[None, :]), axis=1)  # (n + 1,); row 0 is var(s)
    return 1.0 - var / var[0]


def select_rank(s, rank, buffer, cap, threshold, length):
    """``r ← min{k ∈ [r, min(r + b, cap)] : ρ(k) > threshold}``, else the top [Z Alg. 1]."""
    # s: the k = rank + buffer singular values of the trained U_k V_kᵀ; the rank never
    # decreases and never exceeds the cap.
    rho = variance_ratio(s, length)  # (len(s) + 1,)
    top = max(rank, min(rank + buffer, cap, s.shape[0]))
    for k in range(rank, top + 1):
        if float(rho[k]) > threshold:
            return k
    return top


# ---------------------------------------------------------------- (d) one InRank step


def init_layers(weights, rng, init_scale=1e-2):
    """InRank's state per frozen ``W0``: ``W = W0 + U_k V_kᵀ`` with ``k = rank + buffer``."""
    # The package's defaults: cap = min(m, n)//2, buffer b = min(100, max(1, cap//4)), start
    # rank min(2, cap). All min(cap + b, min(m, n)) columns are allocated now: U random (on the
    # host, layer by layer, as the package draws it), V = 0. So training starts exactly at W0,
    # and a column activated later enters with V = 0 (W unchanged) and its untrained U.
    rng = np.random.default_rng(rng)
    layers = []
    for W0 in weights:
        m, n = W0.shape
        cap = max(1, min(m, n) // 2)
        buffer = min(100, max(1, cap // 4))
        allocated = min(cap + buffer, min(m, n))
        U = backend.asarray(init_scale * rng.standard_normal((m, allocated)), like=W0)
        V = backend.array_namespace(W0).zeros((n, allocated), dtype=W0.dtype)
        layers.append({"W0": W0, "U": U, "V": V, "rank": min(2, cap), "buffer": buffer, "cap": cap})
    return layers


def active(layer):
    """Trained columns ``k = min(rank + buffer, allocated)``."""
    return min(layer["rank"] + layer["buffer"], layer["U"].shape[1])


def dense(layer):
    """``W = W0 + U_k V_kᵀ``, shape ``(m, n)``."""
    k = active(layer)
    return layer["W0"] + layer["U"][:, :k] @ layer["V"][:, :k].T


def inrank_step(layers, X, Y, lr, step, threshold=0.9, warmup=200, gap=25):
    """Step number ``step`` (1, 2, ...) of InRank [Z Alg. 1]: a due rank check, then GD."""
    xp = backend.array_namespace(X)
    # Rank check after the warm-up, every `gap` steps, for the layers below their cap.
    if step > warmup and step % gap == 0:
        for layer in layers:
            if layer["rank"] < layer["cap"]:
                k = active(layer)
                update = layer["U"][:, :k] @ layer["V"][:, :k].T  # (m, n), rank ≤ k
                # (the package gets these k values from two thin QRs, in O((m + n) k²))
                s = xp.linalg.svd(update, compute_uv=False)[:k]  # (k,)
                N = min(layer["W0"].shape)  # singular values of the update, zeros included
                layer["rank"] = select_rank(
                    s, layer["rank"], layer["buffer"], layer["cap"], threshold, N
                )
    # W = W0 + U Vᵀ, so by the chain rule ∇_U = G V and ∇_V = Gᵀ U with G = ∇_W L.
    grads = gradients([dense(layer) for layer in layers], X, Y)  # G_l: (m, n)
    for layer, G in zip(layers, grads, strict=True):
        k = active(layer)
        U, V = layer["U"][:, :k], layer["V"][:, :k]  # (m, k), (n, k)
        grad_U, grad_V = G @ V, G.T @ U  # (m, k), (n, k), both from the old factors
        layer["U"][:, :k] = U - lr * grad_U
        layer["V"][:, :k] = V - lr * grad_V


# ---------------------------------------------------------------- (e) the training loop


def inrank(weights, X, Y, lr, steps, rng, threshold=0.9, warmup=200, gap=25, init_scale=1e-2):
    """Plain GD on ``W0 + U Vᵀ`` for ``steps`` steps [Z Alg. 1]: losses, ranks, layers."""
    # losses[j] and ranks[j] are the loss and the layers' ranks at step j = 0..steps.
    layers = init_layers(weights, rng, init_scale)
    losses, ranks = [], []
    for step in range(steps + 1):
        losses.append(loss([dense(layer) for layer in layers], X, Y))
        ranks.append([layer["rank"] for layer in layers])
        if step < steps:
            inrank_step(layers, X, Y, lr, step + 1, threshold, warmup, gap)
    return losses, ranks, layers
