"""Speed of InRank's low-rank training against full-rank training (run in one process).

1. Time per training step of a two-layer ReLU MLP (width → width → width, batch 256,
   Adam) at full rank and with both layers at fixed rank 32 (InRank's second stage:
   W = P Qᵀ, no W0), for widths 1024 and 2048; the steps are interleaved and the
   median of each is reported, with their ratio and the MAC-count ratio of
   ``refimpl.inrank.cost.cost_model``. The adaptive stage (W0 + U Vᵀ with rank
   32 + buffer active columns) is timed too: it still applies the dense W0 (forward
   and input gradient) and only skips the dense weight gradient, so it gains less than
   the fixed-rank stage and may fall short of the 3× goal.
2. The truncation that ends efficient InRank's adaptive stage, at the largest width:
   through the factors (``truncate="update"``: thin QRs of U and V and the SVD of the
   k × k core; ``truncate="weight"``: randomized subspace iteration on W0 + U Vᵀ) against
   the former dense SVD of every m × n weight, measured in the same run. Goal: the
   truncation within 2× of one adaptive InRank step's time times the rank ratio
   r / width (its cost should follow the rank, not the width).
3. Total wall time to reach a target loss on the MLP teacher task: full-rank Adam
   against efficient InRank (adaptive stage, truncation of the whole weight,
   fixed-rank stage).

Usage: ``python benchmarks/inrank_bench.py [--quick]``. Goals: ≥ 3× faster per step at
rank ≤ width/32; truncation ≤ 2× (step time × r / width). Timings depend on the BLAS and
on the machine's load; set ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` to the free cores.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from refimpl.inrank import full_rank_train, inrank_efficient
from refimpl.inrank.backprop import forward_backward_unchecked
from refimpl.inrank.cost import cost_model
from refimpl.inrank.efficient import truncate_layer
from refimpl.inrank.layers import DenseLayer, LowRankUpdateLayer
from refimpl.inrank.mlp import mlp_init
from refimpl.inrank.mlp_task import relu_teacher
from refimpl.inrank.optim import Adam


def _step_fn(layers, X, Y, lr=1e-3):
    opt = Adam(lr)

    def step():
        # The step of refimpl.inrank.loop: the unchecked update and apply (the public
        # methods check their arguments first, which the training loop does not repeat).
        _, grads = forward_backward_unchecked(layers, X, Y, "relu")
        opt.begin_step()
        for i, (layer, g) in enumerate(zip(layers, grads, strict=True)):
            updates = [
                opt._update((i, name), gi, shape=shape, cols=cols)
                for (name, shape, cols), gi in zip(layer.param_keys(), g, strict=True)
            ]
            layer._apply(updates)

    return step


def adapted_layers(weights, rank, buffer, rng):
    """Layers as InRank's adaptive stage leaves them: W0 + U Vᵀ with rank + buffer columns."""
    layers = []
    for w in weights:
        m, n = w.shape
        U = 1e-2 * rng.standard_normal((m, rank + buffer))
        V = 1e-2 * rng.standard_normal((n, rank + buffer))
        layers.append(LowRankUpdateLayer(w.copy(), U, V, rank=rank, buffer=buffer))
    return layers


def dense_svd_truncation(layer, truncate):
    """The former truncation, kept as the reference: a dense SVD of the m × n matrix."""
    matrix = layer.dense() if truncate == "weight" else layer.update()
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    root = np.sqrt(s[: layer.rank])
    return u[:, : layer.rank] * root, vt[: layer.rank].T * root


