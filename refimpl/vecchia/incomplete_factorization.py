r"""Zero fill-in incomplete Cholesky factorization on a prescribed lower-triangular pattern.

scipy has no incomplete Cholesky; this module provides one. The factor ``C`` is
lower triangular, supported on the given pattern S, and reproduces ``A`` on S:
``(C Cᵀ)_{ij} = A_{ij}`` for every ``(i, j) ∈ S`` (the defining property of zero
fill-in). On the full lower triangle it is the exact Cholesky factor.

The work is split in a *symbolic* phase, which depends on the pattern only and is
fully vectorized, and a *numeric* phase, which runs over **level sets** of the
column dependency graph: column j needs the finished columns k < j with
``(j, k) ∈ S``; columns with no unfinished dependency are processed together, with
one batch of gathers, products and segment sums per level.

The elimination runs on the host: a device matrix is copied there explicitly at entry,
and the factor goes back to its device (``cupyx.scipy.sparse`` for CuPy).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from refimpl import backend, vecchia  # vecchia: the public API, looked up at call time

__all__ = ["incomplete_cholesky", "lower_triangle_pattern"]

_TRIPLE_BUDGET = 2_000_000  # update triples per batch of a level (~50 MB of indices)


def _segments(starts, ends):
    """Concatenated ``arange(s, e)`` for each pair, and the pair each element came from."""
    lengths = ends - starts  # (m,)
    total = int(lengths.sum())
    owner = np.repeat(np.arange(starts.size), lengths)  # (total,)
    offsets = np.cumsum(lengths) - lengths  # (m,) where each segment starts in the output
    return starts[owner] + np.arange(total) - offsets[owner], owner


def _check_matrix(A):
    if not sp.issparse(A):
        if isinstance(A, np.ndarray) and A.ndim == 2 and A.dtype.kind in "fiu":
            A = sp.csc_matrix(A)
        else:
            raise ValueError(
                "A: expected a square scipy.sparse matrix or a 2-D NumPy array of reals, "
                f"received {type(A).__name__}"
            )
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"A: expected a non-empty square matrix, received shape {A.shape}")
    if A.dtype.kind not in "fiu":
        raise ValueError(f"A: expected real entries, received dtype {A.dtype}")
    A = sp.csc_matrix(A, dtype=float, copy=True)  # never reorder the caller's arrays
    A.sum_duplicates()  # a stored (i, j) twice means their sum, as in scipy's arithmetic
    if A.nnz and not np.all(np.isfinite(A.data)):
        raise ValueError("A: expected finite entries, received NaN or inf")
    return A


def _check_pattern(pattern, n):
    """ValueError unless ``pattern`` is a lower-triangular Pattern of n columns, diagonal first."""
    if not isinstance(pattern, vecchia.Pattern):
        raise ValueError(
            f"pattern: expected a Pattern (or None), received {type(pattern).__name__}"
        )
    indptr = np.asarray(pattern.indptr)
    indices = np.asarray(pattern.indices)
    if indptr.ndim != 1 or indptr.size != n + 1 or indptr[0] != 0:
        raise ValueError(f"pattern: expected {n} columns to match A, received {indptr.size - 1}")
    counts = np.diff(indptr)
    if np.any(counts < 1) or indices.size != indptr[-1]:
        raise ValueError(
            "pattern: expected every column to hold at least its diagonal entry, "
            f"received {int(np.sum(counts < 1))} empty columns"
        )
    column = np.repeat(np.arange(n), counts)
    first = indptr[:-1]
    missing = np.flatnonzero(indices[first] != np.arange(n))
    if missing.size:
        raise ValueError(
            "pattern: expected the diagonal as the first entry of every column, "
            f"received a column without it (column {int(missing[0])}); the diagonal is needed "
            "for the pivot"
        )
    if np.any(indices < column) or np.any(indices >= n):
        raise ValueError("pattern: expected a lower-triangular pattern with rows in [j, n)")
    increasing = np.diff(indices) > 0
    increasing[indptr[1:-1] - 1] = True  # column boundaries
    if not np.all(increasing):
        raise ValueError("pattern: expected strictly ascending rows within each column")
    return indptr.astype(np.int64), indices.astype(np.int64), column


def lower_triangle_pattern(matrix):
    r"""The pattern of the lower triangle of a sparse matrix, diagonal included.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (N, N)
        Only the positions of its stored entries are used (explicit zeros count).

    Returns
    -------
    pattern : Pattern
        Column j holds j and every i > j with a stored entry ``matrix[i, j]``.

    Notes
    -----
    For the noisy factorization the two patterns used are those of L and of the
    lower triangle of :math:`LL^\top`:

    .. math::

        S(LL^\top) = \{(i, j) : i \ge j,\ \exists k:\ (i, k), (j, k) \in S(L)\}.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.csc_matrix([[4.0, 1.0, 0.0], [1.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    >>> P = lower_triangle_pattern(A)
    >>> P.indptr.tolist(), P.indices.tolist()
    ([0, 2, 3, 4], [0, 1, 1, 2])
    """
    if backend.is_device_array(matrix):
        matrix = backend.to_numpy(matrix)  # the pattern is host structure
    if not sp.issparse(matrix):
        raise ValueError(
            f"matrix: expected a scipy.sparse matrix, received {type(matrix).__name__}"
        )
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(
            f"matrix: expected a non-empty square matrix, received shape {matrix.shape}"
        )
    n = matrix.shape[0]
    coo = sp.coo_matrix(matrix)
    keep = coo.row > coo.col
    rows = np.concatenate([np.arange(n), coo.row[keep]])
    cols = np.concatenate([np.arange(n), coo.col[keep]])
    keys = np.unique(cols.astype(np.int64) * n + rows)  # column-major, rows ascending
    cols, rows = np.divmod(keys, n)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n))])
    return vecchia.Pattern(indptr.astype(np.intp), rows.astype(np.intp))


def _levels(indptr, indices, column, n):
    """Level of each column: 0 without dependencies, else 1 + max level of its dependencies.

    Kahn's algorithm one frontier at a time; the out-edges of column k are its
    strictly-lower entries (rows j > k), the columns that need it.
    """
    strict = indices != column  # (nnz,)
    indegree = np.bincount(indices[strict], minlength=n)  # (n,) dependencies of each column
    level = np.zeros(n, dtype=np.int64)
    frontier = np.flatnonzero(indegree == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        where, _ = _segments(indptr[frontier] + 1, indptr[frontier + 1])  # skip diagonals
        targets = indices[where]
        indegree -= np.bincount(targets, minlength=n)
        frontier = np.unique(targets[indegree[targets] == 0])
        depth += 1
    return level


def _breakdown(j, pivot, n):
    return np.linalg.LinAlgError(
        f"incomplete Cholesky broke down at column {j} of {n} (elimination order): the pivot "
        f"is {pivot!r}, not positive. The zero fill-in factor does not exist on this pattern. "
        "Remedies: a larger rho (a more accurate noise-free factor L), a denser pattern "
        "(pattern='product', the lower triangle of L Lᵀ), or a diagonal shift (add a small "
        "multiple of the identity to A)."
    )


def incomplete_cholesky(A, pattern=None):
    r"""Zero fill-in incomplete Cholesky factor ``C`` of a symmetric matrix on a pattern.

    Parameters
    ----------
    A : scipy.sparse matrix or ndarray, shape (N, N)
        Symmetric; only its lower triangle is read, and entries outside ``pattern``
        are ignored.
    pattern : Pattern or None, optional
        Lower-triangular pattern with the diagonal first in every column (see
        :class:`~refimpl.vecchia.Pattern`). None: the lower triangle of A's own
        sparsity, :func:`lower_triangle_pattern` (classical IC(0)).

    Returns
    -------
    C : scipy.sparse.csc_matrix, shape (N, N)
        Lower triangular with positive diagonal, supported on ``pattern``, with
        :math:`(CC^\top)_{ij} = A_{ij}` on the pattern (to rounding); on A's device
        for a device matrix (computed on the host).

    Raises
    ------
    numpy.linalg.LinAlgError
        If a pivot is not positive (breakdown); the message names the column and the
        remedies.
    ValueError
        If A is not square, finite and real, or the pattern has the wrong size, lacks
        a diagonal entry, or is not lower triangular.

    Notes
    -----
    Column by column (left-looking), with :math:`s_j` the rows of column j,

    .. math::

        d_j = A_{jj} - \sum_{k<j,\,(j,k)\in S} C_{jk}^2, \qquad C_{jj} = \sqrt{d_j},

        C_{ij} = \frac{1}{C_{jj}}\Big(A_{ij} - \sum_{k<j,\ (i,k),(j,k)\in S}
        C_{ik} C_{jk}\Big), \qquad i \in s_j,\ i > j,

    the exact Cholesky recursion with every update that would land outside S
    dropped. The entries kept satisfy :math:`(CC^\top)_{ij} = A_{ij}` for all
    :math:`(i, j) \in S`; for S the full lower triangle C is the Cholesky factor.
    The triples (i, j, k) are found symbolically from S; the numeric phase runs over
    level sets of the dependency graph (a column's level is one more than the
    largest level of the columns it needs), each level as one vectorized batch.
    For a matrix that is not an M-matrix the factor can break down
    (:math:`d_j \le 0`) even though A is positive definite [2]_.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.
    .. [2] Meijerink, van der Vorst, "An iterative solution method for linear systems
       of which the coefficient matrix is a symmetric M-matrix", Math. Comp. 31, 1977.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 2.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> C = incomplete_cholesky(A).toarray()
    >>> bool(np.allclose(C, np.linalg.cholesky(A)))  # no fill-in needed: exact
    True
    """
    like = A
    A = _check_matrix(backend.to_numpy(A) if backend.is_device_array(A) else A)
    n = A.shape[0]
    if pattern is None:
        pattern = lower_triangle_pattern(A)
    indptr, indices, column = _check_pattern(pattern, n)
    nnz = indices.size
    keys = column * n + indices  # (nnz,) sorted: columns ascending, rows ascending within

    lower = sp.tril(A).tocoo()
    a_keys = lower.col.astype(np.int64) * n + lower.row
    order = np.argsort(a_keys)
    a_keys, a_values = a_keys[order], lower.data[order]
    where = np.minimum(np.searchsorted(a_keys, keys), max(a_keys.size - 1, 0))
    values = np.zeros(nnz)
    if a_keys.size:
        found = a_keys[where] == keys
        values[found] = a_values[where[found]]  # A on the pattern

    # row-wise view of the strictly-lower entries: row j lists (k, position of (j, k))
    strict = np.flatnonzero(indices != column)
    by_row = strict[np.lexsort((column[strict], indices[strict]))]  # (m,) sorted by row, col
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(indices[by_row], minlength=n))])

    level = _levels(indptr, indices, column, n)
    columns_by_level = np.argsort(level, kind="stable")
    level_ptr = np.concatenate([[0], np.cumsum(np.bincount(level))])
    for t in range(level_ptr.size - 1):
        cols = columns_by_level[level_ptr[t] : level_ptr[t + 1]]  # (b,) ascending
        for batch in _batches(cols, row_ptr, indptr, by_row, column):
            _update(batch, values, keys, indptr, row_ptr, by_row, column, n)
        pivots = values[indptr[cols]]  # (b,)
        bad = ~(pivots > 0) | ~np.isfinite(pivots)
        if np.any(bad):
            first = int(np.argmax(bad))
            raise _breakdown(int(cols[first]), float(pivots[first]), n)
        entries, owner = _segments(indptr[cols], indptr[cols + 1])
        values[entries] /= np.sqrt(pivots)[owner]
    if not np.all(np.isfinite(values)):
        raise np.linalg.LinAlgError("incomplete Cholesky: the factor has non-finite entries")
    C = sp.csc_matrix((values, indices.astype(np.intp), indptr.astype(np.intp)), shape=(n, n))
    return backend.to_device(C, like=like)


def _batches(cols, row_ptr, indptr, by_row, column):
    """Split a level's columns so that each batch has about ``_TRIPLE_BUDGET`` triples."""
    # triples of column j: for each dependency (j, k), the rows of column k from j on
    deps, owner = _segments(row_ptr[cols], row_ptr[cols + 1])
    if deps.size == 0:
        return [cols]
    work = indptr[column[by_row[deps]] + 1] - by_row[deps]  # (e,) triples per dependency
    per_column = np.bincount(owner, weights=work, minlength=cols.size)  # (b,)
    batch = (np.cumsum(per_column) // _TRIPLE_BUDGET).astype(np.int64)
    return np.split(cols, np.flatnonzero(np.diff(batch)) + 1)


def _update(cols, values, keys, indptr, row_ptr, by_row, column, n):
    """Subtract Σ_k C_ik C_jk from the entries (i, j) of the columns ``cols`` (one level)."""
    deps, owner = _segments(row_ptr[cols], row_ptr[cols + 1])  # dependencies (j, k)
    if deps.size == 0:
        return
    p_jk = by_row[deps]  # (e,) position of entry (j, k)
    j = cols[owner]  # (e,)
    k = column[p_jk]
    q, edge = _segments(p_jk, indptr[k + 1])  # positions of (i, k), i >= j, in column k
    target_keys = j[edge] * n + _row_of(q, keys, n)
    target = np.searchsorted(keys, target_keys)  # (t,) position of (i, j) if in the pattern
    target = np.minimum(target, keys.size - 1)
    inside = keys[target] == target_keys  # updates outside the pattern are dropped
    products = values[q[inside]] * values[p_jk[edge[inside]]]
    target = target[inside]
    entries, _ = _segments(indptr[cols], indptr[cols + 1])  # the level's entries, ascending
    local = np.searchsorted(entries, target)
    values[entries] -= np.bincount(local, weights=products, minlength=entries.size)


def _row_of(positions, keys, n):
    return keys[positions] % n
