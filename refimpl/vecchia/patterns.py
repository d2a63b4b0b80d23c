r"""Sparsity patterns of the inverse Cholesky factor: the container, ρ-balls, m nearest neighbours.

A pattern is stored column by column (CSC without values) in the *ordered* index space:
column ``j`` holds the row indices ``s_j``, sorted ascending, with ``j`` itself first, so
every pattern is lower triangular (rows ``i >= j``). :class:`Pattern` is the container;
:func:`ball_pattern`, :func:`knn_pattern` and :func:`full_pattern` build the patterns of
the method. Why the ρ-ball pattern suffices (the screening effect) is in
``docs/derivations/vecchia.md``.

Geometry is computed on the CPU with ``scipy.spatial.cKDTree``; CuPy input is
copied to the host.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    check_array_size,
    check_array_type,
    check_integer,
)

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

__all__ = [
    "Pattern",
    "ball_pattern",
    "knn_pattern",
    "full_pattern",
    "check_pattern",
    "pattern_from_pairs",
    "sorted_index_pairs",
    "pattern_from_csc",
    "index_array",
]


# --- the container --------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    r"""Lower-triangular sparsity pattern in compressed-column form.

    Parameters
    ----------
    indptr : ndarray of int, shape (N + 1,)
        Column ``j`` occupies ``indices[indptr[j]:indptr[j + 1]]``; ``indptr[0] == 0``.
    indices : ndarray of int, shape (nnz,)
        Row indices, strictly ascending within each column, the diagonal first
        (so every row index of column j is >= j).

    Attributes
    ----------
    indptr, indices : ndarray of int
        As given (copied to ``numpy.intp`` arrays).

    Raises
    ------
    ValueError
        If the arrays are not of that form; the message names the array.

    Notes
    -----
    Column j holds the set :math:`s_j \ni j` of the rows allowed to be nonzero in
    column j of the factor,

    .. math::

        S = \{(i, j) : i \in s_j\}, \qquad s_j \subseteq \{j, j + 1, \dots, N - 1\},

    the sparsity set over which the KL divergence is minimized.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> S = Pattern(indptr=np.array([0, 2, 3]), indices=np.array([0, 1, 1]))
    >>> S.n, S.nnz, S.column(0).tolist()
    (2, 3, [0, 1])
    """

    indptr: np.ndarray
    indices: np.ndarray

    def __post_init__(self):
        indptr = index_array("indptr", self.indptr)
        indices = index_array("indices", self.indices)
        if indptr.size < 2 or indptr[0] != 0 or np.any(np.diff(indptr) < 1):
            raise ValueError(
                "indptr: expected the pointers of a pattern, N + 1 >= 2 increasing "
                f"from 0 (every column holds its diagonal), received {indptr[:8].tolist()}..."
            )
        n = indptr.size - 1
        if indptr[-1] != indices.size:
            raise ValueError(
                f"indices: expected indptr[-1] = {int(indptr[-1])} pattern entries, "
                f"received {indices.size}"
            )
        column = np.repeat(np.arange(n), np.diff(indptr))  # (nnz,)
        first = np.zeros(indices.size, dtype=bool)
        first[indptr[:-1]] = True
        ascending = np.ones(indices.size, dtype=bool)
        ascending[1:] = indices[1:] > indices[:-1]
        if (
            np.any(indices[first] != column[first])
            or np.any(~(ascending | first))
            or np.any(indices >= n)
        ):
            raise ValueError(
                "indices: expected the rows of each column of the pattern strictly "
                f"ascending from the diagonal and below N = {n} (lower triangular)"
            )
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)

    @property
    def n(self) -> int:
        """Number of columns N."""
        return self.indptr.size - 1

    @property
    def nnz(self) -> int:
        """Number of entries."""
        return int(self.indptr[-1])

    def column(self, j):
        """Row indices ``s_j`` of column ``j``, ascending, ``j`` first."""
        j = check_integer("j", j, minimum=0, maximum=self.n - 1)
        return self.indices[self.indptr[j] : self.indptr[j + 1]]

    def counts(self):
        """Entries per column, shape (N,)."""
        return np.diff(self.indptr)

    def to_sparse(self):
        """The pattern as a ``scipy.sparse.csc_matrix`` of ones."""
        data = np.ones(self.nnz)
        return sp.csc_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def contains(self, other: Pattern) -> bool:
        """True if every entry of ``other`` is an entry of this pattern (same N)."""
        other = check_pattern(other, "other")
        if other.n != self.n:
            raise ValueError(f"other: expected a pattern of {self.n} columns, received {other.n}")
        mine = self.to_sparse()
        theirs = other.to_sparse()
        return (theirs - theirs.multiply(mine)).nnz == 0


def index_array(name, values):
    check_array_type(name, values)
    array = np.asarray(backend.to_numpy(values)) if not isinstance(values, str) else None
    if array is None or array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected a 1-D array of integers, received {values!r:.80}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name}: expected non-negative integers, received {int(array.min())}")
    return array.astype(np.intp)


def check_pattern(pattern, name="pattern", n=None):
    """Return ``pattern`` if it is a :class:`Pattern` (of ``n`` columns), else raise ValueError."""
    if not isinstance(pattern, Pattern):
        raise ValueError(
            f"{name}: expected a refimpl.vecchia.Pattern, received {type(pattern).__name__}"
        )
    if n is not None and pattern.n != n:
        raise ValueError(f"{name}: expected {n} columns to match points, received {pattern.n}")
    return pattern


def pattern_from_pairs(rows, cols, n):
    """Pattern from distinct (row, column) pairs with row >= column, every diagonal present.

    The result is sorted by construction, so the checks of :class:`Pattern` are skipped.
    """
    cols, rows = sorted_index_pairs(cols, rows, n)  # column-major, rows ascending
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(cols, minlength=n), out=indptr[1:])
    return pattern_from_csc(indptr, rows.astype(np.intp))


def sorted_index_pairs(first, second, n, unique=False):
    """Pairs of indices below ``n``, sorted by ``first`` then ``second`` (repeats dropped
    with ``unique``): ``(first, second)`` as int64 arrays.

    Each pair is packed into one int64 key by shifts (NumPy's integer ``divmod``, the other
    way to unpack, is several times slower); keys fit for n below about 3·10⁹.
    """
    shift = max(1, int(n).bit_length())
    key = np.sort((first.astype(np.int64) << shift) | second)
    if unique:
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]  # sorted: repeats adjacent
    return key >> shift, key & ((1 << shift) - 1)


def pattern_from_csc(indptr, indices):
    """A :class:`Pattern` built inside the subpackage (valid by construction), unchecked."""
    pattern = object.__new__(Pattern)
    object.__setattr__(pattern, "indptr", indptr)
    object.__setattr__(pattern, "indices", indices)
    return pattern


# --- the patterns of the method --------------------------------------------------------


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


#: Words per pattern entry while a pattern is built (pairs, kept pairs, distances, sort keys
#: and the result): what check_array_size is asked about before a pattern is allocated.
WORDS_PER_ENTRY = 10

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
    by_column = cols.size * max(per_column.mean(), 1.0)
    # the sample's estimate of the entries, checked before the queries allocate them
    check_array_size("rho, lengths", (int(min(self_join, by_column)), WORDS_PER_ENTRY))
    if self_join <= SELF_JOIN_EXCESS * by_column:
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
    # columns of infinite radius hold every later row: their entries are known now
    whole = n - np.flatnonzero(np.isinf(radius))
    check_array_size("rho, lengths", (int(whole.sum()), WORDS_PER_ENTRY))
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
    check_array_size("m", (n, 2 * m + 2, 2))  # the queries' distances and indices
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
