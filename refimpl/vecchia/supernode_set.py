r"""The ``Supernodes`` container: columns grouped into supernodes, with shared row sets.

Built by :func:`refimpl.vecchia.supernodes.supernodes`; used by
:func:`refimpl.vecchia.supernodal.supernodal_kl_factor`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl.validation import check_integer

from .sparsity import Pattern, index_array, pattern_from_csc

__all__ = ["Supernodes", "check_supernodes", "supernodes_from_arrays"]

_FIELDS = ("member_ptr", "members", "row_ptr", "rows")


@dataclass(frozen=True)
class Supernodes:
    r"""Columns grouped into supernodes, each with its shared row set.

    Parameters
    ----------
    member_ptr : ndarray of int, shape (S + 1,)
        Supernode ``s`` owns columns ``members[member_ptr[s]:member_ptr[s + 1]]``.
    members : ndarray of int, shape (N,)
        Column indices, ascending within a supernode; every column appears once.
    row_ptr : ndarray of int, shape (S + 1,)
    rows : ndarray of int, shape (sum of row-set sizes,)
        Shared row set of each supernode, strictly ascending; its first entry is the
        supernode's first (finest) column, and it holds every member.

    Attributes
    ----------
    member_ptr, members, row_ptr, rows : ndarray of int
        As given (copied to ``numpy.intp`` arrays).

    Raises
    ------
    ValueError
        If the arrays are not of that form; the message names the array.

    Notes
    -----
    Supernode :math:`\tilde k` with row set :math:`R` gives each member column k the
    rows of R from k on,

    .. math::

        \tilde s_k = \{i \in R : i \ge k\},

    so that one Cholesky factorization of :math:`\Theta_{RR}` serves every member
    (see :func:`refimpl.vecchia.supernodal.supernodal_kl_factor`).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> groups = Supernodes(np.array([0, 2, 3]), np.array([0, 1, 2]),
    ...                     np.array([0, 3, 4]), np.array([0, 1, 2, 2]))
    >>> groups.count, groups.row_set(0).tolist(), groups.pattern().column(1).tolist()
    (2, [0, 1, 2], [1, 2])
    """

    member_ptr: np.ndarray
    members: np.ndarray
    row_ptr: np.ndarray
    rows: np.ndarray

    def __post_init__(self):
        arrays = {f: index_array(f, getattr(self, f)) for f in _FIELDS}
        for ptr, data in (("member_ptr", "members"), ("row_ptr", "rows")):
            pointers = arrays[ptr]
            if (
                pointers.size < 1
                or pointers[0] != 0
                or np.any(np.diff(pointers) < 1)
                or pointers[-1] != arrays[data].size
            ):
                raise ValueError(
                    f"{ptr}: expected increasing pointers from 0 to len({data}) = "
                    f"{arrays[data].size}, received {pointers[:8].tolist()}..."
                )
        if arrays["row_ptr"].size != arrays["member_ptr"].size:
            raise ValueError(
                f"row_ptr: expected {arrays['member_ptr'].size} pointers like member_ptr, "
                f"received {arrays['row_ptr'].size}"
            )
        for name, value in arrays.items():
            object.__setattr__(self, name, value)
        members, rows = self.members, self.rows
        if np.unique(members).size != members.size:
            raise ValueError("members: expected every column once, received repeated columns")
        for name, values, ptr in (
            ("members", members, self.member_ptr),
            ("rows", rows, self.row_ptr),
        ):
            first = np.zeros(values.size, dtype=bool)
            first[ptr[:-1]] = True
            if np.any((np.diff(values, prepend=-1) <= 0) & ~first):
                raise ValueError(f"{name}: expected strictly ascending entries in each supernode")
        position = self.positions()
        owner = np.repeat(np.arange(self.count), np.diff(self.member_ptr))
        inside = (position < np.diff(self.row_ptr)[owner]) & (
            rows[np.minimum(self.row_ptr[owner] + position, rows.size - 1)] == members
        )
        if not np.all(inside) or np.any(rows[self.row_ptr[:-1]] != members[self.member_ptr[:-1]]):
            raise ValueError(
                "rows, members: expected each supernode's row set to start at its first "
                "member and to hold every member"
            )

    @property
    def count(self) -> int:
        """Number of supernodes S."""
        return self.member_ptr.size - 1

    @property
    def n(self) -> int:
        """Number of columns N."""
        return self.members.size

    def member_columns(self, s):
        """Columns of supernode ``s``."""
        s = check_integer("s", s, minimum=0, maximum=self.count - 1)
        return self.members[self.member_ptr[s] : self.member_ptr[s + 1]]

    def row_set(self, s):
        """Shared rows of supernode ``s``."""
        s = check_integer("s", s, minimum=0, maximum=self.count - 1)
        return self.rows[self.row_ptr[s] : self.row_ptr[s + 1]]

    def sizes(self):
        """(row-set sizes, member counts), each of shape (S,)."""
        return np.diff(self.row_ptr), np.diff(self.member_ptr)

    def positions(self):
        """Position of every member column inside its supernode's row set, shape (N,).

        Returned in the order of :attr:`members`.
        """
        owner = np.repeat(np.arange(self.count), np.diff(self.member_ptr))
        offsets = self.row_ptr[owner]
        # rows are ascending within each supernode, and offset by the supernode id so
        # that one global searchsorted finds every member inside its own row set
        big = max(self.n, int(self.rows.max()) + 1 if self.rows.size else 0) + 1
        keyed_rows = np.repeat(np.arange(self.count), np.diff(self.row_ptr)) * big + self.rows
        found = np.searchsorted(keyed_rows, owner * big + self.members)
        return found - offsets

    def first(self, count):
        """The first ``count`` supernodes (their members and row sets), for partial factors."""
        count = check_integer("count", count, minimum=1, maximum=self.count)
        return supernodes_from_arrays(
            member_ptr=self.member_ptr[: count + 1],
            members=self.members[: self.member_ptr[count]],
            row_ptr=self.row_ptr[: count + 1],
            rows=self.rows[: self.row_ptr[count]],
        )

    def column_pointers(self, n=None):
        """Entries per column of the enlarged pattern and their CSC ``indptr``.

        Returns ``(counts, indptr)`` of shapes (n,) and (n + 1,); ``n`` defaults to
        the number of member columns (larger for a subset of supernodes, whose
        other columns are empty).
        """
        n = self.n if n is None else n
        n_rows, _ = self.sizes()
        owner = np.repeat(np.arange(self.count), np.diff(self.member_ptr))
        counts = np.zeros(n, dtype=np.intp)
        counts[self.members] = n_rows[owner] - self.positions()
        indptr = np.zeros(n + 1, dtype=np.intp)
        np.cumsum(counts, out=indptr[1:])
        return counts, indptr

    def pattern(self) -> Pattern:
        r"""The enlarged pattern: column k of supernode s gets the rows of s that are >= k.

        Notes
        -----
        .. math::

            \tilde s_k = \{ i \in \textstyle\bigcup_{k' \in \tilde k} s_{k'} : i \ge k \},

        where :math:`\tilde k` is the supernode of column k. It contains the
        original pattern.
        """
        n_rows, _ = self.sizes()
        owner = np.repeat(np.arange(self.count), np.diff(self.member_ptr))
        position = self.positions()
        _, indptr = self.column_pointers()
        # entries of member k: rows[row_ptr[s] + position : row_ptr[s + 1]]
        starts = self.row_ptr[owner] + position  # (N,)
        lengths = n_rows[owner] - position
        order_of_columns = np.argsort(self.members, kind="stable")
        # lay the members out by ascending column index
        lay_starts = starts[order_of_columns]
        lay_lengths = lengths[order_of_columns]
        take = np.repeat(lay_starts - indptr[:-1], lay_lengths) + np.arange(indptr[-1])
        return pattern_from_csc(indptr, self.rows[take])


def supernodes_from_arrays(member_ptr, members, row_ptr, rows):
    """Supernodes built inside the subpackage (valid by construction), unchecked."""
    groups = object.__new__(Supernodes)
    for name, value in zip(_FIELDS, (member_ptr, members, row_ptr, rows), strict=True):
        object.__setattr__(groups, name, value)
    return groups


def check_supernodes(groups, name="groups"):
    """Return ``groups`` if it is a :class:`Supernodes`, else raise ValueError naming it."""
    if not isinstance(groups, Supernodes):
        raise ValueError(
            f"{name}: expected refimpl.vecchia.Supernodes, received {type(groups).__name__}"
        )
    return groups
