"""Benchmark of refimpl.vecchia: every goal as a ratio to a reference timed in the same run.

Setting: 2D uniform points, Matérn-3/2 with l = 0.1, ρ = 3. Printed, each measured here
(the best of 3 runs for the sparse steps, the minimum being the least disturbed by other
jobs on a shared machine):

* the stage breakdown of ``kl_cholesky`` (ordering, pattern, supernodes, factor) and the
  factor stage's time per nonzero of L, at each N;
* goal 1: ``kl_cholesky`` (λ = 1 and λ = 1.5) within 3× the time of a scipy ``cKDTree``
  build plus a 10-nearest-neighbour query of the same points;
* goal 2: near-linear, time(N_large) / time(N_small) against the ratio 18 stated for
  N = 1.6·10⁵ over 10⁴ (16× the points);
* goal 3: per stage, the share of its time in Python-level code at the largest N, sampled
  with py-spy in native mode (optional: ``pip install py-spy``), and the top innermost
  frames;
* goal 4: forming the dense Θ within a third of its LAPACK Cholesky;
* goal 5: ``kl_divergence`` within 2× of one LAPACK Cholesky of Θ.

Run: ``python benchmarks/vecchia_bench.py`` (N up to 1.6·10⁵, one run at N = 10⁶, and a
dense Θ at N = 2·10⁴, 3.2 GB; several minutes on 2 cores), or ``--quick`` for small sizes (seconds).
"""

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

import numpy as np
from scipy.spatial import cKDTree

from refimpl.vecchia import (
    Matern,
    ball_pattern,
    kl_cholesky,
    kl_divergence,
    maximin_ordering,
    supernodal_kl_factor,
    supernodes,
)
from refimpl.vecchia.dense import flipped_cholesky

KERNEL = Matern(1.5, 0.1)
RHO = 3.0
REPEATS = 3


