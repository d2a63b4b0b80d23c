"""Reverse maximin ordering of a point set, fast (KD-tree + lazy buffer) and brute force.

The ordering runs from coarse to fine while it is built: the first point chosen
is the coarsest, each later point is the one farthest from all points chosen so
far, and that distance is its length scale ``l``. It is returned *reversed*, so
that index 0 is the finest point and ``lengths`` do not decrease along the
order: the elimination order in which the inverse Cholesky factor of a kernel
matrix is nearly sparse (the screening effect).

All functions here work on NumPy arrays on the CPU (``scipy.spatial.cKDTree`` has
no GPU version); CuPy input is copied to the host with
:func:`refimpl.backend.to_numpy`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import as_float_array, check_integer

__all__ = [
    "maximin_ordering",
    "maximin_ordering_brute_force",
    "conditional_maximin_ordering",
    "check_points",
    "check_disjoint",
]


def check_points(points, name="points", distinct=True):
    """Validate a point set: finite, shape (N, d), and (by default) no duplicates.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        A 1-D array is read as N points in one dimension.
    name : str
        Argument name used in error messages.
    distinct : bool, optional
        Reject repeated points (the default). The factor functions pass False: a
        kernel that attaches several measurements (say a value and a derivative) to
        one location has repeated coordinates, and only the ordering, whose lengths
        would be 0, needs them distinct.

    Returns
    -------
    points : ndarray, shape (N, d)
        As a float NumPy array.

    Raises
    ------
    ValueError
        If the array is empty, has non-finite entries, or (with ``distinct``) two
        points coincide (their maximin length would be 0 and the kernel matrix
        singular).
    """
    return _checked_points_and_tree(points, name, distinct)[0]


def _checked_points_and_tree(points, name="points", distinct=True):
    """:func:`check_points`, also returning the KD-tree it built (None if none was)."""
    points = backend.to_numpy(as_float_array(name, points, ndim=(1, 2)))
    if points.ndim == 1:
        points = points[:, None]
    if points.shape[0] < 1 or points.shape[1] < 1:
        raise ValueError(
            f"{name}: expected at least one point of dimension >= 1, received shape {points.shape}"
        )
    tree = None
    if distinct and points.shape[0] > 1:
        tree = cKDTree(points)
        dist, idx = tree.query(points, k=2)
        clash = np.flatnonzero(dist[:, 1] == 0.0)
        if clash.size:
            i = int(clash[0])
            j = int(idx[i, 1]) if idx[i, 1] != i else int(idx[i, 0])
            raise ValueError(
                f"{name}: expected distinct points, received {clash.size} points that "
                f"coincide with another (first: rows {min(i, j)} and {max(i, j)}); a "
                "repeated point has maximin length 0 and makes the kernel matrix singular. "
                "Remove duplicates, or jitter them (e.g. points + 1e-9 * rng.standard_normal)"
            )
    return points, tree


def check_disjoint(points, reference, name="points", reference_name="reference"):
    """Raise ValueError if a row of ``points`` coincides with a row of ``reference``.

    The message names both rows, each by its own argument's index.
    """
    dist, idx = cKDTree(reference).query(points, k=1)
    clash = np.flatnonzero(dist == 0.0)
    if clash.size:
        i = int(clash[0])
        raise ValueError(
            f"{name}: expected points distinct from {reference_name}, received {clash.size} "
            f"that coincide (first: {name}[{i}] == {reference_name}[{int(idx[i])}])"
        )


def _check_p(p, n):
    p = check_integer("p", p, minimum=1)
    return min(p, n)


def _insert(near_rows, d):
    """Insert distances ``d`` into rows of sorted p-nearest distances, keep p smallest."""
    p = near_rows.shape[1]
    if p == 1:
        return np.minimum(near_rows, d[:, None])
    rows = np.concatenate([near_rows, d[:, None]], axis=1)  # (m, p + 1)
    rows.sort(axis=1)
    return rows[:, :p]


def _first_phase(points, p, initial):
    """Choose the first p points (they get l = ∞), returning the state for the greedy phase."""
    n = points.shape[0]
    near = np.full((n, p), np.inf)  # sorted distances to the p nearest chosen points
    selected = np.zeros(n, dtype=bool)
    chosen = []
    j = initial
    for t in range(p):
        if t > 0:
            # Fewer than p points are chosen, so every p-th distance is ∞: rank by the
            # t-th nearest chosen point instead, the largest finite one.
            key = np.where(selected, -1.0, near[:, t - 1])
            j = int(np.argmax(key))
        chosen.append(j)
        selected[j] = True
        d = np.sqrt(((points - points[j]) ** 2).sum(axis=1))  # (n,)
        near = _insert(near, d)
    return near, selected, chosen


def _flatten(lists):
    counts = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.intp, count=counts.sum())
    return flat, counts


def _update(points, near, value, selected, tree, batch, radii):
    """Lower the p-nearest distances of unchosen points after a batch was chosen."""
    p = near.shape[1]
    found, counts = _flatten(tree.query_ball_point(points[batch], radii, return_sorted=False))
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
        near[first_found] = _insert(near[first_found], d[first])
        value[first_found] = near[first_found, p - 1]
        rest = np.ones(found.size, dtype=bool)
        rest[first] = False
        found, d = found[rest], d[rest]


_CELL_BASE = 1 << 21


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


def _greedy_phase(points, near, selected, tree, buffer_size=4096, batch_cap=1024):
    """Greedy farthest-point selection, exact, in batches of independent choices.

    Returns the chosen indices and their lengths, in the order chosen.
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
    while remaining:
        if not ids:
            # Refill: the next buffer_size largest distances among the other points.
            outside = np.flatnonzero(~selected & ~in_buffer)
            if outside.size > buffer_size:
                part = np.argpartition(-value[outside], buffer_size)[:buffer_size]
                threshold = value[outside[part]].min()
                take = outside[value[outside] >= threshold]  # ties stay together
            else:
                take, threshold = outside, -np.inf
            in_buffer[take] = True
            rank = np.lexsort((take, -value[take]))
            keys, ids = value[take][rank].tolist(), take[rank].tolist()
        batch, radii, held = [], [], []
        bound = -np.inf  # no held-back point can end up farther than this
        cells, cell_size = {}, None
        scanned = 0
        for scanned, (key, j) in enumerate(zip(keys, ids, strict=True)):  # noqa: B007
            v = value[j]
            if v != key:  # stale: the distance dropped since the key was set
                held.append(j)
                bound = max(bound, v)
                continue
            if v <= bound or v < threshold or len(batch) == batch_cap:
                break  # a held-back or outside point may be farther: update first
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
        else:
            scanned = len(ids)
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
        rest = rest[~drop]
        rank = np.lexsort((rest, -value[rest]))
        keys, ids = value[rest][rank].tolist(), rest[rank].tolist()
    return chosen, lengths