def truncation_timing(width, rank, buffer, batch=256, repeats=5, rng=0):
    """Seconds to truncate both layers of the MLP, against one adaptive InRank step.

    The step and the two factor truncations are timed interleaved (so that load changes
    hit all alike; medians of ``repeats``), in wall time and in CPU time of this process
    (on a shared machine a call of a few milliseconds waits for the scheduler, which
    inflates its wall time far more than a step's); the former dense-SVD truncations,
    hundreds of times slower, once each. Returns the median times, the reference
    ``step · rank / width`` and the largest difference between the products of the
    factor and the dense-SVD truncations of the update.
    """
    rng = np.random.default_rng(rng)
    weights = mlp_init(width, width, width, rng=rng)
    layers = adapted_layers(weights, rank, buffer, rng)
    X = rng.standard_normal((width, batch))
    Y = rng.standard_normal((width, batch))
    step = _step_fn(adapted_layers(weights, rank, buffer, rng), X, Y)
    step()  # warm-up
    timed = {
        "adaptive step": step,
        "update, factors": lambda: [truncate_layer(x, "update") for x in layers],
        "weight, randomized": lambda: [truncate_layer(x, "weight", rng=1) for x in layers],
    }
    times = {name: [] for name in timed}
    cpu = {name: [] for name in timed}
    for _ in range(repeats):
        for name, fn in timed.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    median = {name: float(np.median(v)) for name, v in times.items()}
    median_cpu = {name: float(np.median(v)) for name, v in cpu.items()}
    for kind in ("update", "weight"):
        t0 = time.perf_counter()
        dense = [dense_svd_truncation(x, kind) for x in layers]
        median[f"{kind}, dense SVD (before)"] = time.perf_counter() - t0
        if kind == "update":
            fast = timed["update, factors"]()
            gap = max(
                float(np.max(np.abs(a.update() - P @ Q.T)))
                for a, (P, Q) in zip(fast, dense, strict=True)
            )
    return {
        "times": median,
        "reference": median["adaptive step"] * rank / width,
        "cpu": median_cpu,
        "reference_cpu": median_cpu["adaptive step"] * rank / width,
        "gap": gap,
    }


def per_step(width, rank=32, batch=256, repeats=5, buffer=8, rng=0):
    rng = np.random.default_rng(rng)
    X = rng.standard_normal((width, batch))
    Y = rng.standard_normal((width, batch))
    W = mlp_init(width, width, width, rng=rng)

    def factors(w):
        u, s, vt = np.linalg.svd(w)
        return u[:, :rank] * np.sqrt(s[:rank]), vt[:rank].T * np.sqrt(s[:rank])

    dense = [DenseLayer(w.copy()) for w in W]
    fixed = [LowRankUpdateLayer(None, *factors(w), rank=rank) for w in W]
    adaptive = adapted_layers(W, rank, buffer, rng)
    steps = {
        "full rank": _step_fn(dense, X, Y),
        f"fixed rank {rank}": _step_fn(fixed, X, Y),
        f"adaptive (W0 + rank {rank}+{buffer})": _step_fn(adaptive, X, Y),
    }
    for fn in steps.values():  # warm-up: allocations, BLAS thread start
        fn()
    times = {name: [] for name in steps}
    for _ in range(repeats):  # interleaved, so load changes hit all variants alike
        for name, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(v)) for name, v in times.items()}
    shapes = [(width, width)] * 2
    macs_ratio = (
        cost_model(shapes, batch)["macs_step"]
        / cost_model(shapes, batch, ranks=[rank, rank])["macs_step"]
    )
    return med, macs_ratio


