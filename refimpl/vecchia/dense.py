r"""Dense kernel matrices: input checks and the LAPACK Cholesky of the flipped matrix.

The exact factor and the KL diagnostics need :math:`\Theta = UU^\top` with U upper
triangular, that is :math:`U = F\,\mathrm{chol}(F\Theta F)\,F` with F the order
reversal. On NumPy this runs LAPACK ``dpotrf`` (through ``scipy.linalg.lapack``) on
a Fortran-ordered copy, in blocks of at most :data:`LAPACK_BLOCK` rows (a right-
looking blocked Cholesky: ``potrf`` of a diagonal block, a triangular solve, and the
trailing update on the lower triangle in row blocks of general matrix products), which
has at most the flop count of one ``potrf`` and stays clear of OpenBLAS's threaded
``dsyrk``, which crashed for outputs of about 16 000 rows.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from refimpl import backend
from refimpl.validation import all_finite, as_float_array

__all__ = ["check_symmetric", "flipped_cholesky", "LAPACK_BLOCK"]

LAPACK_BLOCK = 4096
_SYMMETRY_TOLERANCE = 1e-10  # relative to max |Θ|


def check_symmetric(name, theta):
    """Return ``theta`` as a real, finite, square and symmetric (to rounding) float array."""
    theta = as_float_array(name, theta, ndim=2)
    if theta.shape[0] != theta.shape[1] or theta.shape[0] == 0:
        raise ValueError(
            f"{name}: expected a non-empty square matrix, received shape {theta.shape}"
        )
    xp = backend.array_namespace(theta)
    scale = float(xp.max(xp.abs(theta)))
    asymmetry = _asymmetry(theta, xp)
    if asymmetry > _SYMMETRY_TOLERANCE * scale:
        raise ValueError(
            f"{name}: expected a symmetric matrix, received max |{name} - {name}ᵀ| = "
            f"{asymmetry:.3g} (relative tolerance {_SYMMETRY_TOLERANCE:.0e})"
        )
    return theta


def _asymmetry(theta, xp, tile=256):
    """max |Θ − Θᵀ|, tile pair by tile pair so that the transposed reads stay in cache."""
    n = theta.shape[0]
    largest = 0.0
    for i in range(0, n, tile):
        for j in range(i, n, tile):
            block = theta[i : i + tile, j : j + tile] - theta[j : j + tile, i : i + tile].T
            largest = max(largest, float(xp.max(xp.abs(block))))
    return largest


def _not_pd(name):
    return np.linalg.LinAlgError(
        f"{name}: expected a symmetric positive definite matrix; its Cholesky failed"
    )


def is_cholesky_factor(C):
    """True when the stack of lower-triangular ``C`` (..., n, n) returned by a device
    Cholesky is finite with a positive diagonal: what a completed factorization gives."""
    xp = backend.array_namespace(C)
    return all_finite(C) and bool(xp.all(xp.diagonal(C, axis1=-2, axis2=-1) > 0))


def flipped_cholesky(theta, name="theta"):
    """C = chol(F Θ F), lower triangular, so that Θ = U Uᵀ with U = F C F.

    NumPy: a Fortran-ordered C (blocked LAPACK, multithreaded BLAS); CuPy: its
    ``linalg.cholesky``. LinAlgError naming ``name`` if Θ is not positive definite.
    """
    xp = backend.array_namespace(theta)
    if xp is not np:
        C = xp.linalg.cholesky(theta[::-1, ::-1])
        # CuPy does not raise on a matrix that is not positive definite (outside
        # cupyx.errstate): potrf stops at the first pivot that is not positive and leaves
        # it in place, or NaN propagates; a factor is good when its diagonal is positive
        if not is_cholesky_factor(C):
            raise _not_pd(name)
        return C
    # theta[::-1, ::-1].T is F Θᵀ F = F Θ F up to rounding, and Fortran-ordered after the copy
    a = np.array(theta[::-1, ::-1].T, order="F", dtype=float, copy=True)
    n = a.shape[0]
    for k in range(0, n, LAPACK_BLOCK):
        e = min(k + LAPACK_BLOCK, n)
        block, info = scipy.linalg.lapack.dpotrf(a[k:e, k:e], lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise _not_pd(name)
        a[k:e, k:e] = block
        if e < n:
            # L21 = A21 L11⁻ᵀ, then the trailing update A22 -= L21 L21ᵀ
            below = scipy.linalg.solve_triangular(
                block, a[e:, k:e].T, lower=True, check_finite=False
            ).T
            a[e:, k:e] = below
            a[k:e, e:] = 0.0
            # A22 -= L21 L21ᵀ on the lower triangle, LAPACK_BLOCK rows at a time: half the
            # work, and each product is a general matrix product or a small symmetric rank-k
            # update (OpenBLAS's threaded dsyrk has crashed for outputs of ~16000 rows).
            for i in range(e, n, LAPACK_BLOCK):
                j = min(i + LAPACK_BLOCK, n)
                a[i:j, e:j] -= below[i - e : j - e] @ below[: j - e].T
    if not np.all(np.isfinite(np.diagonal(a))):
        raise _not_pd(name)
    return a
