r"""Rank-``r`` truncation of a factored weight without a dense SVD of the weight.

The efficient variant of InRank ends its rank-adaptive stage by replacing a layer by
its best rank-``r`` approximation. Both matrices it truncates are given as factors,
so their truncation costs what the factors cost, not what the ``m × n`` weight costs:

* the update ``U Vᵀ`` (``k`` columns): thin QRs ``U = Q_u R_u``, ``V = Q_v R_v`` and the
  SVD of the ``k × k`` core ``R_u R_vᵀ`` give its exact SVD in ``O((m + n) k²)``
  (:func:`truncate_update`);
* the whole weight ``W0 + U Vᵀ`` with a dense, full-rank ``W0``: randomized subspace
  iteration touches ``W0`` only through products with ``r + p`` columns
  (:func:`truncate_weight`), ``O(m n (r + p))`` per pass, and takes the SVD of an
  ``(r + p) × n`` matrix, never of the ``m × n`` weight.

Both return balanced factors ``P = U_r Σ_r^{1/2}``, ``Q = V_r Σ_r^{1/2}``, so that
``P Qᵀ`` is the truncation. The derivation is in ``docs/derivations/inrank.md``,
section 7.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.truncation import truncate_update
>>> rng = np.random.default_rng(0)
>>> U, V = rng.standard_normal((50, 4)), rng.standard_normal((40, 4))
>>> P, Q = truncate_update(U, V, 2)
>>> s = np.linalg.svd(U @ V.T, compute_uv=False)
>>> bool(np.allclose(np.linalg.svd(P @ Q.T, compute_uv=False)[:2], s[:2]))
True
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import get_lapack_funcs

from refimpl import backend
from refimpl.validation import as_float_array, as_generator, check_integer

__all__ = ["truncate_update", "truncate_weight"]  # the factor helpers serve the subpackage


def triangular_factor(A):
    r"""The triangular factor ``R`` of a thin QR ``A = Q R`` (``Q`` is not formed).

    Parameters
    ----------
    A : ndarray, shape (m, k)

    Returns
    -------
    R : ndarray, shape (min(m, k), k)
        Upper triangular, ``RᵀR = AᵀA``.

    Notes
    -----
    Householder QR, backward stable: :math:`A + \delta A = QR`,
    :math:`\|\delta A\| = O(\epsilon \|A\|)`. For NumPy arrays LAPACK's ``geqrf`` is
    called directly (``numpy.linalg.qr(mode="r")`` costs several times more for tall,
    skinny matrices).

    References
    ----------
    Golub & Van Loan, *Matrix Computations*, 4th ed., 2013, Section 5.2.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.random.default_rng(0).standard_normal((6, 3))
    >>> R = triangular_factor(A)
    >>> bool(np.allclose(R.T @ R, A.T @ A))
    True
    """
    xp = backend.array_namespace(A)
    if xp is not np:
        return xp.linalg.qr(A, mode="r")
    geqrf = get_lapack_funcs(("geqrf",), (A,))[0]
    qr, _, _, info = geqrf(A)
    if info != 0:  # pragma: no cover - only for invalid arguments
        raise np.linalg.LinAlgError(f"geqrf failed with info = {info}")
    return np.triu(qr[: min(A.shape), :])


def gram_factor(A):
    r"""An upper-triangular ``R`` with ``RᵀR = AᵀA``, from the Gram matrix when that is safe.

    Parameters
    ----------
    A : ndarray, shape (m, k)

    Returns
    -------
    R : ndarray, shape (min(m, k), k)

    Notes
    -----
    The Cholesky factor of :math:`A^\top A` costs one matrix product, a third of a
    Householder QR's time for tall, skinny ``A``; its relative error is about
    :math:`\epsilon\,\kappa(A)^2` against :math:`\epsilon\,\kappa(A)` for the QR. So it is
    used only when the diagonal of ``R`` spans less than a factor :math:`10^3`
    (:math:`\kappa \lesssim 10^3`, error :math:`\lesssim 10^6\epsilon`), and
    :func:`triangular_factor` otherwise.

    References
    ----------
    Y. Yamamoto et al., "Roundoff error analysis of the CholeskyQR2 algorithm",
    ETNA 44 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.random.default_rng(0).standard_normal((8, 3))
    >>> R = gram_factor(A)
    >>> bool(np.allclose(R.T @ R, A.T @ A))
    True
    """
    xp = backend.array_namespace(A)
    if A.shape[0] < A.shape[1]:
        return triangular_factor(A)
    try:
        R = xp.linalg.cholesky(A.T @ A).T  # (k, k), upper
    except np.linalg.LinAlgError:
        return triangular_factor(A)
    # CuPy's Cholesky does not raise: a pivot that is not positive (or NaN) stays on the
    # diagonal of its partial factor, and fails this test as an ill-conditioned one does
    diagonal = xp.diagonal(R)
    if not bool(xp.min(diagonal) > 1e-3 * xp.max(xp.abs(diagonal))):
        return triangular_factor(A)  # ill-conditioned: Householder keeps the accuracy
    return R


def _check_factors(U, V, rank):
    U = as_float_array("U", U, ndim=2)
    V = as_float_array("V", V, ndim=2, like=U)
    if V.shape[1] != U.shape[1]:
        raise ValueError(f"V: expected {U.shape[1]} columns to match U, received {V.shape}")
    rank = check_integer("rank", rank, minimum=1, maximum=min(U.shape[0], V.shape[0]))
    return U, V, rank


def _orthonormal_basis(Y, xp):
    """Orthonormal basis of the columns of a tall ``Y``: ``Y R⁻¹`` twice, else Householder."""
    for _ in range(2):  # the second pass restores orthogonality lost to κ(Y) ε
        R = triangular_factor(Y)
        diagonal = xp.abs(xp.diagonal(R))
        if not bool(xp.min(diagonal) > 1e-6 * xp.max(diagonal)):
            return xp.linalg.qr(Y)[0]  # (numerically) rank-deficient: the robust path
        Y = Y @ xp.linalg.inv(R)
    return Y


def _balanced(left, s, right_t, rank, xp):
    root = xp.sqrt(s[:rank])
    return left[:, :rank] * root, right_t[:rank].T * root


def truncate_update(U, V, rank):
    r"""Balanced factors of the best rank-``r`` approximation of ``U Vᵀ``, via thin QRs.

    Parameters
    ----------
    U : ndarray, shape (m, k)
    V : ndarray, shape (n, k)
    rank : int
        ``1 ≤ r ≤ min(m, n)``; for ``r > k`` the factors are padded with zero columns.

    Returns
    -------
    P : ndarray, shape (m, r)
    Q : ndarray, shape (n, r)
        ``P Qᵀ = svd_r(U Vᵀ)``, with ``PᵀP = QᵀQ = Σ_r``.

    Notes
    -----
    With thin QRs :math:`U = Q_u R_u`, :math:`V = Q_v R_v` and the SVD
    :math:`R_u R_v^\top = A \Sigma B^\top` of the :math:`k \times k` core,

    .. math:: U V^\top = (Q_u A)\,\Sigma\,(Q_v B)^\top

    is an SVD (orthonormal columns times orthonormal columns), so the truncation is
    exact and costs :math:`O((m + n) k^2)`; ``R`` comes from the Gram matrix where the
    factor is well conditioned (:func:`gram_factor`). Since :math:`V^\top Q_v = R_v^\top`,
    :math:`Q_u A_r \Sigma_r = U R_v^\top B_r`, so only the triangular factors are
    computed: :math:`P = U R_v^\top B_r \Sigma_r^{-1/2}`,
    :math:`Q = V R_u^\top A_r \Sigma_r^{-1/2}` (directions with
    :math:`\sigma_i \le \epsilon \max(m, n) \sigma_1` are dropped as zero).

    References
    ----------
    G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, Section 2.4
    (Eckart–Young); Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024,
    Section 5.

    Examples
    --------
    >>> import numpy as np
    >>> P, Q = truncate_update(np.eye(3)[:, :2] * [2.0, 1.0], np.eye(3)[:, :2], 1)
    >>> (P @ Q.T).round(12).tolist()
    [[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    U, V, rank = _check_factors(U, V, rank)
    xp = backend.array_namespace(U)
    ru = gram_factor(U)  # U = Q_u R_u; Q_u is never formed
    rv = gram_factor(V)
    a, s, bt = xp.linalg.svd(ru @ rv.T)  # the small core R_u R_vᵀ = A Σ Bᵀ
    r = min(rank, s.shape[0])
    # Q_u A_r Σ_r = U Vᵀ Q_v B_r = U R_vᵀ B_r (as Vᵀ Q_v = R_vᵀ), and likewise for Q_v B_r:
    # the balanced factors need only products with U and V, no orthonormal basis.
    keep = s[:r] > s[0] * xp.finfo(s.dtype).eps * max(U.shape[0], V.shape[0], 1)
    inv_root = xp.where(keep, 1.0 / xp.sqrt(xp.where(keep, s[:r], 1.0)), 0.0)  # (r,)
    P = U @ ((rv.T @ bt[:r].T) * inv_root)  # (m, r)
    Q = V @ ((ru.T @ a[:, :r]) * inv_root)  # (n, r)
    if rank > r:  # the update has rank ≤ k: the rest of the truncation is zero
        P = xp.concatenate([P, xp.zeros((P.shape[0], rank - r), dtype=P.dtype)], 1)
        Q = xp.concatenate([Q, xp.zeros((Q.shape[0], rank - r), dtype=Q.dtype)], 1)
    return P, Q


def truncate_weight(base, U, V, rank, rng=None, power_iterations=2, oversampling=10):
    r"""Balanced factors of a rank-``r`` approximation of ``W0 + U Vᵀ`` (randomized).

    Parameters
    ----------
    base : ndarray, shape (m, n)
        The dense ``W0``, used only in products with ``r + p`` columns.
    U : ndarray, shape (m, k)
    V : ndarray, shape (n, k)
    rank : int
        ``1 ≤ r ≤ min(m, n)``.
    rng : numpy.random.Generator or int, optional
        Draws the Gaussian test matrix.
    power_iterations : int
        Subspace iterations ``q ≥ 0`` (default 2).
    oversampling : int
        Extra columns ``p ≥ 0`` (default 10).

    Returns
    -------
    P : ndarray, shape (m, r)
    Q : ndarray, shape (n, r)
        ``PᵀP = QᵀQ = Σ_r``. Exact (the SVD truncation) when ``r + p ≥ min(m, n)``.

    Notes
    -----
    With :math:`W = W_0 + UV^\top`, a Gaussian :math:`\Omega \in \mathbb R^{n\times
    (r+p)}` and :math:`Y = (W W^\top)^q W \Omega` (re-orthonormalized after each
    product), :math:`Q_Y = \mathrm{qr}(Y)` and the SVD of the small
    :math:`B = Q_Y^\top W = A\Sigma V_B^\top`,

    .. math:: W \approx (Q_Y A_r)\,\Sigma_r\,V_{B,r}^\top ,

    whose expected spectral error is within
    :math:`[1 + \sqrt{r/(p-1)} + e\sqrt{r + p}\,\sqrt{\min(m, n) - r}/p]^{1/(2q+1)}`
    of the optimal :math:`\sigma_{r+1}` (Halko et al., Corollary 10.10).

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness:
    probabilistic algorithms for constructing approximate matrix decompositions",
    SIAM Review 53 (2011), Algorithms 4.3 and 5.1.

    Examples
    --------
    >>> import numpy as np
    >>> W0 = np.diag([3.0, 2.0, 1.0]); U = V = np.zeros((3, 1))
    >>> P, Q = truncate_weight(W0, U, V, 2, rng=0)
    >>> np.round(np.linalg.svd(P @ Q.T, compute_uv=False), 12).tolist()
    [3.0, 2.0, 0.0]
    """
    U, V, rank = _check_factors(U, V, rank)
    base = as_float_array("base", base, ndim=2, like=U)
    if base.shape != (U.shape[0], V.shape[0]):
        raise ValueError(
            f"base: expected shape {(U.shape[0], V.shape[0])} (rows of U, rows of V), "
            f"received {base.shape}"
        )
    q = check_integer("power_iterations", power_iterations, minimum=0, maximum=100)
    p = check_integer("oversampling", oversampling, minimum=0)
    rng = as_generator(rng)
    xp = backend.array_namespace(U)
    m, n = base.shape
    width = min(rank + p, m, n)

    def apply(x):  # W x, (m, c)
        return base @ x + U @ (V.T @ x)

    def apply_t(y):  # Wᵀ y, (n, c)
        return base.T @ y + V @ (U.T @ y)

    omega = backend.asarray(rng.standard_normal((n, width)), like=U)  # drawn on the host
    basis = _orthonormal_basis(apply(omega), xp)  # (m, width)
    for _ in range(q):
        basis = _orthonormal_basis(apply_t(basis), xp)  # (n, width)
        basis = _orthonormal_basis(apply(basis), xp)  # (m, width)
    small = apply_t(basis).T  # Q_Yᵀ W, (width, n)
    a, s, vt = xp.linalg.svd(small, full_matrices=False)
    return _balanced(basis @ a, s, vt, rank, xp)
