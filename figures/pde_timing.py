"""Time against the number of points: dense and sparse Gauss–Newton (log-log, slopes).

The nonlinear elliptic problem (three Gauss–Newton steps, Matérn-7/2, l = 0.3). Dense:
Gram matrix and Cholesky each step, O(N³). Sparse: ordering, patterns and the big KL
factor once, then a KL factor of Θ and preconditioned CG per step (ρ = 3), near-linear.
Timings on the machine that generated the figure (this file's outputs are not
tracked); see the JSON for the numbers.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.pde import NonlinearElliptic, solve

TOPIC = "pde"
NAME = "pde_timing"


def slope(ns, ts):
    """Least-squares slope of log t against log N over the larger half of the sizes."""
    half = len(ns) // 2
    return float(np.polyfit(np.log(ns[half:]), np.log(ts[half:]), 1)[0])


def make(out_dir, quick=False):
    """Time both solvers over a range of h, printing each run."""
    problem = NonlinearElliptic()
    hs = [1 / 4, 1 / 8, 1 / 16] if quick else [0.1, 0.05, 0.04, 0.025, 0.02, 0.01, 0.005]
    dense_limit = 1 / 16 if quick else 0.02
    results = {"dense": {}, "sparse": {}}
    for h in hs:
        for method in results:
            if method == "dense" and h < dense_limit:
                continue
            start = time.perf_counter()
            sol = solve(problem, h, method=method)
            seconds = time.perf_counter() - start
            n = len(sol.points) + len(sol.boundary)
            results[method][n] = {"time": seconds, "h": h, "rms": sol.rms_error}
            print(
                f"h = {h:.4f} {method:6s} N = {n:6d}: {seconds:7.2f} s, RMS {sol.rms_error:.1e}",
                flush=True,
            )
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    slopes = {}
    for method, style in (("dense", "ks-"), ("sparse", "C1o-")):
        ns = np.array(sorted(results[method]), dtype=float)
        ts = np.array([results[method][int(n)]["time"] for n in ns])
        slopes[method] = slope(ns, ts) if len(ns) >= 2 else float("nan")
        ax.loglog(ns, ts, style, label=f"{method} (slope {slopes[method]:.2f})")
    ax.set_xlabel("number of collocation points N")
    ax.set_ylabel("seconds for three Gauss–Newton steps")
    ax.set_title("GP PDE solver: dense against sparse")
    ax.legend(loc="upper left")
    data = {"results": {m: {str(n): v for n, v in r.items()} for m, r in results.items()}}
    data["slopes"] = slopes
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
