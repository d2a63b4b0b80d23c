"""Benchmark: matrix-free CGD (conjugate gradient) against the dense solve on f = xᵀAy.

For n = m = 4000, with a dense A and with a sparse A of about 10⁶ nonzeros, prints
the time per step and CG iterations per step of matrix-free CGD (warm-started,
tol 1e−10, averaged over warm-started steps after one cold step), the time of one
dense-solve CGD step, their ratio, and the largest
difference between the two steps' results. Run:

    python benchmarks/cgd_bench.py            # n = 4000 (about a minute on 2 cores)
    python benchmarks/cgd_bench.py --quick    # n = 400, seconds
"""

import argparse
import time

import numpy as np
import scipy.sparse

from refimpl.cgd import BilinearGame, cgd_step


def time_matrix_free(game, x, y, eta, steps, tol):
    """Mean time and CG iterations of ``steps`` warm-started steps after one cold step."""
    x, y, info = cgd_step(game, x, y, eta, eta, solver="cg", tol=tol)  # cold: no guess yet
    guess, iterations = info.solution, []
    start = time.perf_counter()
    for _ in range(steps):
        x, y, info = cgd_step(game, x, y, eta, eta, solver="cg", tol=tol, warm_start=guess)
        guess = info.solution
        iterations.append(info.iterations)
    return (time.perf_counter() - start) / steps, float(np.mean(iterations))


def compare(label, A, eta, steps, tol, rng):
    n, m = A.shape
    game = BilinearGame(A)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    per_step, iterations = time_matrix_free(game, x, y, eta, steps, tol)
    start = time.perf_counter()
    xd, yd, _ = cgd_step(game, x, y, eta, eta, solver="dense")
    dense = time.perf_counter() - start
    xc, yc, _ = cgd_step(game, x, y, eta, eta, solver="cg", tol=tol)
    difference = max(np.abs(xc - xd).max(), np.abs(yc - yd).max())
    nnz = A.nnz if scipy.sparse.issparse(A) else A.size
    print(
        f"{label:<7} n=m={n:<5} nnz={nnz:<9.3g} matrix-free {per_step * 1e3:9.1f} ms/step "
        f"({iterations:5.1f} CG it/step)   dense solve {dense * 1e3:9.1f} ms/step   "
        f"dense/matrix-free = {dense / per_step:7.1f}x   max |diff| = {difference:.1e}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 400 instead of 4000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = 400 if args.quick else 4000
    rng = np.random.default_rng(args.seed)
    eta, steps, tol = 1.0, 5, 1e-10
    dense_A = rng.standard_normal((n, n)) / np.sqrt(n)  # σ_max ≈ 2, so ησ_max ≈ 2
    density = min(1.0, 1e6 / n**2)
    sparse_A = scipy.sparse.random(n, n, density=density, format="csr", random_state=rng)
    sparse_A.data = rng.standard_normal(sparse_A.nnz) / np.sqrt(density * n)
    print(
        f"CGD step on f = x^T A y, eta = {eta}, CG tol = {tol}: matrix-free is the mean of "
        f"{steps} warm-started steps after a cold one; the dense solve is timed once"
    )
    compare("dense", dense_A, eta, steps, tol, rng)
    compare("sparse", sparse_A, eta, steps, tol, rng)


if __name__ == "__main__":
    main()
