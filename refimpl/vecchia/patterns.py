r"""Sparsity patterns of the inverse Cholesky factor: ρ-balls, m nearest neighbours.

All patterns here are lower triangular in the *ordered* index space (rows
``i >= j``), stored as a :class:`~refimpl.vecchia.sparsity.Pattern`. Why the ρ-ball
pattern suffices (the screening effect) is in ``docs/derivations/vecchia.md``.

Geometry is computed on the CPU with ``scipy.spatial.cKDTree``; CuPy input is
copied to the host.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import as_float_array, check_array_size, check_integer

from .points import (
    SMALLEST_EXACT_DISTANCE,
    binary_scale,
    check_lengths,
    check_no_near_pairs,
    check_rho,
    concatenate_lists,
    pair_distances,
    query_workers,
)
from .sparsity import pattern_from_pairs

__all__ = ["ball_pattern", "knn_pattern", "full_pattern"]


def _ordered_points(points, name="points"):
    points = backend.to_numpy(as_float_array(name, points, ndim=(1, 2)))
    points = points[:, None] if points.ndim == 1 else points
    if points.shape[0] < 1 or points.shape[1] < 1:
        raise ValueError(
            f"{name}: expected at least one point of dimension >= 1, received shape {points.shape}"
        )
    return points


def _scale_levels(lengths, base=2.0):
    """Split the ordered indices into runs whose lengths lie within a factor ``base``.

    A run also takes at least half of the columns still to come: each run builds a
    KD-tree of every point from its start on, and the finest few points of a random
    set have lengths far below the rest, so runs by scale alone would build many
    trees of nearly all points. With this rule the trees hold at most 2N points in all;
    the price is that a column late in a long run also meets the finer points of its
    run (at most about as many as the coarser ones it keeps), which it discards.
    """
    n = lengths.size
    starts = [0]
    while starts[-1] < n:
        start = starts[-1]
        with np.errstate(over="ignore"):  # inf: the run takes the rest
            upper = lengths[start] * base
        stop = int(np.searchsorted(lengths, upper, side="right")) if np.isfinite(upper) else n
        starts.append(max(stop, start + 1, start + (n - start) // 2))
    return starts


#: A level's pairs come from one self-join of its KD-tree at its largest radius unless
#: that finds more than this many times the points of per-column ball queries (break-even
#: measured at about 2 in 1D to 3D: a join costs less per point found than lists do).
SELF_JOIN_EXCESS = 2.0


def _level_pairs(tree, points, radius, start, stop, cols):
    """Pairs (i > j) with j in ``cols`` (finite radii), a superset of dist <= radius[j].

    ``tree`` holds ``points[start:]``. Either one self-join at the level's largest radius
    (``query_pairs`` returns arrays of pairs a < b, so a is the column), or one ball query
    per column; a sample decides which. The pairs are the same either way.
    """
    widest = float(radius[cols].max()) * (1.0 + 1e-12)
    # A seeded random sample of 1/256 of the points: a cluster it misses has about a thousand
    # points at most (whatever N), so a misjudged self-join stays small; evenly spaced
    # indices could line up with the order of the points.
    rng = np.random.default_rng(0)
    sample = rng.choice(tree.n, min(tree.n, max(256, tree.n // 256)), replace=False)
    per_point = tree.query_ball_point(tree.data[sample], widest, return_length=True).mean()
    sample = rng.choice(cols, min(cols.size, max(256, cols.size // 256)), replace=False)
    per_column = tree.query_ball_point(points[sample], radius[sample], return_length=True)
    self_join = tree.n * (per_point - 1) / 2  # pairs, without a point with itself
    if self_join <= SELF_JOIN_EXCESS * cols.size * max(per_column.mean(), 1.0):
        pairs = tree.query_pairs(widest, output_type="ndarray")  # (pairs, 2), a < b
        keep = pairs[:, 0] < stop - start
        columns, rows = pairs[:, 0][keep] + start, pairs[:, 1][keep] + start
        if np.isinf(radius[start:stop]).any():  # infinite columns: whole, in the caller
            keep = np.isfinite(radius[columns])
            columns, rows = columns[keep], rows[keep]
        return rows, columns
    found, counts = concatenate_lists(
        tree.query_ball_point(
            points[cols],
            np.minimum(radius[cols], np.finfo(float).max / 2) * (1.0 + 1e-12),
            return_sorted=False,
            workers=query_workers(len(cols)),
        )
    )
    rows, columns = found + start, np.repeat(cols, counts)
    keep = rows > columns
    return rows[keep], columns[keep]


def ball_pattern(points, lengths, rho):
    r"""The ρ-ball pattern S_ρ of ordered points.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Points **already in the elimination order** (``points[order]``).
    lengths : ndarray, shape (N,)
        Their length scales (``inf`` allowed); non-decreasing for the reverse maximin
        order, which is where the method is efficient.
    rho : float
        ρ > 0; ``inf`` gives the full lower-triangular pattern.

    Returns
    -------
    Pattern

    Notes
    -----
    .. math::

        S_\rho = \{(i, j) : i \ge j,\ \operatorname{dist}(x_i, x_j) \le \rho\, l_j\}.

    Columns are processed by scale levels (lengths within a factor 2); the rows of
    a level's columns are found in a KD-tree of the points at least as coarse as the
    level, by one self-join at the level's largest radius or by a ball query per
    column, whichever a sample says finds fewer points per unit of cost. Each column
    meets O(ρ^d) points, and the cost is O(N log N ρ^d) in all.

    With non-monotone lengths (prediction points placed first) the radius is
    :math:`\rho\, l_j` as in the definition above; the authors' Julia code uses
    :math:`\rho \min(l_i, l_j)` there, so this pattern is a superset of theirs
    (equal when the lengths do not decrease).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, eq. (3.2).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.25], [0.5], [1.0], [0.0]])  # ordered, lengths below
    >>> S = ball_pattern(x, np.array([0.25, 0.5, 1.0, np.inf]), rho=1.0)
    >>> [S.column(j).tolist() for j in range(4)]
    [[0, 1, 3], [1, 2, 3], [2, 3], [3]]
    """
    points = _ordered_points(points)
    n = points.shape[0]
    lengths = check_lengths(lengths, n)
    rho = check_rho(rho)
    scale = binary_scale(points)  # exact: squared distances of the points cannot overflow
    # columns contiguous: pair_distances gathers from each
    points, lengths = np.asfortranarray(points * scale), lengths * scale
    radius = rho * lengths
    radius = np.where(np.isfinite(radius), radius, np.inf)
    if radius.min() < SMALLEST_EXACT_DISTANCE:
        check_no_near_pairs(points, scale)
    rows_all, cols_all = [], []
    # Levels only steer efficiency; the running maximum keeps them valid for lengths that
    # are not sorted (prediction points placed before the training points).
    starts = _scale_levels(np.maximum.accumulate(lengths))
    for start, stop in itertools.pairwise(starts):
        tree = cKDTree(points[start:], balanced_tree=False)
        # The level's columns in the tree's leaf order: consecutive queries then visit the
        # same leaves (maximin order scatters them, and at N = 1e6 cache misses dominate).
        leaf = tree.indices
        cols = start + leaf[leaf < stop - start]
        finite = np.isfinite(radius[cols])
        if finite.any():
            rows, columns = _level_pairs(tree, points, radius, start, stop, cols[finite])
            # The tree compares squared distances with a rounded r², which can drop a
            # point with sqrt(d²) == r exactly: the queries are a hair wider, and here
            # exactly the points of the definition stay, dist(x_i, x_j) <= ρ l_j.
            keep = pair_distances(points, rows, columns) <= radius[columns]
            rows_all += [rows[keep], cols[finite]]  # the diagonal: distance 0
            cols_all += [columns[keep], cols[finite]]
        for j in cols[~finite]:  # infinite length: the whole rest of the column
            rows_all.append(np.arange(j, n))
            cols_all.append(np.full(n - j, j))
    return pattern_from_pairs(np.concatenate(rows_all), np.concatenate(cols_all), n)


def full_pattern(n):
    r"""The dense lower-triangular pattern of size n (ρ = ∞).

    Parameters
    ----------
    n : int
        Number of columns, n >= 1.

    Returns
    -------
    Pattern
        Column j holds every row j, ..., n − 1: n(n + 1)/2 entries.

    Raises
    ------
    ValueError
        If n is not a positive integer or the pattern would not fit in memory.

    Notes
    -----
    .. math::

        S_\infty = \{(i, j) : i \ge j\},

    on which the KL-optimal factor is the exact inverse Cholesky factor.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 2.

    Examples
    --------
    >>> full_pattern(3).column(0).tolist()
    [0, 1, 2]
    """
    n = check_integer("n", n, minimum=1)
    check_array_size("n", (n * (n + 1) // 2, 3))  # row and column indices and their key
    cols, rows = np.triu_indices(n)  # pairs (col, row) with row >= col
    return pattern_from_pairs(rows, cols, n)


def knn_pattern(points, m):
    r"""Classic Vecchia pattern: each point with its m nearest coarser points.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Points in the elimination order (finest first).
    m : int
        Number of conditioning neighbours, m >= 0; column ``j`` gets ``j`` and the
        ``min(m, N − 1 − j)`` nearest points among ``j + 1, ..., N − 1``.

    Returns
    -------
    Pattern

    Notes
    -----
    In Vecchia's approximation the density is a product of conditionals
    :math:`\prod_j p(\theta_j \mid \theta_{c(j)})`; here :math:`c(j)` are the
    m nearest points that come later in the elimination order, which is
    "previously ordered" in the coarse-to-fine sequence.

    The neighbours among later points are found with a KD-tree of the points from
    ``start`` on, for runs of columns ``[start, stop)`` of geometrically growing
    size; candidates from inside the run (``i <= j``) are dropped and columns left
    short are queried again with more neighbours.

    References
    ----------
    .. [1] Vecchia, "Estimation and model identification for continuous spatial
       processes", J. R. Stat. Soc. B 50(2), 1988.

    Examples
    --------
    >>> import numpy as np
    >>> S = knn_pattern(np.array([[0.1], [0.6], [1.0], [0.0]]), m=1)
    >>> [S.column(j).tolist() for j in range(4)]
    [[0, 3], [1, 2], [2, 3], [3]]
    """
    points = _ordered_points(points)
    n = points.shape[0]
    m = min(check_integer("m", m, minimum=0), n - 1)
    points = points * binary_scale(points)  # exact: no overflow of squared distances
    rows_all = [np.arange(n)]
    cols_all = [np.arange(n)]
    if m > 0 and n > 1:
        stop = n
        while stop > 0:
            start = max(0, stop - max(64, (n - stop)))  # runs grow geometrically
            tree = cKDTree(points[start:])
            cols = np.arange(start, stop)
            want = np.minimum(m, n - 1 - cols)
            pending = cols[want > 0]
            k = 2 * m + 2  # at most half of the tree lies inside the run
            while pending.size:
                kk = min(k, n - start)
                dist, idx = tree.query(points[pending], k=kk)
                idx = idx.reshape(pending.size, kk) + start
                later = idx > pending[:, None]
                # nearest later points first: rank among the later ones
                rank = np.cumsum(later, axis=1)
                take = later & (rank <= np.minimum(m, n - 1 - pending)[:, None])
                got = take.sum(axis=1)
                done = got == np.minimum(m, n - 1 - pending)
                rows_all.append(idx[take & done[:, None]])
                cols_all.append(np.broadcast_to(pending[:, None], idx.shape)[take & done[:, None]])
                pending = pending[~done]
                k *= 2
            stop = start
    return pattern_from_pairs(np.concatenate(rows_all), np.concatenate(cols_all), n)
