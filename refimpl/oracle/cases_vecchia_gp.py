r"""Golden cases of :mod:`refimpl.vecchia` that use a factor: diagnostics and prediction.

Inputs and conventions as in :mod:`refimpl.oracle.cases_vecchia`.
"""

from __future__ import annotations

import numpy as np

from refimpl.oracle.case import Case, LazyModule, Tolerance, register
from refimpl.oracle.cases_vecchia import (
    EPS,
    FACTOR_CONVENTION,
    LENGTH_SENTINELS,
    factor_inputs,
    kernel_of,
    ordered_points,
    pattern_of,
)

vecchia = LazyModule("refimpl.vecchia")


def _diagnostics(inputs):
    x = ordered_points(inputs)
    kernel = kernel_of(inputs)
    L = vecchia.kl_factor(x, kernel, pattern_of(inputs))
    theta = kernel(x, x)
    y = np.asarray(inputs["y"])[np.asarray(inputs["order"])]
    return {
        "kl_divergence": np.float64(vecchia.kl_divergence(theta, L)),
        "log_likelihood": np.float64(vecchia.log_likelihood(L, y)),
        "logdet": np.float64(vecchia.logdet(L)),
    }


def _diagnostic_inputs():
    made = factor_inputs(3.0)()
    made["y"] = np.sin(6 * made["points"][:, 0]) * np.cos(4 * made["points"][:, 1])
    return made


register(
    Case(
        name="vecchia.diagnostics_rho3",
        function="refimpl.vecchia.kl_divergence / log_likelihood / logdet",
        description="KL(N(0, Θ) ‖ N(0, (LLᵀ)⁻¹)), log-likelihood of y and log det (LLᵀ)⁻¹ "
        "for the ρ = 3 factor; y given in input order",
        conventions=FACTOR_CONVENTION
        + "; the factor is that of the ρ = 3 pattern with nugget 0, Θ = K(x, x); "
        "kl_divergence = ½(tr(LᵀΘL) − log det(LᵀΘL) − N); "
        "log_likelihood = −½‖Lᵀy‖² + Σ log L_ii − (N/2) log 2π with y in elimination order "
        "(y[order]); logdet = log det((LLᵀ)⁻¹) = −2 Σ log L_ii",
        make_inputs=_diagnostic_inputs,
        compute=_diagnostics,
        checks={
            "kl_divergence": Tolerance(0.0, 1e-8, "logdet of Θ by Cholesky: N·κ·ε relative"),
            "log_likelihood": Tolerance(0.0, 1e-10, "sparse triangular products, N·ε·‖L‖"),
            "logdet": Tolerance(0.0, 1e-12, "a sum of N logarithms"),
        },
        sentinels={"lengths": LENGTH_SENTINELS},
    )
)


def _prediction_inputs():
    rng = np.random.default_rng(5)
    points = rng.random((120, 2))
    return {
        "points": points,
        "y": np.sin(5 * points[:, 0]) + points[:, 1] ** 2,
        "new_points": rng.random((15, 2)) * 0.9 + 0.05,
        "nu": 1.5,
        "length_scale": 0.2,
        "rho": np.inf,
        "nugget": 1e-4,
    }


def _prediction(inputs):
    mean, variance = vecchia.predict(
        inputs["points"],
        inputs["y"],
        inputs["new_points"],
        kernel_of(inputs),
        float(inputs["rho"]),
        nugget=float(inputs["nugget"]),
    )
    return {"mean": mean, "variance": variance}


def _prediction_tolerance():
    made = _prediction_inputs()
    x = np.concatenate([made["points"], made["new_points"]])
    theta = kernel_of(made)(x, x) + float(made["nugget"]) * np.eye(len(x))
    kappa = np.linalg.cond(theta)
    return Tolerance(
        10 * len(x) * kappa * EPS,
        0.0,
        f"ρ = ∞ makes the prediction exact GP regression: 10·N·κ·ε with N = {len(x)}, "
        f"κ = {kappa:.2g} (the nugget keeps κ moderate)",
    )


register(
    Case(
        name="vecchia.predict_exact",
        function="refimpl.vecchia.predict",
        description="posterior mean and variance (of a noisy observation: latent + nugget) at "
        "15 new points from 120 observations, Matérn-3/2, l = 0.2, nugget 1e-4, ρ = ∞ "
        "(so any correct GP regression, sparse or dense, must agree)",
        conventions="exact GP regression (ρ = inf): with X = points, Z = new_points, "
        "K_AB the Matérn kernel (unit variance, s = sqrt(2ν) r / l, ν = nu, l = length_scale) and "
        "σ² = nugget, mean = K_ZX (K_XX + σ² I)⁻¹ y and variance = diag(K_ZZ − K_ZX (K_XX + "
        "σ² I)⁻¹ K_XZ) + σ² (the variance of a noisy observation); outputs in the order of "
        "new_points",
        make_inputs=_prediction_inputs,
        compute=_prediction,
        checks=lambda: dict.fromkeys(("mean", "variance"), _prediction_tolerance()),
    )
)
