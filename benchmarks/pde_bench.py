"""Benchmark of refimpl.pde: the sparse GP PDE solver against the dense one, stage by stage.

Setting: the nonlinear elliptic problem −Δu + u³ = f on [0, 1]² with the authors' truth,
Matérn-7/2 (l = 0.3), relative nugget 1e−10, three Gauss–Newton steps, k-maximin with
k = 3, λ = 1.5. Printed, each measured in this run:

* per h: the number of measurements of Θ_big and of the Gauss–Newton system, the
  stage times of the sparse solver (ordering, patterns and supernodes, the big KL
  factor once; per Gauss–Newton step the KL factor of Θ, PCG time and iterations), the
  RMS error, and the dense solver's time and error where it fits;
* goal 1: h = 0.01 solved by the sparse solver at ρ = 2 in under 60 s with an RMS error
  near the authors' 1e−5;
* goal 2: near-linear: time(h = 0.005) / time(h = 0.01) <= 5 (4× the points);
* goal 3: sparse over dense >= 10× at h = 0.01 (about 10⁴ measurements in each
  Gauss–Newton system).

Timings depend on the machine and its load; on a shared machine run with
``OPENBLAS_NUM_THREADS=1`` (oversubscribed BLAS threads slow the many small Cholesky
factorizations of the supernodes down by an order of magnitude).

Run: ``python benchmarks/pde_bench.py`` (h down to 0.005, Θ_big of 8·10⁴ measurements,
and a dense 10⁴ × 10⁴ system: several minutes on 2 cores), or ``--quick`` (seconds).
"""

import argparse
import time

from refimpl.pde import NonlinearElliptic, solve


def run(problem, h, method, **options):
    """Solve once; return the Solution and the wall time."""
    start = time.perf_counter()
    sol = solve(problem, h, method=method, **options)
    return sol, time.perf_counter() - start


def report(h, sol, seconds):
    nb, ni = len(sol.boundary), len(sol.points)
    print(
        f"h = {h:<7g} N_big = {nb + 2 * ni:6d}, system N = {nb + ni:6d}: {seconds:7.2f} s, "
        f"RMS {sol.rms_error:.2e}, max {sol.max_error:.2e}"
    )
    if sol.timings:
        t = sol.timings
        print(
            f"    once: ordering {t['ordering']:.2f} s, patterns {t['pattern']:.2f} s, "
            f"big factor {t['factor']:.2f} s"
        )
        for step, r in enumerate(sol.history, 1):
            print(
                f"    GN step {step}: factor of Θ {r['factor_time']:.2f} s, "
                f"PCG {r['cg_time']:.2f} s ({r['cg_iterations']} iterations, "
                f"residual {r['residual']:.1e})"
            )


def goal(ratio, target, at_least):
    met = ratio >= target if at_least else ratio <= target
    sign = ">=" if at_least else "<="
    return f"{ratio:6.2f}× (goal {sign} {target:g}×: {'met' if met else 'NOT met'})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    problem = NonlinearElliptic()
    if args.quick:
        small, large, dense_h, rho_main = 1 / 16, 1 / 32, 1 / 16, 2.0
    else:
        small, large, dense_h, rho_main = 0.01, 0.005, 0.01, 2.0
    sizes = [1 / 8, small, large] if args.quick else [0.02, small, large]

    print(f"sparse solver, ρ = {rho_main:g}")
    sparse = {}
    for h in sizes:
        sol, seconds = run(problem, h, "sparse", rho=rho_main)
        sparse[h] = (sol, seconds)
        report(h, sol, seconds)
    print("sparse solver, ρ = 3")
    sol3, seconds3 = run(problem, small, "sparse", rho=3.0)
    report(small, sol3, seconds3)

    print("dense solver")
    dense = {}
    for h in sizes:
        if h < dense_h:
            continue
        sol, seconds = run(problem, h, "dense")
        dense[h] = (sol, seconds)
        report(h, sol, seconds)

    sol_small, t_small = sparse[small]
    print("goals")
    print(
        f"  1. h = {small:g}, ρ = {rho_main:g}: {t_small:.1f} s (goal < 60 s: "
        f"{'met' if t_small < 60 else 'NOT met'}), RMS {sol_small.rms_error:.1e} "
        "(the authors report about 1e-5)"
    )
    print(
        f"  2. time(h = {large:g}) / time(h = {small:g}) (4× the points): "
        + goal(sparse[large][1] / t_small, 5.0, at_least=False)
    )
    print(
        f"  3. dense / sparse at h = {dense_h:g}: "
        + goal(dense[dense_h][1] / sparse[dense_h][1], 10.0, at_least=True)
        + f"; RMS dense {dense[dense_h][0].rms_error:.1e}, sparse "
        f"{sparse[dense_h][0].rms_error:.1e}"
    )


if __name__ == "__main__":
    main()
