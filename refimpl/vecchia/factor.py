r"""KL-optimal inverse Cholesky factors by the column formula, and the dense exact factor.

All factors live in the elimination order (finest point first) and approximate
the *inverse* of the kernel matrix, ``Θ⁻¹ ≈ L Lᵀ``, with ``L`` lower triangular.
The column formula (Theorem 2.1 of Schäfer, Katzfuss & Owhadi, derived in
``docs/derivations/vecchia.md``) gives each column from its own small block of Θ;
:mod:`refimpl.vecchia.supernodal` is the fast version.

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

from .batched import (
    BLOCK_BUDGET,
    check_kernel,
    kernel_blocks,
    size_class,
    solve_triangular_batched,
    stacked_cholesky,
)
from .dense import check_symmetric, flipped_cholesky
from .points import check_points
from .sparsity import Pattern, check_pattern

__all__ = ["kl_factor", "dense_inverse_cholesky"]


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
    points = check_points(points, distinct=False)  # repeated locations are fine here
    check_kernel(kernel, points)
    nugget = check_nonnegative("nugget", nugget)
    n = points.shape[0]
    pattern = check_pattern(pattern, n=n)
    counts = pattern.counts()
    classes = size_class(counts)
    values = np.empty(pattern.nnz)
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
            rhs = np.zeros((cols.size, size, 1))
            rhs[:, -1, 0] = 1.0
            z = solve_triangular_batched(np.swapaxes(C, -1, -2), rhs, lower=False)
            column = z[:, ::-1, 0]  # (B, size)
            values[where[valid]] = column[valid]
    return sp.csc_matrix((values, pattern.indices.copy(), pattern.indptr.copy()), shape=(n, n))


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
    (ρ = ∞), the baseline every sparse factor is compared against. Costs N³/3 for
    the Cholesky and N³/3 for the triangular inverse (LAPACK ``dtrtri`` on NumPy;
    on CuPy a triangular solve against the identity, N³).

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
    xp = backend.array_namespace(theta)
    linalg = backend.scipy_namespace(theta).linalg
    C = flipped_cholesky(theta)  # lower, F Θ F = C Cᵀ
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
