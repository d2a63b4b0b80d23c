"""The rho-ball sparsity pattern (vecchia.ball_pattern_rho3), written from the manifest.

Manifest fields relied on: ``conventions`` (x = points[order]; column j holds the rows
{i >= j : |x_i - x_j| <= rho * l_j} with l_j = lengths[j]; rho = inf means the full lower
triangle; 1e300 stands for an infinite length, 0 for a repeated point) and ``description``
(CSC indptr/indices, rows ascending within a column, the diagonal first).
"""

import numpy as np

CASES = ("ball_pattern_rho3",)


def ball_pattern(x, lengths, rho):
    """Return CSC (indptr, indices) of the rho-ball pattern of ordered points x."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    indptr = [0]
    indices = []
    for j in range(n):
        later = np.arange(j, n)
        if np.isinf(rho):
            rows = later
        else:
            d = np.sqrt(np.sum((x[later] - x[j]) ** 2, axis=1))
            rows = later[d <= rho * lengths[j]]
        indices.extend(rows.tolist())
        indptr.append(len(indices))
    return np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int64)


def compute(case_name, inputs):
    x = inputs["points"][inputs["order"]]
    indptr, indices = ball_pattern(x, inputs["lengths"], float(inputs["rho"]))
    return {"indptr": indptr, "indices": indices}
