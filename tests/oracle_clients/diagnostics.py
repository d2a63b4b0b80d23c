"""KL divergence, log-likelihood and log-determinant of a factor (vecchia.diagnostics_rho3).

Manifest fields relied on: ``conventions`` (the factor is the KL-optimal one on the rho = 3
pattern with nugget 0, Theta = K(x, x); kl_divergence = 1/2 (tr(L'Theta L) - log det(L'Theta L)
- N); log_likelihood = -1/2 |L'y|^2 + sum log L_ii - (N/2) log 2 pi with y[order];
logdet = -2 sum log L_ii) and the kernel/pattern conventions shared with the factor cases.
"""

import numpy as np
import scipy.sparse
from factors import factor_from_inputs, matern

CASES = ("diagnostics_rho3",)


def compute(case_name, inputs):
    indptr, indices, data = factor_from_inputs(inputs)
    n = len(inputs["order"])
    L = scipy.sparse.csc_matrix((data, indices, indptr), shape=(n, n))
    x = inputs["points"][inputs["order"]]
    theta = matern(x, x, float(inputs["nu"]), float(inputs["length_scale"]))
    theta = theta + float(inputs["nugget"]) * np.eye(n)
    log_diag = np.log(L.diagonal())
    Ld = L.toarray()
    chol = np.linalg.cholesky(theta)
    trace = np.sum(Ld * (theta @ Ld))
    logdet_theta = 2.0 * np.sum(np.log(np.diag(chol)))
    kl = 0.5 * (trace - 2.0 * np.sum(log_diag) - logdet_theta - n)
    y = inputs["y"][inputs["order"]]
    lty = L.T @ y
    loglik = -0.5 * lty @ lty + np.sum(log_diag) - 0.5 * n * np.log(2.0 * np.pi)
    return {
        "kl_divergence": np.array(kl),
        "log_likelihood": np.array(loglik),
        "logdet": np.array(-2.0 * np.sum(log_diag)),
    }