def maximin_ordering(points, p=1, initial=0):
    """Reverse (p-)maximin ordering with a KD-tree and lazily updated distances.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points (a 1-D array is N points on a line).
    p : int, optional
        With ``p > 1``, the length of a point is its distance to the p-th nearest
        previously chosen point (p-maximin); ``p = 1`` is plain maximin.
    initial : int, optional
        Index of the first (coarsest) point chosen.

    Returns
    -------
    order : ndarray of int, shape (N,)
        ``order[0]`` is the finest point and ``order[-1] == initial``.
    lengths : ndarray, shape (N,)
        ``lengths[k]`` is the length scale of point ``order[k]``; non-decreasing.
        The last ``min(p, N)`` entries are ``inf``.

    Notes
    -----
    Building the sequence coarse to fine, with :math:`C_k` the first k chosen
    points,

    .. math::

        i_{k+1} = \\operatorname{argmax}_{i \\notin C_k}
        \\operatorname{dist}_p(x_i, C_k), \\qquad l_{i_{k+1}} =
        \\operatorname{dist}_p(x_{i_{k+1}}, C_k),

    where :math:`\\operatorname{dist}_p` is the distance to the p-th nearest
    point. While fewer than p points are chosen the p-th distance is infinite; those
    points are ranked by the distance to their farthest chosen point and get
    :math:`l = \\infty`. Ties go to the lowest index (as in the brute-force
    version). This choice of the first p points is ours; the authors' KoLesky.jl
    breaks it differently, so for p > 1 the first few points (and through them the
    rest of the order) may differ from theirs, while every later step is the same
    greedy p-maximin rule.

    The fast version keeps every unchosen point's current distance and a buffer of
    the largest ones, sorted by a key that is an upper bound of the distance (the
    lazy update of the reference Julia code: a key is refreshed only when the scan
    meets it). It scans the buffer in order and chooses, in one batch, every point
    that is provably the next farthest: its key is fresh, and it is at least its
    distance away from the points already in the batch (found with a hash grid),
    so choosing those did not change it; a point that fails either test is held
    back with an upper bound of its new distance, and the batch stops at the first
    point below such a bound. The batch then updates the distances of all points
    within :math:`l_j` of each chosen :math:`x_j` with one KD-tree ball query and
    vectorized minima, and the buffer is re-keyed. Balls at step k hold about N/k
    points of a quasi-uniform set, so there are O(N log N) updates; with the sorts
    of the buffer the cost is O(N log² N). The result equals the sequential greedy
    choice exactly (tested against :func:`maximin_ordering_brute_force`).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.
    .. [2] Schäfer, Sullivan, Owhadi, "Compression, inversion, and approximate PCA
       of dense kernel matrices at near-linear computational complexity",
       Multiscale Model. Simul. 19(2), 2021, Alg. 4.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = maximin_ordering(np.array([0.0, 1.0, 0.5, 0.25]))
    >>> order.tolist(), lengths.tolist()
    ([3, 2, 1, 0], [0.25, 0.5, 1.0, inf])
    """
    return _maximin_ordering(*_checked_points_and_tree(points), p, initial)


