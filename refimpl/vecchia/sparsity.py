r"""The lower-triangular sparsity pattern of an inverse Cholesky factor.

A pattern is stored column by column (CSC without values) in the *ordered*
index space: column ``j`` holds the row indices ``s_j``, sorted ascending, with
``j`` itself first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from refimpl import backend
from refimpl.validation import check_array_type, check_integer

__all__ = [
    "Pattern",
    "check_pattern",
    "pattern_from_pairs",
    "sorted_index_pairs",
    "pattern_from_csc",
    "index_array",
]


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
