r"""The fast greedy phase of the maximin ordering: a lazy buffer, batches, a KD-tree.

:func:`refimpl.vecchia.ordering.maximin_ordering_brute_force` is the definition:
choose, one at a time, the point farthest from the points chosen so far. This
module gives the same sequence in :math:`O(N \log^2 N)` for quasi-uniform points.

It keeps every unchosen point's current (p-th nearest) distance and a buffer of
the largest ones, sorted by a key that is an upper bound of the distance (the lazy
update of the authors' Julia code: a key is refreshed only when the scan meets
it). It scans the buffer in order and chooses, in one batch, every point that is
provably the next farthest: its key is fresh, and it lies at least its distance
away from the points already in the batch (found with one KD-tree pair query of
the scanned candidates), so choosing
those did not change it. A point that fails either test is held back with an upper
bound of its new distance, and the batch stops at the first point below such a
bound. The batch then lowers the distances of all points within :math:`l_j` of each
chosen :math:`x_j` with one KD-tree ball query and vectorized minima, and the
buffer is re-keyed. Balls at step k hold about N/k points of a quasi-uniform set,
so there are :math:`O(N \log N)` updates. The work runs on the points in a KD-tree's
leaf order (near in space is near in memory), and refills draw from a reserve of the
largest distances; neither changes the sequence. The derivation is in
``docs/derivations/vecchia.md``.

References
----------
.. [1] Schäfer, Sullivan, Owhadi, "Compression, inversion, and approximate PCA of
   dense kernel matrices at near-linear computational complexity", Multiscale Model.
   Simul. 19(2), 2021, Alg. 4.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .points import concatenate_lists, pair_distances, query_workers

__all__ = ["greedy_maximin", "insert_distances"]


def insert_distances(near_rows, d):
    """Insert distances ``d`` into rows of sorted p-nearest distances, keep p smallest."""
    p = near_rows.shape[1]
    if p == 1:
        return np.minimum(near_rows, d[:, None])
    rows = np.concatenate([near_rows, d[:, None]], axis=1)  # (m, p + 1)
    rows.sort(axis=1)
    return rows[:, :p]


def _update(points, near, value, selected, tree, batch, radii, leaf_rank):
    """Lower the p-nearest distances of unchosen points after a batch was chosen.

    Only points within a chosen point's own distance can be lowered by it (every
    remaining distance ends at most that large), so one ball query per chosen point
    finds them all. The result does not depend on the order of the queries; they run
    in the tree's leaf order, so that neighbouring queries share leaves (chosen points
    are spread out by construction, and at N = 1e6 cache misses dominate otherwise).
    """
    p = near.shape[1]
    local = np.argsort(leaf_rank[batch], kind="stable")
    batch, radii = batch[local], radii[local]
    found, counts = concatenate_lists(
        tree.query_ball_point(
            points[batch], radii, return_sorted=False, workers=query_workers(batch.size)
        )
    )
    source = np.repeat(batch, counts)
    keep = ~selected[found]
    found, source = found[keep], source[keep]
    d = pair_distances(points, found, source)
    hit = d < value[found]
    found, d = found[hit], d[hit]
    if p == 1:
        np.minimum.at(value, found, d)
        near[found, 0] = value[found]
        return
    if not found.size:
        return
    # Per point hit, its p smallest new distances join its p current ones in one sorted
    # table row, and the p smallest of the row stay: all insertions at once.
    rank = np.lexsort((d, found))
    found, d = found[rank], d[rank]
    starts = np.flatnonzero(np.r_[True, found[1:] != found[:-1]])  # (m,) one per point
    counts = np.diff(np.r_[starts, found.size])
    within = np.arange(found.size) - np.repeat(starts, counts)  # rank among its distances
    take = within < p
    hit_points = found[starts]
    table = np.full((hit_points.size, 2 * p), np.inf)  # (m, 2p)
    table[:, :p] = near[hit_points]
    table[np.repeat(np.arange(hit_points.size), counts)[take], p + within[take]] = d[take]
    table.sort(axis=1)
    near[hit_points] = table[:, :p]
    value[hit_points] = table[:, p - 1]


def _held_bounds(near, ids, held, a, b, d):
    """Upper bound of each held candidate's new distance: the p-th smallest of its
    current p nearest and its distances to chosen partners (-inf where not held)."""
    p = near.shape[1]
    w = ids.size
    live = ~held[a] & held[b]
    bound = np.full(w, -np.inf)
    if not live.any():
        return bound
    hb, hd = b[live], d[live]
    if p == 1:
        bound[held] = near[ids[held], 0]
        np.minimum.at(bound, hb, hd)
        return bound
    rank = np.lexsort((hd, hb))
    hb, hd = hb[rank], hd[rank]
    within = np.arange(hb.size) - np.searchsorted(hb, hb, side="left")  # rank in its group
    take = within < p  # the p smallest per candidate
    rows = np.flatnonzero(held)
    table = np.full((rows.size, 2 * p), np.inf)
    table[:, :p] = near[ids[rows]]
    table[np.searchsorted(rows, hb[take]), p + within[take]] = hd[take]
    table.sort(axis=1)
    bound[rows] = table[:, p - 1]
    return bound


def _scan(points, near, value, ids, threshold, cap):
    """One batch from the buffer ``ids`` (sorted by decreasing value, all fresh).

    Returns ``(batch, stop, held)``: the positions chosen, the first position not
    scanned, and the held-back positions before it. Candidate b conflicts with an
    earlier candidate a when |x_a − x_b| < v_b; it is held back if such an a is chosen,
    with an upper bound of its new distance, and the scan stops at the first position
    whose distance is at most an earlier held-back bound, below ``threshold``, or after
    ``cap`` choices. Statuses are resolved without a per-point loop: a candidate's
    status depends on earlier ones only, so iterating "held = has a chosen partner"
    from "none held" settles in as many sweeps as the longest chain of conflicts.
    """
    v = value[ids]  # (W,) non-increasing
    w = ids.size
    pairs = cKDTree(points[ids]).query_pairs(float(v[0]), output_type="ndarray")
    pairs = pairs.reshape(-1, 2)
    a, b = pairs[:, 0], pairs[:, 1]  # a < b: query_pairs returns i < j
    d = pair_distances(points, ids[a], ids[b])
    close = d < v[b]  # a comes first in the scan
    a, b, d = a[close], b[close], d[close]
    held = np.zeros(w, dtype=bool)
    for _ in range(w + 1):  # terminates: each sweep settles the next link of every chain
        new_held = np.zeros(w, dtype=bool)
        new_held[b[~held[a]]] = True
        if np.array_equal(new_held, held):
            break
        held = new_held
    bound = _held_bounds(near, ids, held, a, b, d)
    before = np.maximum.accumulate(np.concatenate([[-np.inf], bound[:-1]]))  # (W,)
    chosen_before = np.cumsum(~held) - ~held  # (W,) choices before each position
    stops = (v <= before) | (v < threshold) | (chosen_before >= cap)
    stop = int(np.argmax(stops)) if stops.any() else w
    positions = np.arange(stop)
    return positions[~held[:stop]], stop, positions[held[:stop]]


def _top(value, candidates, size):
    """The entries of ``candidates`` with the ``size`` largest values (ties included),
    and the smallest value taken; all of them and -inf if there are no more."""
    if candidates.size <= size:
        return candidates, -np.inf
    part = np.argpartition(-value[candidates], size)[:size]
    floor = value[candidates[part]].min()
    return candidates[value[candidates] >= floor], floor


def _refill(value, selected, in_buffer, buffer_size, reserve):
    """The next ``buffer_size`` largest distances outside the buffer, and the threshold.

    ``reserve = (ids, floor)`` holds every unchosen point of value >= floor (values only
    decrease, so no other point can climb above it); refills draw from it and rebuild
    it from all points, 16 buffers at a time, only when it runs short. Returns the
    points taken, the threshold (every unchosen point outside the buffer has a smaller
    value) and the reserve.
    """
    ids, floor = reserve
    ids = ids[~selected[ids]]
    take, threshold = _top(value, ids[~in_buffer[ids]], buffer_size)
    if threshold < floor or (threshold == -np.inf and floor > -np.inf):
        ids, floor = _top(value, np.flatnonzero(~selected), 16 * buffer_size)
        take, threshold = _top(value, ids[~in_buffer[ids]], buffer_size)
        threshold = max(threshold, floor)
    in_buffer[take] = True
    return take, threshold, (ids, floor)


def _keyed(value, ids, original):
    """Buffer entries sorted by decreasing distance, ties by lowest original index."""
    return ids[np.lexsort((original[ids], -value[ids]))]


def greedy_maximin(points, near, selected, tree, buffer_size=4096, batch_cap=4096):
    """Greedy farthest-point selection, exact, in batches of independent choices.

    Parameters
    ----------
    points : ndarray, shape (N, d)
    near : ndarray, shape (N, p)
        Sorted distances of every point to its p nearest chosen points (updated
        in place).
    selected : ndarray of bool, shape (N,)
        Points chosen already (updated in place).
    tree : scipy.spatial.cKDTree
        Of ``points``; its leaf order becomes the working order (any tree of the
        points gives the same result).

    Returns
    -------
    chosen, lengths : list
        The remaining points in the order chosen, and their lengths.
    """
    n, p = near.shape
    # Work on the points in the tree's leaf order: neighbours in space are then
    # neighbours in memory, and the gathers of every update hit the cache (at N = 1e6
    # they dominated otherwise). Ties are broken by the original index, so the
    # sequence is the same.
    original = tree.indices  # (n,) original index of each working position
    points = np.asfortranarray(points[original])  # columns contiguous for pair_distances
    near_all, selected_all = near, selected
    near, selected = near[original], selected[original]
    tree = cKDTree(points, balanced_tree=False)
    leaf_rank = np.empty(n, dtype=np.intp)
    leaf_rank[tree.indices] = np.arange(n)  # position of each point in the tree's leaves
    value = near[:, p - 1].copy()  # current p-th nearest distance, only ever decreases
    in_buffer = np.zeros(n, dtype=bool)
    ids = np.zeros(0, dtype=np.intp)  # the buffer, by decreasing value (ties: lowest index)
    threshold = np.inf  # every unchosen point outside the buffer has value < threshold
    reserve = (np.zeros(0, dtype=np.intp), np.inf)  # see _refill
    chosen, lengths = [], []
    remaining = int(n - selected.sum())
    window = 64  # candidates scanned per round
    while remaining:  # each round chooses at least the buffer's first point
        if not ids.size:
            take, threshold, reserve = _refill(value, selected, in_buffer, buffer_size, reserve)
            ids = _keyed(value, take, original)
        scan = ids[:window]
        batch, stop, held = _scan(points, near, value, scan, threshold, batch_cap)
        # scan next about twice what this round chose: small while conflicts are frequent
        # (at coarse scales nearly every pair of candidates conflicts, and a wide scan only
        # finds pairs), growing as the choices spread out
        window = min(buffer_size, max(64, 2 * batch.size))
        batch = scan[batch]
        selected[batch] = True
        in_buffer[batch] = False
        remaining -= batch.size
        chosen.append(batch)
        lengths.append(value[batch])
        if batch.size:
            _update(points, near, value, selected, tree, batch, value[batch], leaf_rank)
        # Rebuild the buffer: the unscanned rest and the held-back points, re-keyed;
        # points that fell below the threshold leave it.
        rest = np.concatenate([ids[stop:], scan[held]])
        drop = value[rest] < threshold
        in_buffer[rest[drop]] = False
        ids = _keyed(value, rest[~drop], original)
    near_all[original], selected_all[original] = near, selected
    if not chosen:
        return [], []
    return original[np.concatenate(chosen)].tolist(), np.concatenate(lengths).tolist()