def best_of(function, repeats=REPEATS):
    """(result, best time) over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, min(times)


def reference_time(x):
    """The yardstick: a cKDTree build and a 10-nearest-neighbour query of every point."""
    return best_of(lambda: cKDTree(x).query(x, k=10))[1]


def stages(x, lam, repeats=REPEATS):
    """Best-of times of the four steps of kl_cholesky, the whole call, and nnz(L)."""
    (order, lengths), t_order = best_of(lambda: maximin_ordering(x), repeats)
    ordered = x[order]
    pattern, t_pattern = best_of(lambda: ball_pattern(ordered, lengths, RHO), repeats)
    groups, t_super = best_of(lambda: supernodes(pattern, lengths, lam), repeats)
    L, t_factor = best_of(lambda: supernodal_kl_factor(ordered, KERNEL, groups), repeats)
    nnz = L.nnz
    pattern = groups = L = None  # free them: the peak memory stays that of one call
    _, t_whole = best_of(lambda: kl_cholesky(x, KERNEL, RHO, lam), repeats)
    return {
        "order": t_order,
        "pattern": t_pattern,
        "supernodes": t_super,
        "factor": t_factor,
        "whole": t_whole,
        "nnz": nnz,
    }


def verdict(ratio, goal):
    return f"{ratio:6.2f}× (goal <= {goal:g}×: {'met' if ratio <= goal else 'NOT met'})"


_STAGE_SCRIPT = """
import numpy as np
from refimpl.vecchia import Matern, ball_pattern, maximin_ordering, supernodal_kl_factor, supernodes
x = np.random.default_rng(1).uniform(size=({n}, 2))
order, lengths = maximin_ordering(x)
groups = supernodes(ball_pattern(x[order], lengths, {rho}), lengths, {lam})
supernodal_kl_factor(x[order], Matern(1.5, 0.1), groups)
"""
_STAGES = {
    "maximin_ordering": "order",
    "ball_pattern": "pattern",
    "supernodes": "supernodes",
    "supernodal_kl_factor": "factor",
}


def python_share_by_stage(n, lam, entries=4):
    """Per stage of kl_cholesky, the share of its samples in Python-level code.

    Sampled with py-spy (``--native``) in a child process: a sample is Python-level when
    the innermost frame is Python code or the interpreter itself (``libpython``, the
    ``python`` binary), and compiled when it is inside NumPy, SciPy, BLAS or libc.
    cProfile cannot make this split: it books the time of array operations, and of
    SciPy's KD-tree, to the Python function that calls them. Returns None when py-spy is
    not installed (it is used by this benchmark only: ``pip install py-spy``).
    """
    spy = shutil.which("py-spy")
    if spy is None:
        return None
    script = _STAGE_SCRIPT.format(n=n, rho=RHO, lam=lam)
    with tempfile.TemporaryDirectory() as folder:
        raw = os.path.join(folder, "samples.txt")
        command = [spy, "record", "--native", "-r", "250", "-f", "raw", "-o", raw]
        subprocess.run(
            command + ["--", sys.executable, "-c", script], check=True, capture_output=True
        )
        with open(raw) as file:
            lines = file.read().splitlines()
    total, python, leaves = Counter(), Counter(), Counter()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        names = [frame.split(" (")[0] for frame in frames]
        stage = next((_STAGES[name] for name in names if name in _STAGES), None)
        if stage is None:
            continue
        leaf = frames[-1]
        where = leaf[leaf.rfind("(") + 1 : -1]
        is_python = bool(re.search(r"\.py(:\d+)?$", where)) or "python3" in where
        total[stage] += int(count)
        python[stage] += int(count) * is_python
        leaves[stage, f"{leaf.split(' (')[0]} ({os.path.basename(where)})"] += int(count)
    report = {}
    for stage in _STAGES.values():
        top = sorted(((c, name) for (s, name), c in leaves.items() if s == stage), reverse=True)[
            :entries
        ]
        report[stage] = (python[stage] / max(total[stage], 1), total[stage], top)
    return report


def kernel_matrix(x, chunk=2000):
    """Θ formed in row blocks (the kernel itself blocks further to stay in cache)."""
    theta = np.empty((len(x), len(x)))
    for start in range(0, len(x), chunk):
        theta[start : start + chunk] = KERNEL(x[start : start + chunk], x)
    return theta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    sizes = [1_000, 4_000, 16_000] if args.quick else [10_000, 40_000, 160_000]
    n_dense = 2_000 if args.quick else 20_000
    n_kl = 1_500 if args.quick else 10_000
    rng = np.random.default_rng(0)
    print(f"cores: {os.cpu_count()}, kernel {KERNEL}, rho = {RHO}; best of {REPEATS}")

    print("\nkl_cholesky by stage (seconds); reference = cKDTree build + 10-NN query")
    header = f"{'N':>8} {'λ':>4} {'order':>7} {'pattern':>8} {'supern.':>8} {'factor':>7}"
    print(header + f" {'whole':>7} {'ref':>6} {'whole/ref':>9} {'nnz/N':>6} {'ns/nnz':>7}")
    results = {}
    for n in sizes:
        x = rng.uniform(size=(n, 2))
        ref = reference_time(x)
        for lam in (1.0, 1.5):
            r = stages(x, lam)
            results[n, lam] = dict(r, ref=ref)
            print(
                f"{n:>8} {lam:>4} {r['order']:7.2f} {r['pattern']:8.2f} {r['supernodes']:8.2f} "
                f"{r['factor']:7.2f} {r['whole']:7.2f} {ref:6.2f} {r['whole'] / ref:9.2f} "
                f"{r['nnz'] / n:6.1f} {1e9 * r['factor'] / r['nnz']:7.1f}",
                flush=True,
            )

    small, large = sizes[0], sizes[-1]
    print("\ngoals, as ratios measured in this run")
    for lam in (1.0, 1.5):
        r = results[large, lam]
        print(
            f"  1. kl_cholesky / (cKDTree + 10-NN), N = {large}, λ = {lam}: "
            + verdict(r["whole"] / r["ref"], 3)
        )
    growth = results[large, 1.5]["whole"] / results[small, 1.5]["whole"]
    print(
        f"  2. time(N={large}) / time(N={small}), λ = 1.5 ({large // small}× the points): "
        + verdict(growth, 18)
    )
    profiled = large
    if not args.quick:
        # The headline size of the SISC paper: one repetition, λ = 1, and the process's
        # peak memory (the dense Θ below comes later, so the peak is this call's).
        huge = 1_000_000
        x = rng.uniform(size=(huge, 2))
        ref = reference_time(x)
        r = stages(x, 1.0, repeats=1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        print(
            f"  1. kl_cholesky / (cKDTree + 10-NN), N = {huge}, λ = 1 (one run: order "
            f"{r['order']:.1f} s, pattern {r['pattern']:.1f} s, supernodes "
            f"{r['supernodes']:.1f} s, factor {r['factor']:.1f} s, whole {r['whole']:.1f} s, "
            f"reference {ref:.2f} s): " + verdict(r["whole"] / ref, 3)
        )
        print(f"     peak resident memory of the process: {peak:.2f} GiB (goal < 4 GB)")
        profiled = huge
        del x
    report = python_share_by_stage(profiled, 1.0)
    if report is None:
        print("  3. (install py-spy to measure the Python-level share of each stage)")
    else:
        worst = max(share for share, _, _ in report.values())
        print(
            f"  3. largest share of a stage's samples in Python-level code, N = {profiled}, "
            f"λ = 1: {worst:.0%} (goal <= 50%: {'met' if worst <= 0.5 else 'NOT met'})"
        )
        for name, (share, samples, top) in report.items():
            print(f"     {name}: {share:.0%} of {samples} samples; top innermost frames:")
            for count, leaf in top:
                print(f"       {count / max(samples, 1):5.1%}  {leaf}")

    x = rng.uniform(size=(n_dense, 2))
    theta, t_form = best_of(lambda: kernel_matrix(x), repeats=1)
    _, t_chol = best_of(lambda: flipped_cholesky(theta), repeats=1)  # blocked LAPACK potrf
    print(
        f"  4. forming dense Θ / its LAPACK Cholesky, N = {n_dense} "
        f"({t_form:.2f} s / {t_chol:.2f} s, {1e9 * t_form / n_dense**2:.1f} ns per entry): "
        + verdict(t_form / t_chol, 1 / 3)
    )
    del theta

    x = rng.uniform(size=(n_kl, 2))
    L, order = kl_cholesky(x, KERNEL, RHO, 1.5)
    theta = kernel_matrix(x[order])
    _, t_kl = best_of(lambda: kl_divergence(theta, L))
    _, t_chol = best_of(lambda: flipped_cholesky(theta))
    print(
        f"  5. kl_divergence / one LAPACK Cholesky of Θ, N = {n_kl} "
        f"({t_kl:.2f} s / {t_chol:.2f} s): " + verdict(t_kl / t_chol, 2)
    )
    r = results[large, 1.0]
    print(
        f"  factor stage per nonzero of L, N = {large}, λ = 1: "
        f"{1e9 * r['factor'] / r['nnz']:.1f} ns ({r['nnz']} nonzeros)"
    )


if __name__ == "__main__":
    main()
