"""Benchmark: CGD's dense solver, before and after, and matrix-free CGD against it, on f = xᵀAy.

1. The dense CGD step of a zero-sum game, n = m = 4000: the current solver (one
   Cholesky factorization of I + H_x^½ A H_y Aᵀ H_x^½, the other player by
   substitution) against the previous one, kept below as ``dense_step_before``
   (both mixed blocks formed by products with identity matrices, both players'
   systems solved by LU). Both are timed in this run; the printed ratio is
   before / after (goal: at least 3×), with the largest difference of their steps.
2. Matrix-free CGD (conjugate gradients, warm-started, tol 1e−10, averaged over
   warm-started steps after one cold step) against the dense step, with a dense A
   and with a sparse A of about 10⁶ nonzeros.

Run:

    python benchmarks/cgd_bench.py            # n = 4000 (a few minutes on 2 cores)
    python benchmarks/cgd_bench.py --quick    # n = 400, seconds
"""

import argparse
import time

import numpy as np
import scipy.sparse

from refimpl.cgd import BilinearGame, cgd_step


def dense_step_before(game, x, y, eta_x, eta_y):
    """The previous dense CGD step, kept verbatim as the reference ("before").

    It formed D_xy f = A·I and D_yx g = −Aᵀ·I by products with identity matrices,
    then both players' systems, and solved each by LU.
    """
    xp = np
    gx, gy = game.A @ y, -(game.A.T @ x)  # grad_x_f, grad_y_g of the bilinear game
    dxy = game.A @ xp.eye(game.m)  # (n, m), as game.dxy_f(x, y, eye(m)) did
    dyx = -(game.A.T @ xp.eye(game.n))  # (m, n), as game.dyx_g(x, y, eye(n)) did
    ex = eta_x * xp.ones(game.n)
    ey = eta_y * xp.ones(game.m)
    system_x = xp.eye(game.n) - ex[:, None] * (dxy @ (ey[:, None] * dyx))
    system_y = xp.eye(game.m) - ey[:, None] * (dyx @ (ex[:, None] * dxy))
    dx = -xp.linalg.solve(system_x, ex * (gx - dxy @ (ey * gy)))
    dy = -xp.linalg.solve(system_y, ey * (gy - dyx @ (ex * gx)))
    return x + dx, y + dy


def best_of(repeats, function):
    """The shortest of ``repeats`` timings of ``function()`` and its last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def compare_dense_solvers(A, eta, rng, repeats):
    n, m = A.shape
    game = BilinearGame(A)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    before, after = [], []
    for _ in range(repeats):  # interleaved, so that a change in machine load hits both
        time_before, (xb, yb) = best_of(1, lambda: dense_step_before(game, x, y, eta, eta))
        time_after, (xa, ya, _) = best_of(1, lambda: cgd_step(game, x, y, eta, eta, "dense"))
        before.append(time_before)
        after.append(time_after)
    before, after = min(before), min(after)
    difference = max(np.abs(xa - xb).max(), np.abs(ya - yb).max())
    scale = max(np.abs(xb).max(), np.abs(yb).max())
    print(
        f"dense solver, zero-sum, n=m={n}: before (identity products + 2 LU) "
        f"{before * 1e3:9.1f} ms   after (1 Cholesky + substitution) {after * 1e3:9.1f} ms   "
        f"before/after = {before / after:5.2f}x   max |diff| / max |z| = {difference / scale:.1e}"
    )


def time_matrix_free(game, x, y, eta, steps, tol):
    """Mean time and CG iterations of ``steps`` warm-started steps after one cold step."""
    x, y, info = cgd_step(game, x, y, eta, eta, solver="cg", tol=tol)  # cold: no guess yet
    guess, iterations = info.solution, []
    start = time.perf_counter()
    for _ in range(steps):
        x, y, info = cgd_step(game, x, y, eta, eta, solver="cg", tol=tol, initial_guess=guess)
        guess = info.solution
        iterations.append(info.iterations)
    return (time.perf_counter() - start) / steps, float(np.mean(iterations))


def compare_matrix_free(label, A, eta, steps, tol, rng):
    n, m = A.shape
    game = BilinearGame(A)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    per_step, iterations = time_matrix_free(game, x, y, eta, steps, tol)
    dense, (xd, yd, _) = best_of(1, lambda: cgd_step(game, x, y, eta, eta, solver="dense"))
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
    print(f"CGD step on f = x^T A y, eta = {eta}; timings are the best of 3 interleaved repeats")
    compare_dense_solvers(dense_A, eta, rng, repeats=3)
    print(
        f"matrix-free CG (tol = {tol}): the mean of {steps} warm-started steps after a cold "
        "one; the dense solve is timed once"
    )
    compare_matrix_free("dense", dense_A, eta, steps, tol, rng)
    compare_matrix_free("sparse", sparse_A, eta, steps, tol, rng)


if __name__ == "__main__":
    main()
