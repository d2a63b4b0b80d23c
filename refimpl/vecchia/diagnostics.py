r"""How good is a factor: the KL divergence from the kernel matrix, in closed form.

Both functions take the kernel matrix Θ and the factor L in the same (elimination)
order. The closed form and its column-by-column evaluation are derived in
``docs/derivations/vecchia.md``.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import check_array_size

from .dense import check_symmetric, flipped_cholesky
from .gp import check_factor

__all__ = ["kl_divergence", "kl_divergence_from_variances", "quadratic_terms"]

_PAIR_BUDGET = 8_000_000  # (row, row) pairs of Θ gathered at once (~200 MB of temporaries)


def _flipped_cholesky_diagonal(theta):
    """Diagonal of U with Θ = U Uᵀ, U upper: conditional standard deviations given later ones."""
    xp = backend.array_namespace(theta)
    d = xp.diagonal(flipped_cholesky(theta))[::-1]
    if not bool(xp.all(d > 0)):
        raise np.linalg.LinAlgError(
            "theta: expected a symmetric positive definite matrix; its Cholesky failed"
        )
    return d


def quadratic_terms(theta, L):
    """diag(Lᵀ Θ L) for a sparse CSC L: column i needs only the block Θ[s_i, s_i].

    Costs Σ_i |s_i|² gathered entries (the nonzeros of L, each paired with the rest of
    its column), instead of the N · nnz(L) of a sparse-times-dense product.
    """
    n = L.shape[0]
    counts = np.diff(L.indptr)
    if np.sum(counts.astype(np.int64) ** 2) > n * L.nnz // 8:  # dense enough for BLAS
        check_array_size("L", (n, n))
        dense = L.toarray()
        return np.einsum("ij,ij->j", dense, theta @ dense)
    out = np.empty(n)
    start = 0
    while start < n:  # chunks of columns with at most _PAIR_BUDGET pairs (at least one column)
        pairs = np.cumsum(counts[start:].astype(np.int64) ** 2)
        stop = start + max(1, int(np.searchsorted(pairs, _PAIR_BUDGET, side="right")))
        cols = np.arange(start, stop)
        c = counts[cols]
        # entry e of column i paired with every entry f of the same column
        first, squared = L.indptr[cols], c * c
        owner = np.repeat(np.arange(cols.size), squared)  # (P,)
        offset = np.arange(owner.size) - np.repeat(np.cumsum(squared) - squared, squared)
        e = first[owner] + offset // c[owner]
        f = first[owner] + offset % c[owner]
        products = L.data[e] * theta[L.indices[e], L.indices[f]] * L.data[f]
        out[start:stop] = np.bincount(owner, weights=products, minlength=cols.size)
        start = stop
    return out


def kl_divergence(theta, L):
    r"""KL(N(0, Θ) ‖ N(0, (L Lᵀ)⁻¹)) from the closed form.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        The kernel matrix in the same (elimination) order as L; symmetric positive
        definite.
    L : sparse or dense matrix, shape (N, N)
        Lower triangular with positive diagonal.

    Returns
    -------
    kl : float
        Nonnegative up to rounding (about N·1e-16 times the conditioning of the
        columns' blocks).

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``theta`` is not positive definite.
    ValueError
        If the divergence overflows (L far too large).

    Notes
    -----
    .. math::

        \mathrm{KL} = \tfrac12\big[\operatorname{tr}(L^\top\Theta L)
        - 2\textstyle\sum_i \log L_{ii} - \log\det\Theta - N\big].

    It is evaluated column by column with :math:`\Theta = UU^\top`, U upper
    triangular (one LAPACK Cholesky), so that :math:`\log\det\Theta = 2\sum_i\log U_{ii}` and

    .. math::

        \mathrm{KL} = \tfrac12 \sum_i \big[(L^\top\Theta L)_{ii} - 1
        - \log(L_{ii}^2 U_{ii}^2)\big],

    a sum of small terms instead of a difference of large ones. The diagonal of
    :math:`L^\top\Theta L` takes :math:`\sum_i |s_i|^2` entries of Θ (the block of
    each column's rows), not a dense product.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import dense_inverse_cholesky
    >>> theta = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> abs(kl_divergence(theta, dense_inverse_cholesky(theta))) < 1e-12  # the exact factor
    True
    >>> round(kl_divergence(theta, np.diag([0.5, 0.5]) ** 0.5), 4)  # ignores the correlation
    0.1438
    """
    theta = check_symmetric("theta", theta)
    xp = backend.array_namespace(theta)
    n = theta.shape[0]
    L = check_factor(L, n, match="theta")
    u = _flipped_cholesky_diagonal(theta)  # (N,)
    with np.errstate(over="ignore", invalid="ignore"):
        if xp is np:
            quadratic = quadratic_terms(theta, L)  # (N,) diag of Lᵀ Θ L
            ell = L.diagonal()
        else:
            dense_L = backend.asarray(L.toarray(), like=theta)
            quadratic = xp.sum(dense_L * (theta @ dense_L), axis=0)  # (N,) diag of Lᵀ Θ L
            ell = xp.diagonal(dense_L)
        value = float(0.5 * xp.sum((quadratic - 1.0) - 2.0 * (xp.log(ell) + xp.log(u))))
    if not np.isfinite(value):
        raise ValueError("L: the KL divergence overflows double precision (|L| far too large)")
    return value


def kl_divergence_from_variances(theta, L):
    r"""KL of a KL-optimal factor from conditional variances only.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        The kernel matrix in the elimination order of L.
    L : sparse matrix, shape (N, N)
        The KL-optimal factor on its pattern (from :func:`~refimpl.vecchia.factor.kl_factor`).

    Returns
    -------
    kl : float
        Equal to :func:`kl_divergence` for the optimal factor (to rounding); for any
        other factor a different number.

    Notes
    -----
    For the optimal factor :math:`\operatorname{tr}(L^\top\Theta L) = N` and
    :math:`L_{ii}^{-2} = \operatorname{Var}(\theta_i \mid \theta_{s_i\setminus i})`, so

    .. math::

        \mathrm{KL} = \tfrac12 \sum_i \big[\log\operatorname{Var}(\theta_i \mid
        \theta_{s_i \setminus i}) - \log\operatorname{Var}(\theta_i \mid \theta_{>i})\big].

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Thm. 2.1.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern, kl_factor, full_pattern
    >>> x = np.array([[0.0], [0.5], [2.0]])
    >>> L = kl_factor(x, Matern(0.5, 1.0), full_pattern(3))
    >>> abs(kl_divergence_from_variances(Matern(0.5, 1.0)(x), L)) < 1e-12
    True
    """
    theta = check_symmetric("theta", theta)
    xp = backend.array_namespace(theta)
    L = check_factor(L, theta.shape[0], match="theta")
    u = _flipped_cholesky_diagonal(theta)
    ell = backend.asarray(L.diagonal(), like=theta)
    return float(-xp.sum(xp.log(ell) + xp.log(u)))
