"""Exact GP regression (vecchia.predict_exact), written from the manifest.

Manifest fields relied on: ``conventions`` (mean = K_ZX (K_XX + s2 I)^-1 y, variance =
diag(K_ZZ - K_ZX (K_XX + s2 I)^-1 K_XZ) + s2, Matern with unit variance, outputs in the order
of new_points).
"""

import numpy as np
import scipy.linalg
from factors import matern

CASES = ("predict_exact",)


def compute(case_name, inputs):
    X, Z, y = inputs["points"], inputs["new_points"], inputs["y"]
    nu, ell, s2 = float(inputs["nu"]), float(inputs["length_scale"]), float(inputs["nugget"])
    kxx = matern(X, X, nu, ell) + s2 * np.eye(len(X))
    kzx = matern(Z, X, nu, ell)
    factor = scipy.linalg.cho_factor(kxx, lower=True)
    mean = kzx @ scipy.linalg.cho_solve(factor, y)
    reduction = np.sum(kzx * scipy.linalg.cho_solve(factor, kzx.T).T, axis=1)
    variance = 1.0 - reduction + s2
    return {"mean": mean, "variance": variance}
