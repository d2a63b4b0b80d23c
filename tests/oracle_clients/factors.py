"""KL-optimal sparse inverse Cholesky factors (vecchia.kl_factor_*, supernodal_factor_rho3).

Written from the manifests' ``conventions``: the Matern kernel with unit variance,
k(r) = 2^(1-nu)/Gamma(nu) s^nu K_nu(s), s = sqrt(2 nu) r / l (nu = 3/2: (1 + s) e^-s);
Theta = K(x, x) + nugget * I for x = points[order]; the rho-ball pattern
{i >= j : |x_i - x_j| <= rho l_j} (rho = inf: full lower triangle); the KL-optimal column
L[s_j, j] = Theta_ss^-1 e1 / sqrt(e1' Theta_ss^-1 e1); the supernode rule (walk j = 0, 1, ...;
an unassigned j leads {k in s_j : k unassigned, l_k <= lam * l_j}; members k get the rows of
the union of their s_k that are >= k). The output ``kind`` "csc" and ``compare_as`` "factor"
(docs/oracle.md: NAME.indptr / .indices / .data / .shape).
"""

import numpy as np
import scipy.linalg
import scipy.special
from patterns import ball_pattern

CASES = (
    "kl_factor_rho3",
    "kl_factor_dense",
    "kl_factor_repeated_nugget",
    "supernodal_factor_rho3",
)


def matern_profile(r, nu, length_scale):
    """Matern correlation at distances r (unit variance)."""
    s = np.sqrt(2.0 * nu) * np.asarray(r, dtype=float) / length_scale
    if nu == 0.5:
        return np.exp(-s)
    if nu == 1.5:
        return (1.0 + s) * np.exp(-s)
    if nu == 2.5:
        return (1.0 + s + s * s / 3.0) * np.exp(-s)
    if nu == 3.5:
        return (1.0 + s + 2.0 * s * s / 5.0 + s**3 / 15.0) * np.exp(-s)
    out = np.ones_like(s)
    pos = s > 0
    sp = s[pos]
    out[pos] = 2.0 ** (1.0 - nu) / scipy.special.gamma(nu) * sp**nu * scipy.special.kv(nu, sp)
    return out


def matern(X, Y, nu, length_scale):
    """Kernel block K(X, Y) for points as rows."""
    diff = np.asarray(X, float)[:, None, :] - np.asarray(Y, float)[None, :, :]
    return matern_profile(np.sqrt(np.sum(diff * diff, axis=-1)), nu, length_scale)


def kl_column(theta_block):
    """Theta_ss^-1 e1 / sqrt(e1' Theta_ss^-1 e1) for one column's block (row j first)."""
    e1 = np.zeros(len(theta_block))
    e1[0] = 1.0
    w = scipy.linalg.cho_solve(scipy.linalg.cho_factor(theta_block, lower=True), e1)
    return w / np.sqrt(w[0])


def kl_factor(theta, indptr, indices):
    """Column-by-column KL-optimal factor of theta on the CSC pattern (indptr, indices)."""
    data = np.empty(len(indices))
    for j in range(len(indptr) - 1):
        rows = indices[indptr[j] : indptr[j + 1]]
        data[indptr[j] : indptr[j + 1]] = kl_column(theta[np.ix_(rows, rows)])
    return data


def supernodal_pattern(indptr, indices, lengths, lam):
    """The pattern enlarged by the supernodes of the manifest's rule."""
    n = len(indptr) - 1
    columns = [indices[indptr[j] : indptr[j + 1]] for j in range(n)]
    assigned = np.zeros(n, dtype=bool)
    new_columns = [None] * n
    for j in range(n):
        if assigned[j]:
            continue
        members = [k for k in columns[j] if not assigned[k] and lengths[k] <= lam * lengths[j]]
        assigned[members] = True
        row_set = np.unique(np.concatenate([columns[k] for k in members]))
        for k in members:
            new_columns[k] = row_set[row_set >= k]
    new_indptr = np.concatenate([[0], np.cumsum([len(c) for c in new_columns])])
    return new_indptr.astype(np.int64), np.concatenate(new_columns).astype(np.int64)


def csc_parts(name, indptr, indices, data, n):
    return {
        f"{name}.indptr": np.asarray(indptr, dtype=np.int64),
        f"{name}.indices": np.asarray(indices, dtype=np.int64),
        f"{name}.data": np.asarray(data, dtype=np.float64),
        f"{name}.shape": np.array([n, n], dtype=np.int64),
    }


def factor_from_inputs(inputs, supernodal=False):
    """(indptr, indices, data) of the case's factor, in the elimination order."""
    x = inputs["points"][inputs["order"]]
    lengths = inputs["lengths"]
    theta = matern(x, x, float(inputs["nu"]), float(inputs["length_scale"]))
    theta = theta + float(inputs["nugget"]) * np.eye(len(x))
    indptr, indices = ball_pattern(x, lengths, float(inputs["rho"]))
    if supernodal:
        indptr, indices = supernodal_pattern(indptr, indices, lengths, float(inputs["lam"]))
    return indptr, indices, kl_factor(theta, indptr, indices)


def compute(case_name, inputs):
    indptr, indices, data = factor_from_inputs(
        inputs, supernodal=case_name.startswith("supernodal")
    )
    return csc_parts("L", indptr, indices, data, len(inputs["order"]))
