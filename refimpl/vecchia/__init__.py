"""KL-minimizing sparse inverse Cholesky (Vecchia) factors of kernel matrices.

Schäfer, Katzfuss & Owhadi, "Sparse Cholesky factorization by Kullback–Leibler
minimization", SIAM J. Sci. Comput. 43(3), 2021.

Conventions: points are put in *reverse maximin order* (index 0 the finest
point); every factor ``L`` is lower triangular in that order and approximates the
inverse of the ordered kernel matrix, ``Θ[order][:, order]⁻¹ ≈ L Lᵀ``.

Modules, one idea each (derivations in ``docs/derivations/vecchia.md``)::

    core              read this first: the whole method as plain array code, no checks
    distances         Euclidean distances between point sets
    kernels           stationary covariances evaluated block by block: Matérn, Gaussian
    points            checks of point sets
    ordering          reverse (p-)maximin ordering: the definition, and the fast version
                      (lazy buffer, batches, KD-tree)
    patterns          the Pattern container; ρ-ball, m-nearest-neighbour and full patterns
    supernodes        the Supernodes container; aggregation of columns into supernodes (λ)
    batched           stacks of kernel blocks, Cholesky factors and triangular solves
    factor            the KL-optimal factor: column formula, supernodal, dense exact
    pipeline          kl_cholesky: ordering, pattern, supernodes, factor
    dense             checks and the LAPACK Cholesky of dense kernel matrices
    diagnostics       KL divergence of a factor
    gp                using a factor: log-determinant, solves, likelihood, sampling
    prediction        GP prediction from a factor of the joint kernel matrix; prediction
                      points ordered first, last or not at all

Noisy data and fitting (derivations in ``docs/derivations/vecchia_noise.md``)::

    incomplete_factorization  zero fill-in incomplete Cholesky on a pattern
    noise                     A = LLᵀ + R⁻¹, its incomplete factor, and the naive baseline
    noise_kl                  the product and Woodbury forms of the noisy covariance, the
                              true KL and the authors' expected log-likelihood score
    noisy_posterior           the posterior mean given noisy data (direct, CG, PCG)
    fitting                   maximum Vecchia likelihood estimates of kernel parameters
"""

from .diagnostics import kl_divergence, kl_divergence_from_variances
from .distances import pairwise_distances
from .factor import dense_inverse_cholesky, kl_factor, supernodal_flops, supernodal_kl_factor
from .fitting import FitResult, VecchiaLikelihood, fit_hyperparameters
from .gp import apply_covariance, log_likelihood, logdet, sample, solve
from .incomplete_factorization import incomplete_cholesky, lower_triangle_pattern
from .kernels import Gaussian, Kernel, Matern
from .noise import naive_kl_cholesky, noise_factor, noisy_kl_cholesky, noisy_precision
from .noise_kl import (
    expected_log_likelihood_error,
    noisy_covariance,
    noisy_kl_divergences,
    woodbury_kl_divergence,
    woodbury_precision,
)
from .noisy_posterior import noisy_posterior_mean
from .ordering import (
    conditional_maximin_ordering,
    maximin_ordering,
    maximin_ordering_brute_force,
)
from .patterns import Pattern, ball_pattern, full_pattern, knn_pattern
from .pipeline import kl_cholesky
from .points import check_points
from .prediction import VARIANTS, predict, predict_variant
from .supernodes import Supernodes, supernodes

__all__ = [
    "Kernel",
    "Matern",
    "Gaussian",
    "pairwise_distances",
    "maximin_ordering",
    "maximin_ordering_brute_force",
    "conditional_maximin_ordering",
    "check_points",
    "Pattern",
    "ball_pattern",
    "knn_pattern",
    "full_pattern",
    "Supernodes",
    "supernodes",
    "kl_factor",
    "supernodal_kl_factor",
    "supernodal_flops",
    "dense_inverse_cholesky",
    "kl_cholesky",
    "kl_divergence",
    "kl_divergence_from_variances",
    "logdet",
    "solve",
    "apply_covariance",
    "log_likelihood",
    "predict",
    "sample",
    "incomplete_cholesky",
    "lower_triangle_pattern",
    "noisy_precision",
    "noise_factor",
    "noisy_kl_cholesky",
    "naive_kl_cholesky",
    "noisy_posterior_mean",
    "noisy_covariance",
    "woodbury_precision",
    "expected_log_likelihood_error",
    "woodbury_kl_divergence",
    "noisy_kl_divergences",
    "predict_variant",
    "VARIANTS",
    "VecchiaLikelihood",
    "FitResult",
    "fit_hyperparameters",
]
