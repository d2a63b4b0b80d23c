"""Benchmark of noisy data in refimpl.vecchia: incomplete Cholesky against the factor, and PCG.

Setting (the paper's noise experiment): 2D uniform points, Matérn-3/2 with l = 0.5,
noise variances exp(z_i) with z_i standard normal, ρ = 3, λ = 1.5, at N = 10⁴ and 10⁵.
Prints, measured in this one run:

* the time of the noise-free factor ``kl_cholesky`` and of the zero fill-in
  incomplete Cholesky of A = L Lᵀ + R⁻¹ on the pattern of L and on the pattern of
  L Lᵀ, with the ratio IC / factor (e.g. "0.6×");
* the iterations of conjugate gradients on A x = L Lᵀ y (relative residual 1e-8),
  without and with the incomplete-Cholesky preconditioner, and their ratio.

Timings are the best of 3 runs for the incomplete factorizations (the least
disturbed on a shared machine) and single runs otherwise.

Run: ``python benchmarks/vecchia_noise_bench.py`` (about 6 CPU minutes, most of it the
unpreconditioned CG at N = 10⁵ running into its 3000-iteration cap), or ``--quick`` for
N = 2000 and 8000.
"""

import argparse
import time

import numpy as np

from refimpl.vecchia import Matern, kl_cholesky
from refimpl.vecchia.noise import noise_factor
from refimpl.vecchia.noisy_posterior import noisy_posterior_mean

KERNEL = Matern(1.5, 0.5)
RHO, LAM = 3.0, 1.5
TOL = 1e-8


def best_of(function, repeats=3):
    """(result, best time) over ``repeats`` calls."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return result, best


def iterations(L, C, noise, y, method, maxiter):
    """CG iterations to TOL, or None if not reached within ``maxiter``."""
    try:
        return noisy_posterior_mean(L, C, noise, y, method=method, tol=TOL, maxiter=maxiter)[1]
    except np.linalg.LinAlgError:
        return None


def run(n, maxiter, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2))
    noise = np.exp(rng.standard_normal(n))  # variances exp(z_i)
    y = rng.standard_normal(n)
    start = time.perf_counter()
    L, order = kl_cholesky(x, KERNEL, RHO, lam=LAM)
    t_factor = time.perf_counter() - start
    noise, y = noise[order], y[order]
    C, t_ic = best_of(lambda: noise_factor(L, noise, "factor"))
    C_product, t_product = best_of(lambda: noise_factor(L, noise, "product"))
    print(f"N = {n}: nonzeros per column L {L.nnz / n:.1f}, C on LLᵀ {C_product.nnz / n:.1f}")
    print(f"  kl_cholesky (noise-free factor)   {t_factor:8.3f} s")
    print(f"  incomplete Cholesky, pattern L    {t_ic:8.3f} s   {t_ic / t_factor:.2f}× the factor")
    print(
        f"  incomplete Cholesky, pattern LLᵀ  {t_product:8.3f} s   "
        f"{t_product / t_factor:.2f}× the factor"
    )
    plain = iterations(L, C, noise, y, "cg", maxiter)
    with_ic = iterations(L, C, noise, y, "pcg", maxiter)
    with_product = iterations(L, C_product, noise, y, "pcg", maxiter)
    shown = f"{plain}" if plain is not None else f"> {maxiter}"
    print(f"  CG iterations to rtol {TOL:g}: none {shown}, IC(L) {with_ic}, IC(LLᵀ) {with_product}")
    if plain is not None and with_ic:
        print(f"  preconditioning saves {plain / with_ic:.1f}× the iterations")
    elif with_ic:
        print(f"  preconditioning saves more than {maxiter / with_ic:.1f}× the iterations")
    return {"n": n, "factor": t_factor, "ic": t_ic, "ic_product": t_product}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    args = parser.parse_args()
    sizes = [2000, 8000] if args.quick else [10_000, 100_000]
    maxiter = 500 if args.quick else 3000
    results = [run(n, maxiter) for n in sizes]
    first, last = results[0], results[-1]
    growth = last["n"] / first["n"]
    print(
        f"N × {growth:.0f}: factor time × {last['factor'] / first['factor']:.1f}, "
        f"IC(L) time × {last['ic'] / first['ic']:.1f}, "
        f"IC(LLᵀ) time × {last['ic_product'] / first['ic_product']:.1f}"
    )


if __name__ == "__main__":
    main()