def time_to_target(width, target_fraction, max_steps, adapt_steps, rank_cap, rng=0):
    """Training seconds until the full-data loss first reaches the target (records every 10)."""
    task = relu_teacher(width, width, 4 * width, rng=rng, teacher_hidden=8)
    # A small W0, so that truncating the whole weight W0 + U Vᵀ (which makes the second
    # stage fast) loses little.
    weights = mlp_init(width, width, width, rng=rng + 1, scale=0.1)
    lr, batch = 1e-3, 256
    init_loss = 0.5 * float(np.sum(task.Y**2)) / task.Y.shape[1]
    target = target_fraction * init_loss
    common = {
        "activation": "relu",
        "optimizer": "adam",
        "batch_size": batch,
        "rng": 2,
        "record_every": 10,
    }
    full = full_rank_train(weights, task.X, task.Y, lr, max_steps, **common)
    eff = inrank_efficient(
        weights,
        task.X,
        task.Y,
        lr,
        max_steps,
        adapt_steps,
        truncate="weight",
        rank_cap=rank_cap,
        initial_rank=4,
        init_scale=0.1,
        warmup=50,
        gap=25,
        **common,
    )
    out = {}
    for name, res in (("full rank", full), ("efficient InRank", eff)):
        hit = np.nonzero(res.loss <= target)[0]
        first = (int(res.steps[hit[0]]), float(res.wall_time[hit[0]])) if hit.size else None
        out[name] = (first, float(res.wall_time[-1]), float(res.loss[-1]))
    return out, target, init_loss, eff


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    print(
        f"refimpl.inrank benchmark — {platform.processor() or platform.machine()}, "
        f"NumPy {np.__version__}"
    )
    widths = (256, 512) if args.quick else (1024, 2048)
    rank = 8 if args.quick else 32
    print(f"\n1. time per Adam step, two-layer ReLU MLP, batch 256, rank {rank}")
    print(f"{'width':>6} {'variant':<28} {'median s/step':>14} {'speed-up':>9} {'MAC ratio':>10}")
    buffer = 8
    for width in widths:
        med, macs_ratio = per_step(width, rank=rank, buffer=buffer, repeats=3 if args.quick else 5)
        base = med["full rank"]
        for name, value in med.items():
            extra = f"{macs_ratio:10.1f}" if name.startswith("fixed") else ""
            print(f"{width:>6} {name:<28} {value:14.4f} {base / value:8.2f}× {extra}")
    out = truncation_timing(width, rank, buffer, repeats=3 if args.quick else 5)
    times, reference = out["times"], out["reference"]
    print(
        f"\n2. truncation of both layers at width {width}, rank {rank} (+{buffer} buffer "
        f"columns); reference: one adaptive InRank step ({times['adaptive step']:.4f} s, "
        f"timed alongside) × r/width = {reference:.2e} s"
    )
    print(f"{'variant':<28} {'median s':>10} {'/ reference':>12} {'dense SVD / this':>17}")
    for name in ("update, factors", "weight, randomized"):
        before = times[f"{name.split(',')[0]}, dense SVD (before)"]
        value = times[name]
        print(f"{name:<28} {value:10.4f} {value / reference:11.2f}× {before / value:16.1f}×")
    for name in ("update, dense SVD (before)", "weight, dense SVD (before)"):
        print(f"{name:<28} {times[name]:10.4f} {times[name] / reference:11.2f}×")
    cpu, reference_cpu = out["cpu"], out["reference_cpu"]
    print(
        f"   goal ≤ 2× (step × r/width): the update through its factors takes "
        f"{times['update, factors'] / reference:.2f}× in wall time, "
        f"{cpu['update, factors'] / reference_cpu:.2f}× in CPU time; the whole weight "
        f"W0 + UVᵀ, which has no factored form, {times['weight, randomized'] / reference:.2f}×"
        f" and {cpu['weight, randomized'] / reference_cpu:.2f}× (it must read W0: at least"
        f" one product with r columns). Factor and dense-SVD truncations agree to "
        f"{out['gap']:.1e}."
    )
    width = 128 if args.quick else 512
    max_steps = 400 if args.quick else 1000
    adapt = max_steps * 3 // 10
    fraction = 1e-2 if args.quick else 1e-3
    out, target, init_loss, eff = time_to_target(
        width, fraction, max_steps, adapt_steps=adapt, rank_cap=width // 16
    )
    print(
        f"\n3. time to reach loss {target:.4g} ({fraction:.1%} of the initial {init_loss:.4g}) "
        f"on the MLP "
        f"task, width {width}, teacher rank 8, Adam lr 1e-3, batch 256, {max_steps} steps"
    )
    print(
        f"   efficient InRank: adaptive stage {adapt} steps, ranks {eff.ranks[-1].tolist()}, "
        f"loss before/after truncation {np.round(eff.truncation_loss, 4).tolist()}"
    )
    for name, (first, total, final) in out.items():
        reached = f"step {first[0]:>5}, {first[1]:7.2f} s" if first else "not reached"
        print(f"   {name:<18} {reached:<24} (all steps {total:6.2f} s, final loss {final:.4g})")
    if out["full rank"][0] and out["efficient InRank"][0]:
        ratio = out["full rank"][0][1] / out["efficient InRank"][0][1]
        print(f"   time-to-target ratio (full / efficient InRank): {ratio:.2f}")


if __name__ == "__main__":
    main()
