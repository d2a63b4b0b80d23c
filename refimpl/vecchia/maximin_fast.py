r"""The fast greedy phase of the maximin ordering: a lazy buffer, batches, a KD-tree.

:func:`refimpl.vecchia.ordering.maximin_ordering_brute_force` is the definition:
choose, one at a time, the point farthest from the points chosen so far. This
module gives the same sequence in :math:`O(N \log^2 N)` for quasi-uniform points.

It keeps every unchosen point's current (p-th nearest) distance and a buffer of
the largest ones, sorted by a key that is an upper bound of the distance (the lazy
update of the authors' Julia code: a key is refreshed only when the scan meets
it). It scans the buffer in order and chooses, in one batch, every point that is
provably the next farthest: its key is fresh, and it lies at least its distance
away from the points already in the batch (found with a hash grid), so choosing
those did not change it. A point that fails either test is held back with an upper
bound of its new distance, and the batch stops at the first point below such a
bound. The batch then lowers the distances of all points within :math:`l_j` of each
chosen :math:`x_j` with one KD-tree ball query and vectorized minima, and the
buffer is re-keyed. Balls at step k hold about N/k points of a quasi-uniform set,
so there are :math:`O(N \log N)` updates. The derivation is in
``docs/derivations/vecchia.md``.

References
----------
.. [1] Schäfer, Sullivan, Owhadi, "Compression, inversion, and approximate PCA of
   dense kernel matrices at near-linear computational complexity", Multiscale Model.
   Simul. 19(2), 2021, Alg. 4.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .points import concatenate_lists

__all__ = ["greedy_maximin", "insert_distances"]

_CELL_BASE = 1 << 21


def insert_distances(near_rows, d):
    """Insert distances ``d`` into rows of sorted p-nearest distances, keep p smallest."""
    p = near_rows.shape[1]
    if p == 1:
        return np.minimum(near_rows, d[:, None])
    rows = np.concatenate([near_rows, d[:, None]], axis=1)  # (m, p + 1)
    rows.sort(axis=1)
    return rows[:, :p]


def _update(points, near, value, selected, tree, batch, radii):
    """Lower the p-nearest distances of unchosen points after a batch was chosen."""
    p = near.shape[1]
    found, counts = concatenate_lists(
        tree.query_ball_point(points[batch], radii, return_sorted=False)
    )
    source = np.repeat(batch, counts)
    keep = ~selected[found]
    found, source = found[keep], source[keep]
    d = np.sqrt(((points[found] - points[source]) ** 2).sum(axis=1))
    hit = d < value[found]
    found, d = found[hit], d[hit]
    if p == 1:
        np.minimum.at(value, found, d)
        near[found, 0] = value[found]
        return
    while found.size:  # one insertion per point and round; points hit twice wait a round
        first_found, first = np.unique(found, return_index=True)
        near[first_found] = insert_distances(near[first_found], d[first])
        value[first_found] = near[first_found, p - 1]
        rest = np.ones(found.size, dtype=bool)
        rest[first] = False
        found, d = found[rest], d[rest]


def _cell_key(x, cell_size):
    """Integer key of the grid cell of x; distinct cells may share a key (harmless)."""
    key = 0
    for c in x:
        key = key * _CELL_BASE + math.floor(c / cell_size)
    return key


def _conflicts(cells, key, x, v, deltas):
    """Distances (< v) from x to the batch points in the 3^d grid cells around key.

    The grid's cell size is at least v, so no closer point is missed; points of a
    colliding key are filtered out by the exact distance test.
    """
    close = []
    get = cells.get
    for delta in deltas:
        bucket = get(key + delta)
        if bucket:
            for y in bucket:
                dist = math.dist(x, y)
                if dist < v:
                    close.append(dist)
    return close


def _refill(value, selected, in_buffer, buffer_size):
    """The next ``buffer_size`` largest distances outside the buffer, and the threshold."""
    outside = np.flatnonzero(~selected & ~in_buffer)
    if outside.size > buffer_size:
        part = np.argpartition(-value[outside], buffer_size)[:buffer_size]
        threshold = value[outside[part]].min()
        take = outside[value[outside] >= threshold]  # ties stay together
    else:
        take, threshold = outside, -np.inf
    in_buffer[take] = True
    return take, threshold


def _keyed(value, ids):
    """Buffer entries sorted by decreasing distance, ties by index: (keys, ids) lists."""
    rank = np.lexsort((ids, -value[ids]))
    return value[ids][rank].tolist(), ids[rank].tolist()


def greedy_maximin(points, near, selected, tree, buffer_size=4096, batch_cap=1024):
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
        Of ``points``.

    Returns
    -------
    chosen, lengths : list
        The remaining points in the order chosen, and their lengths.
    """
    n, p = near.shape
    deltas = [_cell_key(o, 1.0) for o in itertools.product((-1, 0, 1), repeat=points.shape[1])]
    coords = points.tolist()
    value = near[:, p - 1].copy()  # current p-th nearest distance, only ever decreases
    in_buffer = np.zeros(n, dtype=bool)
    keys, ids = [], []  # candidate buffer, sorted by key (an upper bound of the distance)
    threshold = np.inf  # every unchosen point outside the buffer has value < threshold
    chosen, lengths = [], []
    remaining = int(n - selected.sum())
    while remaining:  # each round chooses at least the buffer's first fresh point
        if not ids:
            take, threshold = _refill(value, selected, in_buffer, buffer_size)
            keys, ids = _keyed(value, take)
        batch, radii, held = [], [], []
        bound = -np.inf  # no held-back point can end up farther than this
        cells, cell_size = {}, None
        scanned = len(ids)
        for position, (key, j) in enumerate(zip(keys, ids, strict=True)):
            v = value[j]
            if v != key:  # stale: the distance dropped since the key was set
                held.append(j)
                bound = max(bound, v)
                continue
            if v <= bound or v < threshold or len(batch) == batch_cap:
                scanned = position  # a held-back or outside point may be farther
                break
            x = coords[j]
            if cell_size is None:
                cell_size = v if v > 0 and np.isfinite(v) else None
            key = _cell_key(x, cell_size) if cell_size is not None else 0
            close = _conflicts(cells, key, x, v, deltas) if batch else []
            if close:
                # closer to a point of this batch than its distance: its distance will
                # drop, so hold it back and bound what it drops to
                held.append(j)
                bound = max(bound, np.sort(np.concatenate([near[j], close]))[p - 1])
                continue
            batch.append(j)
            radii.append(v)
            if cell_size is not None:
                cells.setdefault(key, []).append(x)
        batch = np.asarray(batch, dtype=np.intp)
        selected[batch] = True
        in_buffer[batch] = False
        remaining -= batch.size
        chosen.extend(batch.tolist())
        lengths.extend(radii)
        if batch.size:
            _update(points, near, value, selected, tree, batch, np.asarray(radii))
        # Rebuild the buffer: the unscanned rest and the held-back points, re-keyed;
        # points that fell below the threshold leave it.
        rest = np.asarray(ids[scanned:] + held, dtype=np.intp)
        rest = rest[~selected[rest]]
        drop = value[rest] < threshold
        in_buffer[rest[drop]] = False
        keys, ids = _keyed(value, rest[~drop])
    return chosen, lengths
