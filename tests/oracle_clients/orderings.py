"""Reverse p-maximin orderings (vecchia.maximin_*), written from the manifests.

Manifest fields relied on: ``conventions`` (built coarse to fine, then reversed; the first
point chosen is ``initial``; the next point maximizes dist_min(t, p)(x_i, C), ties to the
lowest index; lengths[k] belongs to order[k] and is dist_p to the points chosen before it,
inf for the first min(p, N) points chosen), the output ``sentinels`` (inf written as -1) and
``compare_as`` ("ordering": integers).
"""

import numpy as np

CASES = ("maximin_p1_random", "maximin_p3_random", "maximin_p1_grid_ties")


def reverse_maximin(points, p=1, initial=0):
    """Greedy p-maximin sequence by its definition (O(N^2)), returned fine to coarse."""
    points = np.asarray(points, dtype=float)
    n = len(points)
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt(np.sum(diff * diff, axis=-1))
    chosen = [int(initial)]
    lengths = [np.inf]
    unchosen = np.ones(n, dtype=bool)
    unchosen[initial] = False
    while len(chosen) < n:
        t = len(chosen)
        k = min(t, p)
        to_chosen = np.sort(dist[:, chosen], axis=1)  # (n, t), ascending
        score = to_chosen[:, k - 1]
        score = np.where(unchosen, score, -np.inf)
        i = int(np.argmax(score))  # argmax returns the lowest index among exact ties
        chosen.append(i)
        lengths.append(score[i] if t >= p else np.inf)
        unchosen[i] = False
    order = np.array(chosen[::-1], dtype=np.int64)
    lengths = np.array(lengths[::-1], dtype=float)
    return order, lengths


def compute(case_name, inputs):
    order, lengths = reverse_maximin(inputs["points"], int(inputs["p"]), int(inputs["initial"]))
    lengths = np.where(np.isinf(lengths), -1.0, lengths)
    return {"order": order, "lengths": lengths}
