r"""Reverse maximin ordering of a point set: the greedy definition and the fast version.

The ordering runs from coarse to fine while it is built: the first point chosen
is the coarsest, each later point is the one farthest from all points chosen so
far, and that distance is its length scale ``l``. It is returned *reversed*, so
that index 0 is the finest point and ``lengths`` do not decrease along the order:
the elimination order in which the inverse Cholesky factor of a kernel matrix is
nearly sparse (the screening effect; see ``docs/derivations/vecchia.md``).

:func:`maximin_ordering_brute_force` is the definition, in O(N²): the readable core's
:func:`refimpl.vecchia.core.reverse_maximin` behind the checks. :func:`maximin_ordering`
gives the same order and lengths in :math:`O(N \log^2 N)` for quasi-uniform points,
by the fast greedy phase at the end of this module (:func:`greedy_maximin`).

The fast greedy phase keeps every unchosen point's current (p-th nearest) distance and
a buffer of the largest ones, sorted by a key that is an upper bound of the distance
(the lazy update of the authors' Julia code: a key is refreshed only when the scan
meets it). It scans the buffer in order and chooses, in one batch, every point that
is provably the next farthest: its key is fresh, and it lies at least its distance
away from the points already in the batch (found with one KD-tree pair query of the
scanned candidates), so choosing those did not change it. A point that fails either
test is held back with an upper bound of its new distance, and the batch stops at the
first point below such a bound. The batch then lowers the distances of all points
within :math:`l_j` of each chosen :math:`x_j` with one KD-tree ball query and
vectorized minima, and the buffer is re-keyed. Balls at step k hold about N/k points
of a quasi-uniform set, so there are :math:`O(N \log N)` updates. The work runs on the
points in a KD-tree's leaf order (near in space is near in memory), and refills draw
from a reserve of the largest distances; neither changes the sequence.

The orderings run on the host (SciPy's KD-tree has no device version): device points
are copied there once, at the checks, and the order and lengths go back to the
caller's device in one place, ``_on_callers_device``.

References
----------
.. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by Kullback–Leibler
   minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.
.. [2] Schäfer, Sullivan, Owhadi, "Compression, inversion, and approximate PCA of
   dense kernel matrices at near-linear computational complexity", Multiscale Model.
   Simul. 19(2), 2021, Alg. 4.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import check_integer
from refimpl.vecchia import core

from .points import (
    binary_scale,
    check_disjoint,
    check_points,
    checked_points_and_tree,
    concatenate_lists,
    pair_distances,
    query_workers,
)

__all__ = [
    "maximin_ordering",
    "maximin_ordering_brute_force",
    "conditional_maximin_ordering",
    "ordering_of_checked_points",
    "conditional_ordering_of_checked_points",
    "checked_ordering",
    "greedy_maximin",
    "insert_distances",
]


def _check_p(p, n):
    return min(check_integer("p", p, minimum=1), n)


def _check_initial(initial, n):
    """``initial`` as a list of distinct indices in [0, n): an int or a non-empty sequence."""
    try:
        return _initial_indices(initial, n)
    except ValueError as error:  # an index out of range may be the points' fault: say n
        raise ValueError(f"{error} (indices of the {n} rows of points)") from None


def _initial_indices(initial, n):
    if getattr(initial, "ndim", None) == 0 and hasattr(initial, "dtype"):
        initial = backend.to_numpy(initial)[()]  # a 0-d array (of any backend) is one index
    if isinstance(initial, int | np.integer) and not isinstance(initial, bool | np.bool_):
        return [check_integer("initial", initial, minimum=0, maximum=n - 1)]
    if isinstance(initial, str | bytes) or not hasattr(initial, "__len__"):
        raise ValueError(
            f"initial: expected an index or a sequence of indices, received {initial!r:.80}"
        )
    values = [check_integer("initial", v, minimum=0, maximum=n - 1) for v in list(initial)]
    if not values or len(set(values)) != len(values):
        raise ValueError(
            f"initial: expected a non-empty sequence of distinct indices, received {values[:10]}"
        )
    return values


def _first_points(points, initial, p):
    """Choose ``initial`` in order, then (while fewer than p are chosen) by the farthest rule.

    Returns the state for the greedy phase: ``near``, ``selected``, chosen, lengths.
    """
    n = points.shape[0]
    near = np.full((n, p), np.inf)  # sorted distances to the p nearest chosen points
    selected = np.zeros(n, dtype=bool)
    chosen, lengths = [], []
    for t in range(max(p, len(initial))):
        j = initial[t] if t < len(initial) else _farthest(near, selected, t, p)
        chosen.append(j)
        lengths.append(near[j, p - 1])
        selected[j] = True
        near = insert_distances(near, np.sqrt(((points - points[j]) ** 2).sum(axis=1)))
    return near, selected, chosen, lengths


def _farthest(near, selected, t, p):
    """Index of the next point: the largest p-th distance (the t-th while t < p), lowest index."""
    column = min(t, p) - 1
    return int(np.argmax(np.where(selected, -1.0, near[:, column])))


def maximin_ordering_brute_force(points, p=1, initial=0):
    r"""Reverse (p-)maximin ordering by its definition, in O(N²): for tests and teaching.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points (a 1-D array is N points on a line).
    p : int, optional
        With ``p > 1``, the length of a point is its distance to the p-th nearest
        previously chosen point (p-maximin); ``p = 1`` is plain maximin.
    initial : int or sequence of int, optional
        Index of the first (coarsest) point chosen, or distinct indices chosen first,
        in that order (each with its p-th nearest distance to those before it).

    Returns
    -------
    order : ndarray of int, shape (N,)
        ``order[0]`` is the finest point and ``order[-1] == initial`` (the first
        entry of a sequence ``initial``).
    lengths : ndarray, shape (N,)
        ``lengths[k]`` is the length scale of point ``order[k]``; non-decreasing.
        The last ``min(p, N)`` entries are ``inf`` (no p coarser points exist).

    Notes
    -----
    Building the sequence coarse to fine, with :math:`C_k` the first k chosen
    points and :math:`\operatorname{dist}_p` the distance to the p-th nearest point,

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, C_k), \qquad l_{i_{k+1}} =
        \operatorname{dist}_p(x_{i_{k+1}}, C_k).

    While fewer than p points are chosen the p-th distance is infinite; those
    points are ranked by the distance to their farthest chosen point and get
    :math:`l = \infty`. Ties go to the lowest index. Each step computes every
    distance to the point just chosen (:func:`refimpl.vecchia.core.reverse_maximin`).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = maximin_ordering_brute_force(np.array([0.0, 1.0, 0.5, 0.25]))
    >>> order.tolist(), lengths.tolist()
    ([3, 2, 1, 0], [0.25, 0.5, 1.0, inf])
    """
    like, points = points, check_points(points)
    n = points.shape[0]
    p = _check_p(p, n)
    initial = _check_initial(initial, n)
    # Exact rescaling by a power of two: no squared distance overflows or underflows, so
    # every length is finite (but the last min(p, N), inf by definition) and the result
    # needs no check.
    scale = binary_scale(points)
    order, lengths = core.reverse_maximin(points * scale, p, initial)
    return _on_callers_device(like, order.astype(np.intp), lengths / scale)


def _on_callers_device(like, order, lengths):
    """The host stage's order and lengths, back on the device of the caller's ``like``
    (the orderings run on the host: SciPy's KD-tree has no device version)."""
    return backend.to_device(order, like=like), backend.to_device(lengths, like=like)


def _reversed(chosen, lengths, scale):
    """Order finest first, and lengths in the caller's units."""
    return np.asarray(chosen[::-1], dtype=np.intp), np.asarray(lengths[::-1], dtype=float) / scale


def maximin_ordering(points, p=1, initial=0):
    r"""Reverse (p-)maximin ordering, fast: a KD-tree and lazily updated distances.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points (a 1-D array is N points on a line).
    p : int, optional
        With ``p > 1``, the length of a point is its distance to the p-th nearest
        previously chosen point (p-maximin); ``p = 1`` is plain maximin.
    initial : int or sequence of int, optional
        Index of the first (coarsest) point chosen, or distinct indices chosen first,
        in that order (each with its p-th nearest distance to those before it).

    Returns
    -------
    order : ndarray of int, shape (N,)
        ``order[0]`` is the finest point and ``order[-1] == initial`` (the first
        entry of a sequence ``initial``).
    lengths : ndarray, shape (N,)
        ``lengths[k]`` is the length scale of point ``order[k]``; non-decreasing.
        The last ``min(p, N)`` entries are ``inf``.

    Notes
    -----
    The same sequence as :func:`maximin_ordering_brute_force`, exactly (order and
    lengths, ties to the lowest index):

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, C_k), \qquad l_{i_{k+1}} =
        \operatorname{dist}_p(x_{i_{k+1}}, C_k).

    The first p points are chosen as in the definition; the rest by
    :func:`greedy_maximin`, in O(N log² N) for quasi-uniform points. For p > 1 the
    first p points are ranked by the distance to their farthest chosen point, a choice
    of ours; the authors' KoLesky.jl breaks it differently, so for p > 1 the first few
    points (and through them the rest) may differ from theirs, while every later step
    is the same greedy rule.

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
    return _on_callers_device(points, *checked_ordering(points, p, initial)[1:])


def checked_ordering(points, p=1, initial=0, name="points"):
    """Check ``points`` and order them: ``(points, order, lengths)``. A repeated point has
    length 0 for p = 1, so the KD-tree query naming its rows (a tenth of the ordering at
    N = 1e6) runs only then; for other p it runs first."""
    p_is_one = isinstance(p, int | np.integer) and not isinstance(p, bool | np.bool_) and p == 1
    points, tree = checked_points_and_tree(points, name, distinct=not p_is_one)
    order, lengths = ordering_of_checked_points(points, tree, p, initial)
    if p_is_one and lengths.size > 1 and lengths.min() == 0.0:  # unsorted with `initial`
        checked_points_and_tree(points, name)  # raises, naming the repeated rows
        raise ValueError(f"{name}: expected distinct points, received some too close to tell apart")
    return points, order, lengths


def ordering_of_checked_points(points, tree, p=1, initial=0):
    """:func:`maximin_ordering` of checked points and the KD-tree that
    :func:`~refimpl.vecchia.points.checked_points_and_tree` returned (None: build one)."""
    n = points.shape[0]
    p = _check_p(p, n)
    initial = _check_initial(initial, n)
    scale = binary_scale(points)
    points = points * scale  # the tree, if given, holds these scaled points
    near, selected, chosen, lengths = _first_points(points, initial, p)
    if len(chosen) < n:
        # the greedy phase uses the tree for its leaf order only: the faster unbalanced build
        tree = cKDTree(points, balanced_tree=False) if tree is None else tree
        rest, rest_lengths = greedy_maximin(points, near, selected, tree)
        chosen += rest
        lengths += rest_lengths
    return _reversed(chosen, lengths, scale)


def conditional_maximin_ordering(points, reference, p=1):
    r"""Maximin ordering of ``points`` continuing after all of ``reference`` was chosen.

    Used to place prediction points in the ordering of the training points: the
    training points are the coarser ones, and the prediction points come after
    them in the coarse-to-fine sequence, so before them (finest) in the reversed
    order.

    Parameters
    ----------
    points : ndarray, shape (M, d)
        Distinct points, distinct from ``reference``.
    reference : ndarray, shape (N, d)
        Points counted as already chosen; needs N >= p.
    p : int, optional
        p-maximin, as in :func:`maximin_ordering`.

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

    Notes
    -----
    With :math:`C_0` the reference set, the greedy rule of
    :func:`maximin_ordering` continues,

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, C_k), \qquad C_{k+1} = C_k \cup \{x_{i_{k+1}}\}.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = conditional_maximin_ordering(np.array([0.5, 0.9]), np.array([0.0, 1.0]))
    >>> order.tolist(), lengths.round(12).tolist()
    ([1, 0], [0.1, 0.5])
    """
    like, points = points, check_points(points)
    reference = check_points(reference, "reference")
    if reference.shape[1] != points.shape[1]:
        raise ValueError(
            f"reference: expected points of dimension {points.shape[1]} like points, "
            f"received dimension {reference.shape[1]}"
        )
    p = check_integer("p", p, minimum=1)
    if reference.shape[0] < p:
        raise ValueError(
            f"reference: expected at least p = {p} points, received {reference.shape[0]}"
        )
    check_disjoint(points, reference)
    return _on_callers_device(like, *conditional_ordering_of_checked_points(points, reference, p))


def conditional_ordering_of_checked_points(points, reference, p, names=("points", "reference")):
    """:func:`conditional_maximin_ordering` for checked, disjoint inputs (``names`` for errors)."""
    scale = min(binary_scale(points), binary_scale(reference))
    points, reference = points * scale, reference * scale
    dist, _ = cKDTree(reference).query(points, k=p)
    near = np.asarray(dist, dtype=float).reshape(points.shape[0], p)
    selected = np.zeros(points.shape[0], dtype=bool)
    chosen, lengths = greedy_maximin(points, near, selected, cKDTree(points))
    if np.min(lengths) <= 0.0:  # distinct points that rescaling to the common range merged
        raise ValueError(
            f"{names[0]}, {names[1]}: the coordinates span too many orders of magnitude for "
            "their distances to be resolved in double precision; rescale them"
        )
    return _reversed(chosen, lengths, scale)


# --- the fast greedy phase ---------------------------------------------------------


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
