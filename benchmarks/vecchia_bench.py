"""Benchmark of refimpl.vecchia: sparse KL-optimal factor against the dense Cholesky.

Setting (issue 5): 2D uniform points, Matérn-3/2 with l = 0.1, ρ = 3, λ = 1.5, at
N = 10⁴, 4·10⁴ and 1.6·10⁵. Prints, measured in this one run:

* the time of the ordering, the pattern (with supernodes) and the factor at each N,
  and of the whole ``kl_cholesky``;
* the nonzeros of the factor;
* the flop count of the supernodal factorization and its GFLOP/s, against the
  GFLOP/s of the dense LAPACK Cholesky (``scipy.linalg.cholesky``, in place; above
  N = 5000 in blocks of 5000, see :func:`blocked_cholesky`) in the same run;
* the dense Cholesky at N = 10⁴ and 2·10⁴ beside the sparse factor;
* the ratios the goals are stated in: time(1.6·10⁵) ≤ 15 s and
  time(1.6·10⁵) / time(10⁴) ≤ 20, printed as "17.6×".

Sparse timings are the best of 3 runs (the minimum is the least disturbed by other
jobs on a shared machine); the median of the whole pipeline is printed beside it.
The dense runs are timed once.

Run: ``python benchmarks/vecchia_bench.py`` (about 3 minutes on 2 cores, 8 GB for the
dense 2·10⁴ matrix), or ``--quick`` for small sizes.
"""

import argparse
import os
import time

import numpy as np
import scipy.linalg

from refimpl.vecchia import (
    Matern,
    ball_pattern,
    dense_inverse_cholesky,
    kl_cholesky,
    maximin_ordering,
    supernodal_flops,
    supernodal_kl_factor,
    supernodes,
)

KERNEL = Matern(1.5, 0.1)
RHO, LAM = 3.0, 1.5