def _maximin_ordering(points, tree, p, initial):
    """:func:`maximin_ordering` for checked points and their KD-tree (None: build one)."""
    n = points.shape[0]
    p = _check_p(p, n)
    initial = check_integer("initial", initial, minimum=0, maximum=n - 1)
    near, selected, chosen = _first_phase(points, p, initial)
    lengths = [np.inf] * len(chosen)
    if len(chosen) < n:
        tree = cKDTree(points) if tree is None else tree
        rest, rest_lengths = _greedy_phase(points, near, selected, tree)
        chosen += rest
        lengths += rest_lengths
    return np.asarray(chosen[::-1], dtype=np.intp), np.asarray(lengths[::-1], dtype=float)


def conditional_maximin_ordering(points, reference, p=1):
    """Maximin ordering of ``points`` continuing after all of ``reference`` was chosen.

    Used to place prediction points in the ordering of the training points: the
    training points are the coarser ones, and the prediction points come after
    them in the coarse-to-fine sequence, so before them (finest) in the reversed
    order.

    Parameters
    ----------
    points : ndarray, shape (M, d)
    reference : ndarray, shape (N, d)
        Points counted as already chosen; needs N >= p.
    p : int, optional

    Returns
    -------
    order : ndarray of int, shape (M,)
        Finest first, as in :func:`maximin_ordering`.
    lengths : ndarray, shape (M,)
        Distance of each point to its p-th nearest point among ``reference`` and
        the points of ``points`` chosen before it; non-decreasing and finite.

    Raises
    ------
    ValueError
        If a point coincides with a reference point or another point.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = conditional_maximin_ordering(np.array([0.5, 0.9]), np.array([0.0, 1.0]))
    >>> order.tolist(), lengths.tolist()
    ([1, 0], [0.09999999999999998, 0.5])
    """
    points = check_points(points)
    reference = check_points(reference, "reference")
    if reference.shape[1] != points.shape[1]:
        raise ValueError(
            f"reference: expected points of dimension {points.shape[1]}, "
            f"received dimension {reference.shape[1]}"
        )
    p = check_integer("p", p, minimum=1)
    if reference.shape[0] < p:
        raise ValueError(
            f"reference: expected at least p = {p} points, received {reference.shape[0]}"
        )
    check_disjoint(points, reference)
    return _conditional_maximin_ordering(points, reference, p)


def _conditional_maximin_ordering(points, reference, p):
    """:func:`conditional_maximin_ordering` for checked, disjoint inputs."""
    dist, _ = cKDTree(reference).query(points, k=p)
    near = np.asarray(dist, dtype=float).reshape(points.shape[0], p)
    selected = np.zeros(points.shape[0], dtype=bool)
    chosen, lengths = _greedy_phase(points, near, selected, cKDTree(points))
    return np.asarray(chosen[::-1], dtype=np.intp), np.asarray(lengths[::-1], dtype=float)


def maximin_ordering_brute_force(points, p=1, initial=0):
    """O(N²) reference version of :func:`maximin_ordering`, for tests.

    Same arguments, returns and tie-breaking (lowest index wins) as
    :func:`maximin_ordering`; each step recomputes every distance to the point
    just chosen.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(size=(50, 2))
    >>> fast, brute = maximin_ordering(x, p=2), maximin_ordering_brute_force(x, p=2)
    >>> bool(np.array_equal(fast[0], brute[0]) and np.array_equal(fast[1], brute[1]))
    True
    """
    points = check_points(points)
    n = points.shape[0]
    p = _check_p(p, n)
    initial = check_integer("initial", initial, minimum=0, maximum=n - 1)
    near = np.full((n, p), np.inf)
    selected = np.zeros(n, dtype=bool)
    chosen, lengths = [], []
    for t in range(n):
        if t == 0:
            j = initial
        else:
            column = min(t, p) - 1
            j = int(np.argmax(np.where(selected, -1.0, near[:, column])))
        chosen.append(j)
        lengths.append(near[j, p - 1])
        selected[j] = True
        d = np.sqrt(((points - points[j]) ** 2).sum(axis=1))
        near = np.sort(np.concatenate([near, d[:, None]], axis=1), axis=1)[:, :p]
    return np.asarray(chosen[::-1], dtype=np.intp), np.asarray(lengths[::-1], dtype=float)
