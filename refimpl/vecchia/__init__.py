"""KL-minimizing sparse inverse Cholesky (Vecchia) factors of kernel matrices.

Schäfer, Katzfuss & Owhadi, "Sparse Cholesky factorization by Kullback–Leibler
minimization", SIAM J. Sci. Comput. 43(3), 2021.

Conventions: points are put in *reverse maximin order* (index 0 the finest
point); every factor ``L`` is lower triangular in that order and approximates the
inverse of the ordered kernel matrix, ``Θ[order][:, order]⁻¹ ≈ L Lᵀ``.

Modules, one idea each:

``kernels``     Matérn and Gaussian covariances, evaluated block by block
``ordering``    reverse (p-)maximin ordering, fast and brute force
``patterns``    ρ-ball and m-nearest-neighbour sparsity patterns
``supernodes``  aggregation of columns into supernodes (λ)
``factor``      KL-optimal factors: column-wise, supernodal, dense; ``kl_cholesky``
``gp``          using a factor: KL divergence, log-determinant, solves, likelihood,
                prediction and sampling
"""

from .factor import (
    dense_inverse_cholesky,
    kl_cholesky,
    kl_factor,
    supernodal_flops,
    supernodal_kl_factor,
)
from .gp import (
    apply_covariance,
    kl_divergence,
    kl_divergence_from_variances,
    log_likelihood,
    logdet,
    predict,
    sample,
    solve,
)
from .kernels import Gaussian, Kernel, Matern, pairwise_distances
from .ordering import (
    check_points,
    conditional_maximin_ordering,
    maximin_ordering,
    maximin_ordering_brute_force,
)
from .patterns import Pattern, ball_pattern, full_pattern, knn_pattern
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
]
