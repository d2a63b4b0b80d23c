"""Contract specs for the noisy-data, prediction-variant and fitting functions of
``refimpl.vecchia`` (modules ``incomplete_factorization``, ``noise``, ``noise_kl``,
``noisy_posterior``, ``prediction``, ``fitting``).

The specs call each module's function directly, named as it will be exported from
``refimpl.vecchia``. Valid calls are tiny (a dozen points).
"""

import numpy as np
import scipy.sparse as sp
from contract import Spec

from refimpl import vecchia
from refimpl.vecchia import (
    fitting,
    incomplete_factorization,
    noise,
    noise_kl,
    noisy_posterior,
    prediction,
)

POINTS = np.random.default_rng(0).uniform(size=(12, 2))
NOISE = np.exp(np.random.default_rng(2).standard_normal(12)) * 0.1
Y = np.random.default_rng(3).standard_normal(12)
KERNEL = vecchia.Matern(1.5, 0.3)
FACTOR, ORDER = vecchia.kl_cholesky(POINTS, KERNEL, 2.0)
ORDERED = POINTS[ORDER]
THETA = KERNEL(ORDERED, ORDERED)
NOISE_ORDERED = NOISE[ORDER]
PRECISION = noise.noisy_precision(FACTOR, NOISE_ORDERED)
C_FACTOR = noise.noise_factor(FACTOR, NOISE_ORDERED)
PATTERN = incomplete_factorization.lower_triangle_pattern(FACTOR)
NEW_POINTS = np.random.default_rng(1).uniform(size=(3, 2))


def unchecked_pattern(indptr, indices):
    """A Pattern built around its own validation (column 0 lacks its diagonal here)."""
    pattern = object.__new__(vecchia.Pattern)
    object.__setattr__(pattern, "indptr", np.asarray(indptr))
    object.__setattr__(pattern, "indices", np.asarray(indices))
    return pattern


NO_DIAGONAL = unchecked_pattern([0, 1, 2], [1, 1])


def nan_kernel(X, Y):
    """Returns NaN blocks of the right shape."""
    return np.full(X.shape[:-1] + (Y.shape[-2],), np.nan)


def wrong_shape_kernel(X, Y):
    """Returns one column too many."""
    return np.ones(X.shape[:-1] + (Y.shape[-2] + 1,))


def indefinite_kernel(X, Y):
    """Symmetric but indefinite: every entry is 2, the diagonal 1."""
    return 2.0 - (vecchia.pairwise_distances(X, Y) == 0.0)


def complex_kernel(X, Y):
    """Returns complex blocks (a real part that would factor, plus 1j)."""
    return KERNEL(X, Y) + 1j


def two_d_only_kernel(X, Y):
    """Accepts (n, d) arrays only, no batch axes."""
    return np.exp(-np.linalg.norm(X[:, None] - Y[None], axis=-1))


def type_error_kernel(X, Y):
    """Raises an error of the wrong type."""
    raise TypeError("unsupported operand")


BAD_KERNELS = [
    ("kernel", nan_kernel),
    ("kernel", wrong_shape_kernel),
    ("kernel", indefinite_kernel),
    ("kernel", complex_kernel),
    ("kernel", two_d_only_kernel),
    ("kernel", type_error_kernel),
    ("kernel", np.exp),
    ("kernel", "matern"),
]
# symmetric to rounding is fine, an asymmetric theta is no kernel matrix
ASYMMETRIC_THETA = ("theta", THETA + np.triu(np.ones_like(THETA), 1))
# legitimately valid variants of the harness's mutations: a factor scaled by 1e±300 is
# still a factor; a scalar noise variance means the same for every point; rho = inf is
# the exact factor; None selects the documented default
SCALED = {"dense huge", "dense tiny"}
FACTOR_ACCEPTS = {"L": SCALED, "C": SCALED, "noise": {"0-d"}}


def _factors_spec(name, function, **extra_valid):
    extra = [("noise", -NOISE_ORDERED), ("C", sp.csc_matrix(np.triu(np.ones((12, 12)))))]
    return Spec(
        name,
        function,
        lambda: {"L": FACTOR, "C": C_FACTOR, "noise": NOISE_ORDERED, **extra_valid},
        extra=extra + ([ASYMMETRIC_THETA] if "theta" in extra_valid else []),
        accepts=FACTOR_ACCEPTS,
    )


