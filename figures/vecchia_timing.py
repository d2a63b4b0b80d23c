"""Time against N: dense Cholesky against the sparse KL-optimal factor (log-log, slopes annotated).

2D uniform points, Matérn-3/2 with l = 0.1. Dense: forming Θ and
:func:`refimpl.vecchia.dense_inverse_cholesky` (O(N³)), up to where it fits in time
and memory. Sparse: the whole :func:`refimpl.vecchia.kl_cholesky` (ordering,
pattern, supernodes, factor) at ρ = 3, λ = 1.5 (near-linear). Timings on the
machine that generated the figure; see the JSON for the numbers.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.vecchia import Matern, dense_inverse_cholesky, kl_cholesky

TOPIC = "vecchia"
NAME = "vecchia_timing"


def best_time(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def slope(ns, ts):
    """Least-squares slope of log t against log N over the larger half of the sizes."""
    half = len(ns) // 2
    return float(np.polyfit(np.log(ns[half:]), np.log(ts[half:]), 1)[0])


def make(out_dir, quick=False):
    """Time both factorizations over a range of N, printing each step as it finishes."""
    kernel = Matern(1.5, 0.1)
    rng = np.random.default_rng(0)
    if quick:
        dense_ns, sparse_ns, repeat = [250, 500, 1000], [1000, 2000, 4000], 1
    else:
        dense_ns = [500, 1000, 2000, 4000, 8000]
        sparse_ns = [1000, 3000, 10_000, 30_000, 100_000]
        repeat = 2
    dense_ts, sparse_ts = [], []
    steps = len(dense_ns) + len(sparse_ns)
    for n in dense_ns:
        x = rng.uniform(size=(n, 2))
        dense_ts.append(best_time(lambda x=x: dense_inverse_cholesky(kernel(x, x)), repeat))
        print(
            f"  [{len(dense_ts)}/{steps}] dense Θ and inverse Cholesky, N = {n}: "
            f"{dense_ts[-1]:.2f} s (best of {repeat})",
            flush=True,
        )
    for n in sparse_ns:
        x = rng.uniform(size=(n, 2))
        sparse_ts.append(best_time(lambda x=x: kl_cholesky(x, kernel, rho=3.0, lam=1.5), repeat))
        print(
            f"  [{len(dense_ts) + len(sparse_ts)}/{steps}] kl_cholesky, N = {n}: "
            f"{sparse_ts[-1]:.2f} s (best of {repeat})",
            flush=True,
        )
    dense_slope, sparse_slope = slope(dense_ns, dense_ts), slope(sparse_ns, sparse_ts)

    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    ax.loglog(
        dense_ns, dense_ts, "o-", color="tab:red", label=f"dense Cholesky, slope {dense_slope:.2f}"
    )
    ax.loglog(
        sparse_ns,
        sparse_ts,
        "s-",
        color="tab:blue",
        label=f"kl_cholesky ρ = 3, λ = 1.5, slope {sparse_slope:.2f}",
    )
    for ns, ts, color in ((dense_ns, dense_ts, "tab:red"), (sparse_ns, sparse_ts, "tab:blue")):
        ax.annotate(
            f"{ts[-1]:.2g} s",
            (ns[-1], ts[-1]),
            textcoords="offset points",
            xytext=(5, -12),
            color=color,
            fontsize=9,
        )
    ax.set_xlabel("N (2D uniform points)")
    ax.set_ylabel("wall-clock time [s] (best of repeats)")
    ax.set_title("Matérn-3/2, l = 0.1: dense O(N³) against sparse, near-linear")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    data = {
        "dense": {"n": dense_ns, "seconds": dense_ts, "slope": dense_slope},
        "sparse": {
            "n": sparse_ns,
            "seconds": sparse_ts,
            "slope": sparse_slope,
            "rho": 3.0,
            "lam": 1.5,
        },
        "repeat": repeat,
    }
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