REPEATS = 3  # sparse timings: best of 3 (the median is printed for the whole pipeline)


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def best_of(function, repeats=REPEATS):
    """(result, best time, median time) over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        result, t = timed(function)
        times.append(t)
    return result, min(times), float(np.median(times))


def kernel_matrix(x, chunk=2000):
    """Θ formed in row blocks, to keep the temporaries small."""
    n = len(x)
    theta = np.empty((n, n))
    for start in range(0, n, chunk):
        theta[start : start + chunk] = KERNEL(x[start : start + chunk], x)
    return theta


def sparse_run(n, rng):
    x = rng.uniform(size=(n, 2))
    (order, lengths), t_order, _ = best_of(lambda: maximin_ordering(x))
    ordered = x[order]
    pattern, t_pattern, _ = best_of(lambda: ball_pattern(ordered, lengths, RHO))
    groups, t_super, _ = best_of(lambda: supernodes(pattern, lengths, LAM))
    L, t_factor, _ = best_of(lambda: supernodal_kl_factor(ordered, KERNEL, groups))
    _, t_whole, t_median = best_of(lambda: kl_cholesky(x, KERNEL, RHO, LAM))
    flops = supernodal_flops(groups)
    return {
        "n": n,
        "order": t_order,
        "pattern": t_pattern,
        "supernodes": t_super,
        "factor": t_factor,
        "whole": t_whole,
        "whole_median": t_median,
        "nnz": L.nnz,
        "flops": flops,
        "supernode_count": groups.count,
    }


LAPACK_BLOCK = 5_000  # OpenBLAS 0.3.31 potrf segfaulted at N = 2·10⁴ (and once at 10⁴) here


def blocked_cholesky(a, block=LAPACK_BLOCK):
    """Cholesky factor of a symmetric matrix, in place, by right-looking blocks.

    On return the lower triangle of ``a`` holds L (the strict upper triangle is stale).

    Each step is one LAPACK ``potrf`` of a diagonal block, one triangular solve and one
    symmetric update through BLAS, the same n³/3 flops as a single ``potrf``. Used for
    N > ``block`` because the bundled OpenBLAS ``potrf`` crashed (segmentation fault) at
    N = 2·10⁴ on the benchmark machine.
    """
    n = len(a)
    for k in range(0, n, block):
        e = min(k + block, n)
        a[k:e, k:e] = scipy.linalg.cholesky(a[k:e, k:e], lower=True, check_finite=False)
        if e < n:
            below = scipy.linalg.solve_triangular(
                a[k:e, k:e], a[e:, k:e].T, lower=True, check_finite=False
            ).T  # L21 = A21 L11⁻ᵀ
            a[e:, k:e] = below
            a[e:, e:] -= below @ below.T
    return a


def dense_run(n, rng, full_inverse):
    x = rng.uniform(size=(n, 2))
    # Θ of the reversed points is the flipped matrix F Θ F; factor it in place (LAPACK
    # potrf on the Fortran-ordered view) so that N = 2·10⁴ needs one 3.2 GB matrix only
    flipped, t_kernel = timed(lambda: kernel_matrix(x[::-1]))
    start = time.perf_counter()
    if n <= LAPACK_BLOCK:
        scipy.linalg.cholesky(flipped.T, lower=False, overwrite_a=True, check_finite=False)
    else:
        blocked_cholesky(flipped)
    t_chol = time.perf_counter() - start
    del flipped
    t_inverse = None
    if full_inverse:
        theta = kernel_matrix(x)
        _, t_inverse = timed(lambda: dense_inverse_cholesky(theta))
    return {"n": n, "kernel": t_kernel, "cholesky": t_chol, "inverse_factor": t_inverse}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    sparse_ns = [2_000, 8_000, 32_000] if args.quick else [10_000, 40_000, 160_000]
    dense_ns = [2_000, 4_000] if args.quick else [10_000, 20_000]
    rng = np.random.default_rng(0)
    print(f"cores: {os.cpu_count()}, kernel {KERNEL}, rho = {RHO}, lam = {LAM}")
    print(f"\nsparse KL factor (seconds, best of {REPEATS}; 'median' is the whole pipeline's)")
    print(
        f"{'N':>8} {'order':>7} {'pattern':>8} {'supern.':>8} {'factor':>7} {'whole':>7} "
        f"{'median':>7} {'nnz':>10} {'nnz/N':>6} {'GFLOP':>7} {'GFLOP/s':>8}"
    )
    sparse = []
    for n in sparse_ns:
        r = sparse_run(n, rng)
        sparse.append(r)
        print(
            f"{n:>8} {r['order']:7.2f} {r['pattern']:8.2f} {r['supernodes']:8.2f} "
            f"{r['factor']:7.2f} {r['whole']:7.2f} {r['whole_median']:7.2f} "
            f"{r['nnz']:>10} {r['nnz'] / n:6.1f} "
            f"{r['flops'] / 1e9:7.3f} {r['flops'] / r['factor'] / 1e9:8.2f}"
        )
    print("\ndense baseline (seconds)")
    print(f"{'N':>8} {'form Θ':>8} {'chol':>8} {'chol GFLOP/s':>13} {'inverse factor':>15}")
    print("  (inverse factor: dense_inverse_cholesky, chol + triangular inverse, first N only)")
    dense = []
    for k, n in enumerate(dense_ns):
        r = dense_run(n, rng, full_inverse=(k == 0))
        dense.append(r)
        inverse = (
            f"{r['inverse_factor']:15.2f}" if r["inverse_factor"] is not None else f"{'-':>15}"
        )
        print(
            f"{n:>8} {r['kernel']:8.2f} {r['cholesky']:8.2f} "
            f"{n**3 / 3 / r['cholesky'] / 1e9:13.2f} {inverse}"
        )

    print("\nside by side at the dense sizes (sparse whole kl_cholesky vs dense form Θ + chol)")
    for r in dense:
        s = sparse_run(r["n"], rng)
        dense_time = r["kernel"] + r["cholesky"]
        print(
            f"  N = {r['n']:>6}: sparse {s['whole']:6.2f} s, dense {dense_time:7.2f} s, "
            f"dense/sparse = {dense_time / s['whole']:.1f}×"
        )

    first, last = sparse[0], sparse[-1]
    dense_rate = dense[0]["n"] ** 3 / 3 / dense[0]["cholesky"] / 1e9
    sparse_rate = last["flops"] / last["factor"] / 1e9
    print("\nratios measured in this run")
    ratio = last["whole"] / first["whole"]
    ratio_median = last["whole_median"] / first["whole_median"]
    print(
        f"  time(N={last['n']}) / time(N={first['n']}) whole kl_cholesky: {ratio:.1f}× "
        f"best of {REPEATS}, {ratio_median:.1f}× median (N ratio {last['n'] / first['n']:.0f}×; "
        f"goal <= 20×: {'met' if ratio <= 20 else 'NOT met'})"
    )
    print(
        f"  whole kl_cholesky at N={last['n']}: {last['whole']:.2f} s best, "
        f"{last['whole_median']:.2f} s median (goal <= 15 s at 1.6e5)"
    )
    print(
        f"  supernodal factor GFLOP/s / dense LAPACK Cholesky GFLOP/s: "
        f"{sparse_rate:.2f} / {dense_rate:.2f} = {sparse_rate / dense_rate:.4f}×"
    )


if __name__ == "__main__":
    main()
