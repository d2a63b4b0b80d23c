r"""KL-optimal inverse Cholesky factors: the column formula, by supernodes, and exact.

All factors live in the elimination order (finest point first) and approximate
the *inverse* of the kernel matrix, ``Θ⁻¹ ≈ L Lᵀ``, with ``L`` lower triangular.
The column formula (Theorem 2.1 of Schäfer, Katzfuss & Owhadi, derived in
``docs/derivations/vecchia.md``) gives each column from its own small block of Θ
(:func:`kl_factor`). Columns grouped into a supernode share one row set R; on it, one
factorization of :math:`\Theta_{RR}` gives every member's column
(:func:`supernodal_kl_factor`, the fast version). Both solve their blocks in stacks of
similar size (:mod:`refimpl.vecchia.batched`); ``tests/test_core_vecchia.py`` holds
each equal to its plain loop in :mod:`refimpl.vecchia.core`. The dense exact factor
(:func:`dense_inverse_cholesky`) is the core's, behind the checks.

The factors follow the backend of their points: kernel blocks, stacked Cholesky
factors and solves run there, and the factor is a ``scipy.sparse.csc_matrix`` for NumPy
points, the device backend's ``csc_matrix`` (``cupyx.scipy.sparse``) for device points.
Only the structure (patterns, supernodes: integers) is computed on the host; device
points are copied there once, explicitly, for the checks. The dense exact factor
follows the backend of its input.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import all_finite, check_array_size, check_nonnegative
from refimpl.vecchia import core

from .batched import (
    BLOCK_BUDGET,
    assemble_csc,
    check_kernel,
    csc_factor,
    kernel_blocks,
    size_class,
    solve_triangular_batched,
    stacked_cholesky,
)
from .dense import check_symmetric, flipped_cholesky
from .patterns import Pattern, check_pattern
from .points import check_points
from .supernodes import Supernodes, check_supernodes

__all__ = [
    "kl_factor",
    "supernodal_kl_factor",
    "supernodal_flops",
    "factor_supernodes",
    "check_block_size",
    "dense_inverse_cholesky",
]


def check_block_size(size, name):
    """ValueError naming ``name`` unless a kernel block of ``size`` rows (with its Cholesky
    factor and the solve's work: four of its size) fits in memory."""
    check_array_size(name, (int(size), int(size), 4))


def kl_factor(points, kernel, pattern: Pattern, nugget=0.0):
    r"""Column-by-column KL-optimal inverse Cholesky factor on a given pattern.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Points **in the elimination order** (``points[order]``). Any finite rows:
        repeated coordinates are allowed, and a kernel may read extra columns (a
        measurement type, say) as it likes; only the kernel looks at them.
    kernel : callable
        ``kernel(X, Y)`` returning the block, e.g. :class:`~refimpl.vecchia.Matern`;
        it must accept leading batch axes, ``X (B, n, d) -> (B, n, n)``, and return
        real, finite, symmetric blocks (else ValueError naming ``kernel``).
    pattern : Pattern
        Lower-triangular pattern in the same order.
    nugget : float, optional
        Added to the diagonal of every kernel block (a regularization of Θ).

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
        Lower triangular with positive diagonal, supported on ``pattern``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a column's block is not positive definite (the message names the column).

    Notes
    -----
    Theorem 2.1 of the paper (derived in ``docs/derivations/vecchia.md``): with
    :math:`s_i` the rows of column i, ascending so that i comes first, the minimizer of
    :math:`\mathrm{KL}(\mathcal N(0, \Theta) \,\|\, \mathcal N(0, (LL^\top)^{-1}))`
    over the pattern is, column by column,

    .. math::

        L_{s_i, i} = \frac{\Theta_{s_i s_i}^{-1} e_1}
        {\sqrt{e_1^\top \Theta_{s_i s_i}^{-1} e_1}}.

    Columns of similar size are padded (with identity rows, which do not change
    the solution) and factored as one stacked :func:`numpy.linalg.cholesky` of the
    flipped blocks, :math:`F\Theta_{s_is_i}F = CC^\top`, after which
    :math:`L_{s_i,i} = F C^{-\top} F e_1` (a failed Cholesky names the column). This costs
    :math:`O(\sum_i |s_i|^3)`; :func:`supernodal_kl_factor` is the fast version.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Thm. 2.1.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern, full_pattern
    >>> x = np.array([[0.0], [1.0], [3.0]])
    >>> L = kl_factor(x, Matern(0.5, 1.0), full_pattern(3)).toarray()
    >>> bool(np.allclose(L @ L.T, np.linalg.inv(Matern(0.5, 1.0)(x))))
    True
    """
    host = check_points(points, distinct=False)  # repeated locations are fine here
    check_kernel(kernel, host)
    nugget = check_nonnegative("nugget", nugget)
    n = host.shape[0]
    pattern = check_pattern(pattern, n=n)
    points = backend.to_device(host, like=points)  # the factor is computed where points live
    xp = backend.array_namespace(points)
    counts = pattern.counts()
    check_block_size(counts.max(), "pattern")
    classes = size_class(counts)
    values = xp.empty(pattern.nnz)
    for size in np.unique(classes):
        cols_all = np.flatnonzero(classes == size)
        chunk = max(1, BLOCK_BUDGET // int(size) ** 2)
        for start in range(0, cols_all.size, chunk):
            cols = cols_all[start : start + chunk]
            offset = np.arange(size)
            valid = offset[None, :] < counts[cols][:, None]  # (B, size)
            where = np.minimum(pattern.indptr[cols][:, None] + offset, pattern.nnz - 1)
            index = np.where(valid, pattern.indices[where], 0)
            K = kernel_blocks(points, kernel, index, valid, nugget)  # (B, size, size)
            # Θ_ss = U Uᵀ with U = F C F, C = chol(F Θ_ss F); then Θ_ss⁻¹e₁ = U⁻ᵀe₁ / U₀₀
            # and the normalized column is U⁻ᵀe₁, that is F C⁻ᵀ F e₁ = F C⁻ᵀ e_last
            C = stacked_cholesky(K[:, ::-1, ::-1], "column", cols, counts[cols])
            rhs = xp.zeros((cols.size, size, 1))
            rhs[:, -1, 0] = 1.0
            z = solve_triangular_batched(xp.swapaxes(C, -1, -2), rhs, lower=False)
            column = z[:, ::-1, 0]  # (B, size)
            values[xp.asarray(where[valid])] = column[xp.asarray(valid)]
    if not all_finite(values):
        raise np.linalg.LinAlgError("the factor has non-finite entries; add a nugget")
    return csc_factor(values, pattern.indices.copy(), pattern.indptr.copy(), n)


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
    host = check_points(points, distinct=False)  # repeated locations are fine here
    check_kernel(kernel, host)
    nugget = check_nonnegative("nugget", nugget)
    groups = check_supernodes(groups)
    n = host.shape[0]
    if groups.n != n or (groups.rows.size and groups.rows.max() >= n):
        raise ValueError(
            f"groups: expected supernodes of all {n} columns to match points (rows below "
            f"{n}), received {groups.n} member columns"
        )
    check_block_size(groups.sizes()[0].max(), "groups")
    return factor_supernodes(backend.to_device(host, like=points), kernel, groups, nugget)


def factor_supernodes(points, kernel, groups, nugget=0.0, n=None):
    """:func:`supernodal_kl_factor` of checked inputs; ``groups`` may hold some columns only.

    The factor has ``n`` columns (default: ``points.shape[0]``); columns that are no
    member of ``groups`` stay empty. It is computed, and returned, on the backend of
    ``points``; ``groups`` is host structure.
    """
    xp = backend.array_namespace(points)
    n = points.shape[0] if n is None else n
    n_rows, n_members = groups.sizes()
    position = groups.positions()  # (members,) in the order of groups.members
    _, indptr = groups._column_pointers(n)

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
            rhs = xp.zeros((nodes.size, size, width))
            b_index = np.repeat(np.arange(nodes.size), width).reshape(nodes.size, width)
            ones = (b_index[has], q[has], np.broadcast_to(c, has.shape)[has])
            rhs[tuple(xp.asarray(i) for i in ones)] = 1.0
            Y = solve_triangular_batched(xp.swapaxes(C, -1, -2), rhs, lower=False)
            # entry (t, c) is the value of row index[t] in column members[slot]; it
            # belongs to the column when t <= q, at offset q - t within the column
            keep = has[:, None, :] & (t[None, :, None] <= q[:, None, :])  # (B, size, width)
            column = groups.members[slot]  # (B, width)
            dest = indptr[column][:, None, :] + q[:, None, :] - t[None, :, None]
            dests.append(dest[keep])
            rows_out.append(np.broadcast_to(index[:, :, None], keep.shape)[keep])
            values.append(Y[xp.asarray(keep)])
    return assemble_csc(
        n, indptr, np.concatenate(dests), np.concatenate(rows_out), xp.concatenate(values)
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


def dense_inverse_cholesky(theta):
    r"""The exact inverse Cholesky factor from the Cholesky of the flipped matrix.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        Symmetric positive definite, in the elimination order.

    Returns
    -------
    L : ndarray, shape (N, N)
        Lower triangular with ``theta⁻¹ = L Lᵀ``; same backend as ``theta``.

    Raises
    ------
    ValueError
        If ``theta`` is not a real, finite, square and symmetric matrix.
    numpy.linalg.LinAlgError
        If it is not (numerically) positive definite.

    Notes
    -----
    .. math::

        \Theta = U U^\top,\quad U = F\,\mathrm{chol}(F\Theta F)\,F,\qquad
        L = U^{-\top},

    where F reverses the order. L is the KL-optimal factor for the full pattern
    (ρ = ∞), the baseline every sparse factor is compared against. The Cholesky is
    :func:`refimpl.vecchia.dense.flipped_cholesky` (blocked LAPACK on NumPy, N³/3
    flops), and L is :func:`refimpl.vecchia.core.inverse_of_flipped_cholesky` (a
    triangular solve against the identity, N³ flops).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> L = dense_inverse_cholesky(theta)
    >>> bool(np.allclose(L @ L.T, np.linalg.inv(theta))), bool(L[0, 1] == 0)
    (True, True)
    """
    theta = check_symmetric("theta", theta)
    # The Cholesky of FΘF is the package's blocked one: LinAlgError naming theta where Θ
    # is not positive definite, and no crash of OpenBLAS's threaded dsyrk at N ≳ 16 000
    L = core.inverse_of_flipped_cholesky(flipped_cholesky(theta))
    if not all_finite(L):
        raise np.linalg.LinAlgError(
            "theta: the inverse Cholesky factor overflows; theta is numerically singular"
        )
    return L
