r"""The supernodal KL-optimal factor: one dense Cholesky per supernode.

Columns grouped into a supernode share one row set R; on it, one factorization of
:math:`\Theta_{RR}` gives every member's column (derivation in
``docs/derivations/vecchia.md``). Supernodes of similar size are solved as one
stack (:mod:`refimpl.vecchia.batched`).
"""

from __future__ import annotations

import numpy as np

from refimpl.validation import check_nonnegative

from .batched import (
    BLOCK_BUDGET,
    assemble_csc,
    check_kernel,
    kernel_blocks,
    size_class,
    solve_triangular_batched,
    stacked_cholesky,
)
from .points import check_points
from .supernode_set import Supernodes, check_supernodes

__all__ = ["supernodal_kl_factor", "supernodal_flops", "factor_supernodes"]


def supernodal_kl_factor(points, kernel, groups: Supernodes, nugget=0.0):
    r"""KL-optimal factor with one dense Cholesky per supernode.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Points in the elimination order.
    kernel : callable
        ``kernel(X, Y)`` with leading batch axes, as for
        :func:`~refimpl.vecchia.factor.kl_factor`.
    groups : Supernodes
        From :func:`refimpl.vecchia.supernodes.supernodes`, covering all N columns.
    nugget : float, optional
        Added to the diagonal of every kernel block.

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
        Equal (to rounding) to :func:`~refimpl.vecchia.factor.kl_factor` on
        ``groups.pattern()``.

    Raises
    ------
    numpy.linalg.LinAlgError
        Naming the supernode whose block is not positive definite.

    Notes
    -----
    For a supernode with rows :math:`R` (ascending), every member column k has
    rows :math:`R_{\ge k}`, a trailing block of R. On a trailing block the KL-optimal
    column is the exact inverse Cholesky factor of :math:`\Theta_{RR}` in that
    order, so one factorization serves all members:

    .. math::

        \Theta_{RR} = U U^\top,\quad U = F\,\mathrm{chol}(F \Theta_{RR} F)\,F,
        \qquad L_{R, k} = U^{-\top} e_k,

    with F the flip (order reversal). Supernodes are grouped by padded row-set size
    and processed as stacks: one :func:`numpy.linalg.cholesky` and one batched
    triangular solve with the members' unit vectors per stack.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Alg. 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern, maximin_ordering, ball_pattern, supernodes
    >>> x = np.random.default_rng(0).uniform(size=(100, 2))
    >>> order, lengths = maximin_ordering(x)
    >>> groups = supernodes(ball_pattern(x[order], lengths, 2.0), lengths, lam=1.5)
    >>> L = supernodal_kl_factor(x[order], Matern(1.5, 0.2), groups)
    >>> L.shape, bool(np.all(L.diagonal() > 0))
    ((100, 100), True)
    """
    points = check_points(points, distinct=False)  # repeated locations are fine here
    check_kernel(kernel, points)
    nugget = check_nonnegative("nugget", nugget)
    groups = check_supernodes(groups)
    n = points.shape[0]
    if groups.n != n or (groups.rows.size and groups.rows.max() >= n):
        raise ValueError(
            f"groups: expected supernodes of all {n} columns to match points (rows below "
            f"{n}), received {groups.n} member columns"
        )
    return factor_supernodes(points, kernel, groups, nugget)


def factor_supernodes(points, kernel, groups, nugget=0.0, n=None):
    """:func:`supernodal_kl_factor` of checked inputs; ``groups`` may hold some columns only.

    The factor has ``n`` columns (default: ``points.shape[0]``); columns that are no
    member of ``groups`` stay empty.
    """
    n = points.shape[0] if n is None else n
    n_rows, n_members = groups.sizes()
    position = groups.positions()  # (members,) in the order of groups.members
    _, indptr = groups.column_pointers(n)

    dests, rows_out, values = [], [], []
    classes = size_class(n_rows)
    for size in np.unique(classes):
        nodes_all = np.flatnonzero(classes == size)
        chunk = max(1, BLOCK_BUDGET // int(size) ** 2)
        for start in range(0, nodes_all.size, chunk):
            nodes = nodes_all[start : start + chunk]  # (B,)
            sizes = n_rows[nodes]
            width = int(n_members[nodes].max())
            t = np.arange(size)
            valid = t[None, :] < sizes[:, None]  # (B, size)
            # row sets in descending order (coarsest first): the flipped matrix F Θ F
            where = groups.row_ptr[nodes][:, None] + sizes[:, None] - 1 - t
            index = np.where(valid, groups.rows[np.where(valid, where, 0)], 0)
            K = kernel_blocks(points, kernel, index, valid, nugget)  # (B, size, size)
            C = stacked_cholesky(K, "supernode", nodes, sizes)
            # member c of supernode b sits at flipped position q = size_b - 1 - position
            c = np.arange(width)
            has = c[None, :] < n_members[nodes][:, None]  # (B, width)
            slot = np.where(has, groups.member_ptr[nodes][:, None] + c, 0)
            q = np.where(has, sizes[:, None] - 1 - position[slot], 0)  # (B, width)
            rhs = np.zeros((nodes.size, size, width))
            b_index = np.repeat(np.arange(nodes.size), width).reshape(nodes.size, width)
            rhs[b_index[has], q[has], np.broadcast_to(c, has.shape)[has]] = 1.0
            Y = solve_triangular_batched(np.swapaxes(C, -1, -2), rhs, lower=False)
            # entry (t, c) is the value of row index[t] in column members[slot]; it
            # belongs to the column when t <= q, at offset q - t within the column
            keep = has[:, None, :] & (t[None, :, None] <= q[:, None, :])  # (B, size, width)
            column = groups.members[slot]  # (B, width)
            dest = indptr[column][:, None, :] + q[:, None, :] - t[None, :, None]
            dests.append(dest[keep])
            rows_out.append(np.broadcast_to(index[:, :, None], keep.shape)[keep])
            values.append(Y[keep])
    return assemble_csc(
        n, indptr, np.concatenate(dests), np.concatenate(rows_out), np.concatenate(values)
    )


def supernodal_flops(groups: Supernodes):
    r"""Floating-point operations of :func:`supernodal_kl_factor`, without padding.

    Parameters
    ----------
    groups : Supernodes
        The supernodes of the factor.

    Returns
    -------
    flops : float

    Notes
    -----
    A Cholesky factorization of :math:`n^3/3` per supernode of n rows, and a
    triangular solve of :math:`n^2` per member column (the kernel evaluations are
    not counted):

    .. math::

        \text{flops} = \sum_{\tilde k} \Big(\frac{|R_{\tilde k}|^3}{3}
        + |\tilde k|\, |R_{\tilde k}|^2\Big).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Thm. 3.5.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import full_pattern, supernodes
    >>> supernodal_flops(supernodes(full_pattern(3), np.ones(3), lam=1.0))  # 3³/3 + 3·3²
    36.0
    """
    n_rows, n_members = check_supernodes(groups).sizes()
    n_rows = n_rows.astype(float)
    return float(np.sum(n_rows**3 / 3.0 + n_members * n_rows**2))
