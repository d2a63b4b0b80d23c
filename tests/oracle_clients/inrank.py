"""Three-layer linear networks, InRank's factored step, mode dynamics and rank measures
(inrank.*), written from the manifests.

Manifest fields relied on: ``conventions`` (X (n_in, n_samples), columns are samples;
W_l (width_l, width_{l-1}); f(X) = W3 W2 W1 X; loss = 1/2 |f(X) - Y|_F^2 / n_samples;
records at steps 0..steps; grad U = grad W V, grad V = grad W' U with W = W0 + U V' and W0
frozen; u = a^L, tau = 1; singular values descending, ratios with len(s) + 1 entries, k = 0
first) and ``description`` (the ODE tau u' = L u^(2 - 2/L) (s - u); energy ratio
sum_{i<=k} s_i^2 / sum s_i^2; the variance ratio with s zero-padded to `length`; effective
ranks at 0.9; the two rank choices with their start rank, buffer, cap, ratio and threshold).
docs/contract/inrank.md and docs/derivations/inrank.md (sections 2 and 6) supply the depth-3
closed form F(a), the variance ratio 1 - var(s with first k zeroed) / var(s) (population
variance), "rank = smallest k with ratio > threshold, else n" and select_rank's candidate range.
"""

import numpy as np
import scipy.optimize

CASES = ("gradients", "train_gd", "inrank_step", "mode_strength_depth3", "explained_ratio")


def loss_and_gradients(W1, W2, W3, X, Y):
    n = X.shape[1]
    h1 = W1 @ X
    h2 = W2 @ h1
    R = (W3 @ h2 - Y) / n
    loss = 0.5 * n * np.sum(R * R)
    g3 = R @ h2.T
    back2 = W3.T @ R
    g2 = back2 @ h1.T
    g1 = (W2.T @ back2) @ X.T
    return loss, [g1, g2, g3]


def time_function_depth3(a, s):
    """F(a) of docs/derivations/inrank.md section 2; t = tau (F(a) - F(a0))."""
    c = s ** (1.0 / 3.0)
    return -1.0 / (s * a) + (
        np.log(a * a + a * c + c * c)
        - 2.0 * np.log(abs(c - a))
        - 2.0 * np.sqrt(3.0) * np.arctan((2.0 * a + c) / (np.sqrt(3.0) * c))
    ) / (6.0 * s ** (4.0 / 3.0))


def mode_strength_depth3(s, u0, t, tau):
    a0, c = u0 ** (1.0 / 3.0), s ** (1.0 / 3.0)
    F0 = time_function_depth3(a0, s)
    out = []
    for ti in np.atleast_1d(t):
        if ti == 0:
            out.append(u0)
            continue

        def gap(log_a, ti=ti):
            return time_function_depth3(np.exp(log_a), s) - F0 - ti / tau

        # a lies between a0 and c (a0 < c here), and F -> +inf as a -> c: bracket below c
        lo, upper, step = np.log(a0), np.log(c), 1e-3
        while gap(upper - step) < 0:
            step *= 0.5
        hi = upper - step
        log_a = scipy.optimize.brentq(gap, lo, hi, xtol=1e-16, rtol=4 * np.finfo(float).eps)
        out.append(np.exp(log_a) ** 3)
    return np.array(out)


def energy_ratio(s):
    sq = np.asarray(s, float) ** 2
    return np.concatenate([[0.0], np.cumsum(sq)]) / np.sum(sq)


def variance_ratio(s, length=None):
    """1 - var(s padded to length, first k zeroed) / var(s padded), k = 0..len(s)."""
    s = np.asarray(s, float)
    full = np.zeros(length if length is not None else len(s))
    full[: len(s)] = s
    total = np.var(full)
    ratios = []
    for k in range(len(s) + 1):
        cut = full.copy()
        cut[:k] = 0.0
        ratios.append(1.0 - np.var(cut) / total)
    return np.array(ratios)


def rank_from_ratio(ratio, threshold):
    """Smallest k with ratio[k] > threshold, else n."""
    above = np.nonzero(ratio > threshold)[0]
    return int(above[0]) if len(above) else len(ratio) - 1


def select_rank(ratio, current, buffer, cap, threshold):
    """Smallest k in [r, min(r + b, cap, len(s))] with ratio > threshold, else the largest."""
    top = max(current, min(current + buffer, cap, len(ratio) - 1))
    for k in range(current, top + 1):
        if ratio[k] > threshold:
            return k
    return top


def compute(case_name, inputs):
    if case_name == "explained_ratio":
        s, length = inputs["s"], int(inputs["length"])
        energy = energy_ratio(s)
        variance = variance_ratio(s, length)
        return {
            "energy_ratio": energy,
            "variance_ratio": variance,
            "effective_rank_energy": np.array(rank_from_ratio(energy, 0.9), dtype=np.int64),
            "effective_rank_variance": np.array(rank_from_ratio(variance, 0.9), dtype=np.int64),
            # the parameters as the manifest's description states them
            "selected_rank": np.array(select_rank(variance, 2, 2, 5, 0.99), dtype=np.int64),
            "selected_rank_energy": np.array(select_rank(energy, 1, 3, 5, 0.999), dtype=np.int64),
            "selected_rank_fallback": np.array(select_rank(energy, 1, 1, 5, 0.999), dtype=np.int64),
        }
    if case_name == "mode_strength_depth3":
        assert int(inputs["depth"]) == 3
        u = mode_strength_depth3(
            float(inputs["s"]), float(inputs["u0"]), inputs["t"], float(inputs["tau"])
        )
        return {"u": u}
    X, Y = inputs["X"], inputs["Y"]
    W = [inputs["W1"], inputs["W2"], inputs["W3"]]
    if case_name == "gradients":
        loss, grads = loss_and_gradients(*W, X, Y)
        out = {"loss": np.array(loss)}
        out.update({f"grad_W{i + 1}": g for i, g in enumerate(grads)})
        return out
    lr = float(inputs["lr"])
    if case_name == "train_gd":
        losses, products = [], []
        for _ in range(int(inputs["steps"]) + 1):
            loss, grads = loss_and_gradients(*W, X, Y)
            losses.append(loss)
            products.append(W[2] @ W[1] @ W[0])
            W = [w - lr * g for w, g in zip(W, grads, strict=True)]
        return {"loss": np.array(losses), "end_to_end": np.array(products)}
    if case_name == "inrank_step":
        U = [inputs["U1"], inputs["U2"], inputs["U3"]]
        V = [inputs["V1"], inputs["V2"], inputs["V3"]]
        dense = [w0 + u @ v.T for w0, u, v in zip(W, U, V, strict=True)]
        loss, grads = loss_and_gradients(*dense, X, Y)
        out = {"loss": np.array(loss)}
        for i, (g, u, v) in enumerate(zip(grads, U, V, strict=True)):
            gu, gv = g @ v, g.T @ u
            out[f"grad_U{i + 1}"], out[f"grad_V{i + 1}"] = gu, gv
            out[f"U{i + 1}_next"], out[f"V{i + 1}_next"] = u - lr * gu, v - lr * gv
        return out
    raise ValueError(case_name)
