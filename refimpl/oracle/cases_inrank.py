r"""Golden cases of :mod:`refimpl.inrank`: gradients, mode dynamics, ranks, training.

Conventions: ``X`` is ``(n_in, n_samples)`` (columns are samples), weights
``W_l`` are ``(width_l, width_{l-1})``, the network is :math:`W_3 W_2 W_1 X` and the
loss is :math:`\tfrac{1}{2n}\|W_3W_2W_1X - Y\|_F^2`. Singular values are sorted
descending.
"""

from __future__ import annotations

import numpy as np

from refimpl.oracle.case import Case, LazyModule, Tolerance, register

inrank = LazyModule("refimpl.inrank")

EPS = np.finfo(float).eps
CONVENTIONS = (
    "X (n_in, n_samples), columns are samples; W_l (width_l, width_{l-1}); "
    "f(X) = W3 W2 W1 X; loss = ½‖f(X) − Y‖²_F / n_samples; gradients of that loss"
)


def _network_inputs():
    rng = np.random.default_rng(3)
    # orthogonal_init runs LAPACK's QR, whose last bits differ between CPUs and BLAS
    # builds; rounded to multiples of 2⁻²⁴ the inputs (and their digest) are the same
    # everywhere, and orthogonal to 1e-7 (orthogonality is not part of the cases)
    weights = [
        np.round(w * 2.0**24) / 2.0**24 for w in inrank.orthogonal_init((4, 5, 5, 3), 0.3, rng)
    ]
    return {
        "W1": weights[0],
        "W2": weights[1],
        "W3": weights[2],
        "X": rng.standard_normal((4, 20)),
        "Y": rng.standard_normal((3, 20)),
    }


def _gradients(inputs):
    loss, grads = inrank.gradients(
        [inputs["W1"], inputs["W2"], inputs["W3"]], inputs["X"], inputs["Y"]
    )
    return {"loss": np.float64(loss), "grad_W1": grads[0], "grad_W2": grads[1], "grad_W3": grads[2]}


_ROUNDING = Tolerance(
    1e-13,
    1e-12,
    "three products of sums over ≤ 20 samples and widths ≤ 5: (n + Σ widths)·ε ≈ 1e-14 relative",
)
register(
    Case(
        name="inrank.gradients",
        function="refimpl.inrank.gradients",
        description="loss and gradients of a 4→5→5→3 linear network on 20 samples",
        conventions=CONVENTIONS,
        make_inputs=_network_inputs,
        compute=_gradients,
        checks={k: _ROUNDING for k in ("loss", "grad_W1", "grad_W2", "grad_W3")},
    )
)


def _training(inputs):
    weights = [inputs["W1"], inputs["W2"], inputs["W3"]]
    result = inrank.train(
        weights, inputs["X"], inputs["Y"], float(inputs["lr"]), int(inputs["steps"])
    )
    return {"loss": np.asarray(result.loss), "end_to_end": np.asarray(result.end_to_end)}


def _training_inputs():
    made = _network_inputs()
    made.update(lr=0.05, steps=np.int64(5))
    return made


register(
    Case(
        name="inrank.train_gd",
        function="refimpl.inrank.train",
        description="five full-batch gradient-descent steps (lr = 0.05): the loss before each "
        "step and after the last (6 values), and the end-to-end matrix W3W2W1 at each record",
        conventions=CONVENTIONS + "; records at steps 0, 1, ..., steps",
        make_inputs=_training_inputs,
        compute=_training,
        checks={
            "loss": Tolerance(0.0, 1e-12, "five steps of the gradient case's rounding"),
            "end_to_end": Tolerance(1e-13, 1e-12, "five steps of the gradient case's rounding"),
        },
        kinds={"loss": "trajectory", "end_to_end": "trajectory"},
    )
)


def _mode_inputs():
    return {"s": 2.0, "u0": 1e-3, "t": np.linspace(0.0, 8.0, 17), "depth": np.int64(3), "tau": 1.0}


register(
    Case(
        name="inrank.mode_strength_depth3",
        function="refimpl.inrank.dynamics.mode_strength",
        description="end-to-end mode strength u(t) of τu̇ = L u^{2−2/L}(s − u), L = 3, "
        "s = 2, u(0) = 1e-3, at 17 times in [0, 8]",
        conventions="u = a^L is the end-to-end strength (a the per-layer scalar); τ = 1",
        make_inputs=_mode_inputs,
        compute=lambda i: {
            "u": inrank.dynamics.mode_strength(i["s"], i["u0"], i["t"], int(i["depth"]), i["tau"])
        },
        checks={
            "u": Tolerance(
                0.0,
                1e-8,
                "refimpl inverts the closed form to float64 resolution; an ODE integrator at "
                "relative tolerance 1e-9 (DOP853, RK45) reaches about 3e-9",
            )
        },
    )
)


def _rank_inputs():
    return {"s": np.array([5.0, 3.0, 1.0, 0.5, 0.1, 0.01]), "length": np.int64(8)}