SPECS = [
    Spec(
        "vecchia.incomplete_cholesky",
        incomplete_factorization.incomplete_cholesky,
        lambda: {"A": PRECISION, "pattern": PATTERN},
        extra=[
            ("pattern", NO_DIAGONAL),
            ("pattern", vecchia.full_pattern(3)),
            ("A", sp.csc_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]))),
        ],
        accepts={"A": SCALED, "pattern": {"None"}},
    ),
    Spec(
        "vecchia.lower_triangle_pattern",
        incomplete_factorization.lower_triangle_pattern,
        lambda: {"matrix": PRECISION},
        accepts={"matrix": {"sparse NaN"}},  # positions only,
    ),
    Spec(
        "vecchia.noisy_precision",
        noise.noisy_precision,
        lambda: {"L": FACTOR, "noise": NOISE_ORDERED},
        extra=[("noise", 0.0), ("L", sp.csc_matrix(np.triu(np.ones((12, 12)))))],
        accepts=FACTOR_ACCEPTS,
    ),
    Spec(
        "vecchia.noise_factor",
        noise.noise_factor,
        lambda: {"L": FACTOR, "noise": NOISE_ORDERED, "pattern": "factor"},
        extra=[("pattern", NO_DIAGONAL), ("pattern", PATTERN), ("noise", -NOISE_ORDERED)],
        accepts=FACTOR_ACCEPTS,
    ),
    Spec(
        "vecchia.noisy_kl_cholesky",
        noise.noisy_kl_cholesky,
        lambda: {
            "points": POINTS,
            "kernel": KERNEL,
            "noise": NOISE,
            "rho": 2.0,
            "lam": 1.5,
            "p": 1,
            "pattern": "product",
        },
        extra=BAD_KERNELS + [("noise", -NOISE), ("p", 10**13)],
        names={"kernel": ("kernel", "column", "supernode")},
        accepts={"noise": {"0-d"}, "rho": {"inf"}},
    ),
    Spec(
        "vecchia.naive_kl_cholesky",
        noise.naive_kl_cholesky,
        lambda: {
            "points": POINTS,
            "kernel": KERNEL,
            "noise": NOISE,
            "rho": 2.0,
            "lam": 1.5,
            "p": 1,
        },
        extra=BAD_KERNELS + [("noise", -NOISE), ("p", 10**13)],
        names={"kernel": ("kernel", "column", "supernode")},
        accepts={"noise": {"0-d"}, "rho": {"inf"}},
    ),
    Spec(
        "vecchia.noisy_posterior_mean",
        noisy_posterior.noisy_posterior_mean,
        lambda: {
            "L": FACTOR,
            "C": C_FACTOR,
            "noise": NOISE_ORDERED,
            "y": Y,
            "method": "pcg",
            "tol": 1e-8,
            "maxiter": 100,
        },
        kinds={"maxiter": "size"},
        extra=[("noise", -NOISE_ORDERED), ("maxiter", 1)],
        accepts={**FACTOR_ACCEPTS, "maxiter": {"None"}},
    ),
    _factors_spec("vecchia.noisy_covariance", noise_kl.noisy_covariance),
    Spec(
        "vecchia.woodbury_precision",
        noise_kl.woodbury_precision,
        lambda: {"C": C_FACTOR, "noise": NOISE_ORDERED},
        extra=[("noise", -NOISE_ORDERED)],
        accepts=FACTOR_ACCEPTS,
    ),
    _factors_spec(
        "vecchia.expected_log_likelihood_error",
        noise_kl.expected_log_likelihood_error,
        theta=THETA,
    ),
    _factors_spec("vecchia.woodbury_kl_divergence", noise_kl.woodbury_kl_divergence, theta=THETA),
    _factors_spec("vecchia.noisy_kl_divergences", noise_kl.noisy_kl_divergences, theta=THETA),
    Spec(
        "vecchia.predict_variant",
        prediction.predict_variant,
        lambda: {
            "points": POINTS,
            "y": Y,
            "new_points": NEW_POINTS,
            "kernel": KERNEL,
            "rho": 2.0,
            "lam": 1.5,
            "p": 1,
            "nugget": 0.01,
            "variant": "last",
        },
        extra=BAD_KERNELS + [("new_points", POINTS[:2]), ("p", 10**13)],
        names={"kernel": ("kernel", "column", "supernode")},
        accepts={"rho": {"inf"}, "new_points": {"one row short"}},  # any M,
    ),
    Spec(
        "vecchia.VecchiaLikelihood",
        fitting.VecchiaLikelihood,
        lambda: {"points": POINTS, "y": Y, "nu": 1.5, "rho": 2.0, "lam": 1.5, "p": 3},
        extra=[("nu", 1.0), ("p", 10**13)],
        accepts={"rho": {"inf"}},
    ),
    Spec(
        "vecchia.VecchiaLikelihood.__call__",
        fitting.VecchiaLikelihood(POINTS, Y, rho=2.0),
        lambda: {"variance": 1.0, "length_scale": 0.2, "noise": 0.01},
        extra=[("length_scale", np.array([0.2, -1.0])), ("length_scale", np.array([0.1, 0.2]))],
        accepts={"length_scale": {"array"}},  # one per coordinate,
    ),
    Spec(
        "vecchia.fit_hyperparameters",
        fitting.fit_hyperparameters,
        lambda: {
            "points": POINTS,
            "y": Y,
            "nu": 1.5,
            "rho": 2.0,
            "lam": 1.5,
            "p": 3,
            "noise": None,
            "anisotropic": False,
            "initial": {"length_scale": 0.2},
            "options": {"maxiter": 20},
        },
        extra=[
            ("options", {"ftol": -1.0}),
            ("options", {"bogus": 1}),
            ("options", {"maxiter": -1}),
            ("options", {"maxiter": 0}),
            ("options", {"maxiter": 2.5}),
            ("options", {"maxiter": True}),
            ("options", {"maxfun": 0}),
            ("options", {"maxfun": None}),
            ("options", {"gtol": float("nan")}),
            ("options", {"gtol": 0.0}),
            ("options", {"ftol": float("inf")}),
            ("options", {"ftol": "1e-8"}),
            ("initial", {"variance": -1.0}),
            ("initial", {"noise": float("nan")}),
            ("initial", {"length_scale": np.array([0.1, 0.2, 0.3])}),
            ("initial", {"bogus": 1.0}),
            ("initial", "abc"),
            ("anisotropic", 1),
            ("noise", -0.1),
        ],
        timeout=10.0,
        accepts={"rho": {"inf"}},
    ),
]

EXEMPT = {
    "vecchia.FitResult": "a frozen result container of fit_hyperparameters, no input checks",
}
