"""KL-optimal sparse inverse Cholesky factors: column by column, supernodal, and dense.

All factors live in the elimination order (finest point first) and approximate
the *inverse* of the kernel matrix, ``Θ⁻¹ ≈ L Lᵀ``, with ``L`` lower triangular.

The sparse factors are assembled as ``scipy.sparse.csc_matrix`` on the CPU; the
kernel blocks are formed with NumPy (CuPy points are copied to the host). The
dense baseline follows the backend of its input.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from refimpl import backend
from refimpl.validation import check_nonnegative

from .kernels import Kernel
from .ordering import _checked_points_and_tree, _maximin_ordering, check_points
from .patterns import Pattern, ball_pattern, check_rho
from .supernodes import Supernodes, check_lam, supernodes

__all__ = [
    "kl_cholesky",
    "kl_factor",
    "supernodal_kl_factor",
    "dense_inverse_cholesky",
    "supernodal_flops",
]

_BLOCK_BUDGET = 4_000_000  # matrix entries per batch of kernel blocks (~32 MB)
_SIZE_CLASSES = np.unique(np.ceil(1.125 ** np.arange(0, 120)).astype(np.int64))


def _size_class(sizes):
    """Round sizes up to a geometric grid (steps of at most 12.5 %) for batching."""
    return _SIZE_CLASSES[np.searchsorted(_SIZE_CLASSES, sizes)]


def _check_kernel(kernel, points):
    if not callable(kernel):
        raise ValueError(f"kernel: expected a callable kernel(X, Y), received {kernel!r}")
    if isinstance(kernel, Kernel):
        kernel.check_dimension(points.shape[1])


def _blocks(points, kernel, index, valid, nugget):
    """Kernel blocks of padded index sets; padded rows/columns become the identity.

    index : (B, n) int, valid : (B, n) bool. Returns (B, n, n).
    """
    X = points[index]  # (B, n, d)
    hint = (
        "kernel: expected kernel(X, Y) to accept leading batch axes, X (B, n, d) -> "
        f"(B, n, n) with X of shape {X.shape}; wrap a 2-D-only kernel k as "
        "numpy.vectorize(k, signature='(n,d),(m,d)->(n,m)')"
    )
    if isinstance(kernel, Kernel):  # batch axes are supported; let its own errors through
        K = np.asarray(backend.to_numpy(kernel(X, X)), dtype=float)  # (B, n, n)
    else:
        try:
            K = np.asarray(backend.to_numpy(kernel(X, X)), dtype=float)  # (B, n, n)
        except (ValueError, IndexError, TypeError) as error:
            raise ValueError(f"{hint}; it raised {type(error).__name__}: {error}") from error
    if K.shape != X.shape[:2] + (X.shape[1],):
        raise ValueError(f"{hint}; it returned shape {K.shape}")
    both = valid[:, :, None] & valid[:, None, :]
    K = np.where(both, K, 0.0)
    diagonal = np.arange(index.shape[1])
    K[:, diagonal, diagonal] += np.where(valid, nugget, 1.0)
    return K


def _solve_triangular_batched(T, B, lower):
    """Solve T X = B for a stack of triangular T (..., n, n), B (..., n, k).

    Recursive 2×2 blocking keeps the flop count at n² k per system, with the work
    in batched matrix products; small diagonal blocks go to numpy.linalg.solve.
    """
    n = T.shape[-1]
    if n <= 24:
        return np.linalg.solve(T, B)
    h = n // 2
    if lower:
        X1 = _solve_triangular_batched(T[..., :h, :h], B[..., :h, :], lower)
        X2 = _solve_triangular_batched(T[..., h:, h:], B[..., h:, :] - T[..., h:, :h] @ X1, lower)
    else:
        X2 = _solve_triangular_batched(T[..., h:, h:], B[..., h:, :], lower)
        X1 = _solve_triangular_batched(T[..., :h, :h], B[..., :h, :] - T[..., :h, h:] @ X2, lower)
    return np.concatenate([X1, X2], axis=-2)


def _not_pd_error(what, where, size):
    return np.linalg.LinAlgError(
        f"{what} {where} ({size} rows): the kernel block is not positive definite "
        "(numerically). Add a nugget (e.g. nugget=1e-8 * kernel variance) or use a "
        "smaller rho; smooth kernels such as Gaussian need one."
    )


def _stacked_cholesky(K, what, labels, sizes):
    """Stacked Cholesky of K (B, n, n); on failure name the first block that is not PD."""
    try:
        C = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        C = None
    if C is None or not np.all(np.isfinite(C)):
        for b in range(K.shape[0]):
            try:
                block = np.linalg.cholesky(K[b])
            except np.linalg.LinAlgError:
                block = None
            if block is None or not np.all(np.isfinite(block)):
                raise _not_pd_error(what, int(labels[b]), int(sizes[b])) from None
        raise np.linalg.LinAlgError(f"{what}s {labels[0]}..: the stacked Cholesky failed")
    return C


def _assemble(n, indptr, dest, rows, values):
    if not np.all(np.isfinite(values)):
        raise np.linalg.LinAlgError("the factor has non-finite entries; add a nugget")
    data = np.empty(indptr[-1])
    indices = np.empty(indptr[-1], dtype=np.intp)
    data[dest] = values
    indices[dest] = rows
    return sp.csc_matrix((data, indices, indptr), shape=(n, n))


def kl_factor(points, kernel, pattern: Pattern, nugget=0.0):
    """Column-by-column KL-optimal inverse Cholesky factor on a given pattern.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Points **in the elimination order** (``points[order]``).
    kernel : callable
        ``kernel(X, Y)`` returning the block, e.g. :class:`~refimpl.vecchia.kernels.Matern`.
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
    Theorem 2.1 of the paper: with :math:`s_i` the rows of column i, ascending so
    that i comes first, the minimizer of
    :math:`\\mathrm{KL}(\\mathcal N(0, \\Theta) \\,\\|\\, \\mathcal N(0, (LL^\\top)^{-1}))`
    over the pattern is, column by column,

    .. math::

        L_{s_i, i} = \\frac{\\Theta_{s_i s_i}^{-1} e_1}
        {\\sqrt{e_1^\\top \\Theta_{s_i s_i}^{-1} e_1}}.

    Columns of similar size are padded (with identity rows, which do not change
    the solution) and factored as one stacked :func:`numpy.linalg.cholesky` of the
    flipped blocks, :math:`F\\Theta_{s_is_i}F = CC^\\top`, after which
    :math:`L_{s_i,i} = F C^{-\\top} F e_1` (a failed Cholesky names the column). This costs
    :math:`O(\\sum_i |s_i|^3)`; :func:`supernodal_kl_factor` is the fast version.

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
    points = check_points(points, distinct=False)  # repeated locations are fine here
    _check_kernel(kernel, points)
    nugget = check_nonnegative("nugget", nugget)
    n = points.shape[0]
    if pattern.n != n:
        raise ValueError(f"pattern: expected {n} columns to match points, received {pattern.n}")
    counts = pattern.counts()
    classes = _size_class(counts)
    values = np.empty(pattern.nnz)
    for size in np.unique(classes):
        cols_all = np.flatnonzero(classes == size)
        chunk = max(1, _BLOCK_BUDGET // int(size) ** 2)
        for start in range(0, cols_all.size, chunk):
            cols = cols_all[start : start + chunk]
            offset = np.arange(size)
            valid = offset[None, :] < counts[cols][:, None]  # (B, size)
            where = np.minimum(pattern.indptr[cols][:, None] + offset, pattern.nnz - 1)
            index = np.where(valid, pattern.indices[where], 0)
            K = _blocks(points, kernel, index, valid, nugget)  # (B, size, size)
            # Θ_ss = U Uᵀ with U = F C F, C = chol(F Θ_ss F); then Θ_ss⁻¹e₁ = U⁻ᵀe₁ / U₀₀
            # and the normalized column is U⁻ᵀe₁, that is F C⁻ᵀ F e₁ = F C⁻ᵀ e_last
            C = _stacked_cholesky(K[:, ::-1, ::-1], "column", cols, counts[cols])
            rhs = np.zeros((cols.size, size, 1))
            rhs[:, -1, 0] = 1.0
            z = _solve_triangular_batched(np.swapaxes(C, -1, -2), rhs, lower=False)
            column = z[:, ::-1, 0]  # (B, size)
            values[where[valid]] = column[valid]
    return sp.csc_matrix((values, pattern.indices.copy(), pattern.indptr.copy()), shape=(n, n))


def supernodal_kl_factor(points, kernel, groups: Supernodes, nugget=0.0):
    """KL-optimal factor with one dense Cholesky per supernode.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Points in the elimination order.
    kernel : callable
    groups : Supernodes
        From :func:`refimpl.vecchia.supernodes.supernodes`.
    nugget : float, optional
        Added to the diagonal of every kernel block.

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
        Equal (to rounding) to :func:`kl_factor` on ``groups.pattern()``.

    Raises
    ------
    numpy.linalg.LinAlgError
        Naming the supernode whose block is not positive definite.

    Notes
    -----
    For a supernode with rows :math:`R` (ascending), every member column k has
    rows :math:`R_{\\ge k}`, a trailing block of R. On a trailing block the KL-optimal
    column is the exact inverse Cholesky factor of :math:`\\Theta_{RR}` in that
    order, so one factorization serves all members:

    .. math::

        \\Theta_{RR} = U U^\\top,\\quad U = F\\,\\mathrm{chol}(F \\Theta_{RR} F)\\,F,
        \\qquad L_{R, k} = U^{-\\top} e_k,

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
    _check_kernel(kernel, points)
    nugget = check_nonnegative("nugget", nugget)
    if groups.n != points.shape[0]:
        raise ValueError(
            f"groups: expected supernodes of {points.shape[0]} columns, received {groups.n}"
        )
    return _supernodal_kl_factor(points, kernel, groups, nugget)


def _supernodal_kl_factor(points, kernel, groups, nugget):
    """:func:`supernodal_kl_factor` without the input checks (done by the caller)."""
    n = points.shape[0]
    n_rows, n_members = groups.sizes()
    position = groups.positions()  # (members,) in the order of groups.members
    _, indptr = groups.column_pointers(n)

    dests, rows_out, values = [], [], []
    classes = _size_class(n_rows)
    for size in np.unique(classes):
        nodes_all = np.flatnonzero(classes == size)
        chunk = max(1, _BLOCK_BUDGET // int(size) ** 2)
        for start in range(0, nodes_all.size, chunk):
            nodes = nodes_all[start : start + chunk]  # (B,)
            sizes = n_rows[nodes]
            width = int(n_members[nodes].max())
            t = np.arange(size)
            valid = t[None, :] < sizes[:, None]  # (B, size)
            # row sets in descending order (coarsest first): the flipped matrix F Θ F
            where = groups.row_ptr[nodes][:, None] + sizes[:, None] - 1 - t
            index = np.where(valid, groups.rows[np.where(valid, where, 0)], 0)
            K = _blocks(points, kernel, index, valid, nugget)  # (B, size, size)
            C = _stacked_cholesky(K, "supernode", nodes, sizes)
            # member c of supernode b sits at flipped position q = size_b - 1 - position
            c = np.arange(width)
            has = c[None, :] < n_members[nodes][:, None]  # (B, width)
            slot = np.where(has, groups.member_ptr[nodes][:, None] + c, 0)
            q = np.where(has, sizes[:, None] - 1 - position[slot], 0)  # (B, width)
            rhs = np.zeros((nodes.size, size, width))
            b_index = np.repeat(np.arange(nodes.size), width).reshape(nodes.size, width)
            rhs[b_index[has], q[has], np.broadcast_to(c, has.shape)[has]] = 1.0
            Y = _solve_triangular_batched(np.swapaxes(C, -1, -2), rhs, lower=False)
            # entry (t, c) is the value of row index[t] in column members[slot]; it
            # belongs to the column when t <= q, at offset q - t within the column
            keep = has[:, None, :] & (t[None, :, None] <= q[:, None, :])  # (B, size, width)
            column = groups.members[slot]  # (B, width)
            dest = indptr[column][:, None, :] + q[:, None, :] - t[None, :, None]
            dests.append(dest[keep])
            rows_out.append(np.broadcast_to(index[:, :, None], keep.shape)[keep])
            values.append(Y[keep])
    return _assemble(
        n, indptr, np.concatenate(dests), np.concatenate(rows_out), np.concatenate(values)
    )


def supernodal_flops(groups: Supernodes):
    """Floating-point operations of :func:`supernodal_kl_factor`, without padding.

    Cholesky n³/3 per supernode of n rows, and a triangular solve of n² per member
    column (the kernel evaluations are not counted).

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia.patterns import full_pattern
    >>> from refimpl.vecchia.supernodes import supernodes
    >>> supernodal_flops(supernodes(full_pattern(3), np.ones(3), lam=1.0))  # 3³/3 + 3·3²
    36.0
    """
    n_rows, n_members = groups.sizes()
    n_rows = n_rows.astype(float)
    return float(np.sum(n_rows**3 / 3.0 + n_members * n_rows**2))


def dense_inverse_cholesky(theta):
    """The exact inverse Cholesky factor from the Cholesky of the flipped matrix.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        Symmetric positive definite, in the elimination order.

    Returns
    -------
    L : ndarray, shape (N, N)
        Lower triangular with ``theta⁻¹ = L Lᵀ``; same backend as ``theta``.

    Notes
    -----
    .. math::

        \\Theta = U U^\\top,\\quad U = F\\,\\mathrm{chol}(F\\Theta F)\\,F,\\qquad
        L = U^{-\\top},

    where F reverses the order. L is the KL-optimal factor for the full pattern
    (ρ = ∞), the baseline every sparse factor is compared against. Costs N³/3 for
    the Cholesky and N³/3 for the triangular inverse (LAPACK ``dtrtri`` on NumPy;
    on CuPy a triangular solve against the identity, N³).

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> L = dense_inverse_cholesky(theta)
    >>> bool(np.allclose(L @ L.T, np.linalg.inv(theta))), bool(L[0, 1] == 0)
    (True, True)
    """
    xp = backend.array_namespace(theta)
    linalg = backend.scipy_namespace(theta).linalg
    if theta.ndim != 2 or theta.shape[0] != theta.shape[1]:
        raise ValueError(f"theta: expected a square matrix, received shape {theta.shape}")
    flipped = theta[::-1, ::-1]
    C = xp.linalg.cholesky(flipped)
    if not bool(xp.all(xp.isfinite(C))):  # CuPy returns NaN instead of raising
        raise np.linalg.LinAlgError("theta: the matrix is not positive definite")
    if xp is np:
        # LAPACK trtri inverts a triangular matrix in N³/3 flops (a triangular solve
        # against the identity would cost N³); U⁻¹ = F C⁻¹ F, so L = U⁻ᵀ = F C⁻ᵀ F
        C_inv, info = scipy.linalg.lapack.dtrtri(np.asfortranarray(C), lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"theta: the triangular inverse failed (info = {info})")
        return np.ascontiguousarray(C_inv.T[::-1, ::-1])
    U = C[::-1, ::-1]  # upper triangular, theta = U Uᵀ
    eye = xp.eye(theta.shape[0], dtype=theta.dtype)
    return linalg.solve_triangular(U, eye, lower=False).T


def kl_cholesky(points, kernel, rho, lam=1.5, p=1, nugget=0.0):
    """Sparse KL-optimal inverse Cholesky factor of a kernel matrix: the whole pipeline.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points, in any order.
    kernel : callable
        ``kernel(X, Y)``, e.g. ``Matern(1.5, 0.1)``.
    rho : float
        ρ > 0, the radius of the pattern in units of the length scales (``inf``:
        the exact factor).
    lam : float, optional
        Supernode aggregation λ >= 1.
    p : int, optional
        p-maximin ordering (p >= 1).
    nugget : float, optional
        Added to the diagonal of Θ before factoring.

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
        Lower triangular, with ``inv(Θ[order][:, order]) ≈ L @ L.T``.
    order : ndarray of int, shape (N,)
        The reverse maximin order, finest first (``order[-1] == 0``).

    Notes
    -----
    The steps are :func:`~refimpl.vecchia.ordering.maximin_ordering`,
    :func:`~refimpl.vecchia.patterns.ball_pattern`,
    :func:`~refimpl.vecchia.supernodes.supernodes` and
    :func:`supernodal_kl_factor`; each is public, for other orderings or patterns.
    The factor minimizes

    .. math::

        \\mathrm{KL}\\big(\\mathcal N(0, \\Theta)\\,\\|\\,
        \\mathcal N(0, (LL^\\top)^{-1})\\big)

    over the enlarged supernodal pattern :math:`\\tilde S_{\\rho,\\lambda}`.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern, kl_divergence
    >>> x = np.random.default_rng(0).uniform(size=(400, 2))
    >>> k = Matern(1.5, 0.1)
    >>> L, order = kl_cholesky(x, k, rho=3.0, p=3)
    >>> theta = k(x[order], x[order])
    >>> round(kl_divergence(theta, L), 2), round(L.nnz / len(x), 1)  # KL, nonzeros per column
    (0.54, 45.1)
    """
    points, tree = _checked_points_and_tree(points)  # the ordering needs distinct points
    _check_kernel(kernel, points)
    rho = check_rho(rho)
    lam = check_lam(lam)
    nugget = check_nonnegative("nugget", nugget)
    order, lengths = _maximin_ordering(points, tree, p, 0)  # one KD-tree: check and order
    ordered = points[order]
    groups = supernodes(ball_pattern(ordered, lengths, rho), lengths, lam)
    return _supernodal_kl_factor(ordered, kernel, groups, nugget), order
