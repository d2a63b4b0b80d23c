"""KL-minimizing sparse inverse Cholesky (Vecchia) factors of kernel matrices.

Schäfer, Katzfuss & Owhadi, "Sparse Cholesky factorization by Kullback–Leibler
minimization", SIAM J. Sci. Comput. 43(3), 2021.

Conventions: points are put in *reverse maximin order* (index 0 the finest
point); every factor ``L`` is lower triangular in that order and approximates the
inverse of the ordered kernel matrix, ``Θ[order][:, order]⁻¹ ≈ L Lᵀ``.

Modules, one idea each (derivations in ``docs/derivations/vecchia.md``):

``distances``     Euclidean distances between point sets
``kernels``       stationary covariances evaluated block by block; the Gaussian
``matern``        the Matérn family
``points``        checks of point sets
``ordering``      reverse (p-)maximin ordering: the greedy definition, the fast version
``maximin_fast``  the fast greedy phase (lazy buffer, batches, KD-tree)
``sparsity``      the ``Pattern`` container
``supernode_set`` the ``Supernodes`` container
``patterns``      ρ-ball, m-nearest-neighbour and full sparsity patterns
``supernodes``    aggregation of columns into supernodes (λ)
``batched``       stacks of kernel blocks, Cholesky factors and triangular solves
``factor``        the KL-optimal column formula, and the dense exact factor
``supernodal``    the supernodal factor
``pipeline``      ``kl_cholesky``: ordering, pattern, supernodes, factor
``dense``         checks and the LAPACK Cholesky of dense kernel matrices
``diagnostics``   KL divergence of a factor
``gp``            using a factor: log-determinant, solves, likelihood, sampling
``prediction``    GP prediction from a factor of the joint kernel matrix
"""

from .diagnostics import kl_divergence, kl_divergence_from_variances
from .factor import dense_inverse_cholesky, kl_factor
from .gp import apply_covariance, log_likelihood, logdet, sample, solve
from .kernels import Gaussian, Kernel, pairwise_distances
from .matern import Matern
from .ordering import (
    conditional_maximin_ordering,
    maximin_ordering,
    maximin_ordering_brute_force,
)
from .patterns import ball_pattern, full_pattern, knn_pattern
from .pipeline import kl_cholesky
from .points import check_points
from .prediction import predict
from .sparsity import Pattern
from .supernodal import supernodal_flops, supernodal_kl_factor
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