def _ranks(inputs):
    s, length = inputs["s"], int(inputs["length"])
    return {
        "energy_ratio": inrank.explained_ratio(s, "energy"),
        "variance_ratio": inrank.explained_ratio(s, "variance", length=length),
        "effective_rank_energy": np.int64(inrank.effective_rank(s, 0.9, "energy")),
        "effective_rank_variance": np.int64(
            inrank.effective_rank(s, 0.9, "variance", length=length)
        ),
        "selected_rank": np.int64(
            inrank.rank.select_rank(s, 2, 2, 5, threshold=0.99, length=length)
        ),
        "selected_rank_energy": np.int64(
            inrank.rank.select_rank(s, 1, 3, 5, threshold=0.999, ratio="energy")
        ),
        "selected_rank_fallback": np.int64(
            inrank.rank.select_rank(s, 1, 1, 5, threshold=0.999, ratio="energy")
        ),
    }


EXACT = Tolerance(0.0, 0.0, "integers: exact")
register(
    Case(
        name="inrank.explained_ratio",
        function="refimpl.inrank.explained_ratio / effective_rank / rank.select_rank",
        description="explained ratios of the first k singular values (k = 0..len(s)) by energy "
        "and by the official variance ratio (s zero-padded to length 8); effective ranks at "
        "threshold 0.9; InRank's rank choice from rank 2 with buffer 2, cap 5 (variance ratio, "
        "threshold 0.99, length 8), from rank 1 with buffer 3, cap 5 (energy, 0.999), and from "
        "rank 1 with buffer 1, cap 5 (energy, 0.999: no candidate passes, the fallback)",
        conventions="singular values s descending, n = len(s), padded with zeros to N = input "
        "`length` for the variance ratio; ratios have n + 1 entries, k = 0 first. Energy: "
        "ρ_E(k) = Σ_{i≤k} s_i² / Σ_i s_i². Variance: ρ_V(k) = 1 − var(0, …, 0, s_{k+1}, …, s_N) "
        "/ var(s_1, …, s_N), the first k entries of the padded s replaced by zeros, var the "
        "population variance over all N entries. Effective rank: the smallest k with ρ(k) > "
        "threshold (n if none). Rank choice (InRank's Algorithm 1): the candidates are k in "
        "[r, top] with top = max(r, min(r + buffer, cap, n)); the new rank is the smallest "
        "candidate with ρ(k) > threshold, else top (the fallback); the variance choice uses "
        "the same padding to N",
        make_inputs=_rank_inputs,
        compute=_ranks,
        checks={
            "energy_ratio": Tolerance(1e-15, 1e-14, "a cumulative sum of six squares"),
            "variance_ratio": Tolerance(1e-15, 1e-14, "means and variances of eight numbers"),
            "effective_rank_energy": EXACT,
            "effective_rank_variance": EXACT,
            "selected_rank": EXACT,
            "selected_rank_energy": EXACT,
            "selected_rank_fallback": EXACT,
        },
    )
)


def _inrank_step_inputs():
    rng = np.random.default_rng(13)
    made = _network_inputs()
    for name, (m, n) in (("1", (5, 4)), ("2", (5, 5)), ("3", (3, 5))):
        made[f"U{name}"] = 0.1 * rng.standard_normal((m, 2))  # (m, k)
        made[f"V{name}"] = 0.1 * rng.standard_normal((n, 2))  # (n, k)
    made["lr"] = 0.05
    return made


def _inrank_step(inputs):
    network = [
        inrank.layers.LowRankUpdateLayer(
            inputs[f"W{i}"], inputs[f"U{i}"], inputs[f"V{i}"], rank=2, buffer=0
        )
        for i in (1, 2, 3)
    ]
    loss, grads = inrank.backprop.forward_backward(network, inputs["X"], inputs["Y"], "linear")
    lr = float(inputs["lr"])
    out = {"loss": np.float64(loss)}
    for i, (grad_u, grad_v) in zip((1, 2, 3), grads, strict=True):
        out[f"grad_U{i}"], out[f"grad_V{i}"] = grad_u, grad_v
        out[f"U{i}_next"] = inputs[f"U{i}"] - lr * grad_u
        out[f"V{i}_next"] = inputs[f"V{i}"] - lr * grad_v
    return out


register(
    Case(
        name="inrank.inrank_step",
        function="refimpl.inrank.layers.LowRankUpdateLayer / backprop.forward_backward",
        description="one InRank gradient step: each layer is W_l = W0_l + U_l V_lᵀ with W0 frozen "
        "and rank-2 factors trained; the loss, the factors' gradients and the factors after one "
        "gradient-descent step (lr = 0.05)",
        conventions=CONVENTIONS
        + "; the inputs W1, W2, W3 are the frozen bases W0_l (not the full weights): layer l "
        "applies W_l = W0_l + U_l V_lᵀ with the inputs U_l, V_l; ∇U = ∇W·V and ∇V = ∇Wᵀ·U; "
        "U_next = U − lr·∇U, V_next = V − lr·∇V",
        make_inputs=_inrank_step_inputs,
        compute=_inrank_step,
        checks=lambda: {name: _ROUNDING for name in _inrank_step(_inrank_step_inputs())},
    )
)
