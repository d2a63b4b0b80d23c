r"""Stacks of small dense problems: kernel blocks, Cholesky factors, triangular solves.

The factors of :mod:`refimpl.vecchia.factor` (by column and by supernode)
solve one small dense problem per column or per supernode. Problems of similar
size are padded to a common size (steps of at most 12.5 %) and solved as one
stack, so the Python-level work is per stack, not per column. Padded rows and
columns are the identity, which leaves the solution of the real block unchanged.

The index sets are host structure (integers from the ordering and pattern); the
blocks, their Cholesky factors and the solves live on the points' backend, so that a
factor of device points is computed, and returned, on the device.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from refimpl import backend
from refimpl.validation import all_finite

from .dense import is_cholesky_factor
from .kernels import Kernel

__all__ = [
    "BLOCK_BUDGET",
    "size_class",
    "check_kernel",
    "kernel_blocks",
    "stacked_cholesky",
    "solve_triangular_batched",
    "assemble_csc",
    "csc_factor",
]

BLOCK_BUDGET = 250_000  # matrix entries per stack of kernel blocks (2 MB: the stack stays in cache)
_SYMMETRY_TOLERANCE = 1e-8  # relative; formulas for k(x, y) and k(y, x) may round apart
_SIZE_CLASSES = np.unique(np.ceil(1.125 ** np.arange(0, 120)).astype(np.int64))


def size_class(sizes):
    """Round sizes up to a geometric grid (steps of at most 12.5 %) for batching."""
    return _SIZE_CLASSES[np.searchsorted(_SIZE_CLASSES, sizes)]


def check_kernel(kernel, points):
    """Raise ValueError naming ``kernel`` unless it is a callable that fits the points."""
    if not callable(kernel) or isinstance(kernel, type):
        raise ValueError(f"kernel: expected a callable kernel(X, Y), received {kernel!r:.80}")
    if isinstance(kernel, Kernel):
        kernel.check_dimension(points.shape[1])


_HINT = (
    "kernel: expected kernel(X, Y) to accept leading batch axes, X (B, n, d) -> (B, n, n) "
    "real and finite; wrap a 2-D-only kernel k as "
    "numpy.vectorize(k, signature='(n,d),(m,d)->(n,m)')"
)


def kernel_blocks(points, kernel, index, valid, nugget):
    """Kernel blocks of padded index sets; padded rows/columns become the identity.

    points : (N, d) on the host or a device; index : (B, n) int, valid : (B, n) bool on
    the host (the structure). Returns (B, n, n) on the points' backend. Whatever the
    kernel returns is checked: a real, finite array of shape (B, n, n), else ValueError
    naming ``kernel``.
    """
    xp = backend.array_namespace(points)
    X = points[xp.asarray(index)]  # (B, n, d)
    if isinstance(kernel, Kernel):  # batch axes are supported; its own errors name X, Y
        K = kernel(X, X)
    else:
        try:
            K = kernel(X, X)
        except (np.linalg.LinAlgError, KeyboardInterrupt):
            raise
        except Exception as error:  # noqa: BLE001 - any failure of user code is reported
            raise ValueError(
                f"{_HINT}; with X of shape {X.shape} it raised {type(error).__name__}: {error}"
            ) from error
    # the blocks live where the points do (a user kernel may answer on the host)
    K = backend.to_numpy(K) if xp is np else backend.to_device(K, like=points)
    K = xp.asarray(K) if not backend.is_foreign_array(K) else None
    if K is None or K.dtype.kind not in "fiub":
        raise ValueError(
            f"{_HINT}; it returned {type(K).__name__} of dtype {getattr(K, 'dtype', None)}"
        )
    if K.shape != X.shape[:2] + (X.shape[1],):
        raise ValueError(f"{_HINT}; with X of shape {X.shape} it returned shape {K.shape}")
    # refimpl's own kernels return fresh, finite, exactly symmetric float blocks: mask their
    # padding in place. A user kernel's array may be shared or of integer dtype, so it is
    # copied to floats before the nugget is added below, and checked.
    trusted = isinstance(kernel, Kernel) and kernel._fresh_finite_blocks
    if not trusted:
        K = xp.where(xp.asarray(valid[:, :, None] & valid[:, None, :]), K, 0.0)
    elif not valid.all():
        padded = xp.asarray(~valid)
        K[padded] = 0.0  # padded rows
        xp.swapaxes(K, -1, -2)[padded] = 0.0  # padded columns
    if not trusted and not all_finite(K):
        raise ValueError(f"{_HINT}; it returned non-finite values (NaN or inf)")
    if not trusted and (asymmetry := float(xp.abs(K - xp.swapaxes(K, -1, -2)).max())) > (
        _SYMMETRY_TOLERANCE * float(xp.abs(K).max())
    ):
        raise ValueError(
            f"kernel: expected symmetric blocks kernel(X, X), received an asymmetry of "
            f"{asymmetry:.3g} (relative tolerance {_SYMMETRY_TOLERANCE:.1g})"
        )
    diagonal = xp.arange(index.shape[1])
    K[:, diagonal, diagonal] += xp.where(xp.asarray(valid), nugget, 1.0)
    return K


def _substitution(T, B, lower):
    """Forward (lower) or back (upper) substitution, vectorized over the stack.

    One step per row, each a batched axpy on the rows still to solve: the trip count
    is n, and no factorization of the (already triangular) T is made.
    """
    xp = backend.array_namespace(T, B)
    n = T.shape[-1]
    B = B.copy()
    X = xp.empty(np.broadcast_shapes(T.shape[:-2], B.shape[:-2]) + B.shape[-2:])
    steps = range(n) if lower else range(n - 1, -1, -1)
    for i in steps:
        X[..., i, :] = B[..., i, :] / T[..., i, i, None]
        rest = slice(i + 1, n) if lower else slice(0, i)
        B[..., rest, :] -= T[..., rest, i, None] * X[..., i, None, :]
    return X


def solve_triangular_batched(T, B, lower):
    """Solve T X = B for a stack of triangular T (..., n, n), B (..., n, k).

    Recursive 2×2 blocking keeps the flop count at n² k per system, with the work
    in batched matrix products; small diagonal blocks are solved by substitution.
    """
    xp = backend.array_namespace(T, B)
    n = T.shape[-1]
    if n <= 24:
        return _substitution(T, B, lower)
    h = n // 2
    if lower:
        X1 = solve_triangular_batched(T[..., :h, :h], B[..., :h, :], lower)
        X2 = solve_triangular_batched(T[..., h:, h:], B[..., h:, :] - T[..., h:, :h] @ X1, lower)
    else:
        X2 = solve_triangular_batched(T[..., h:, h:], B[..., h:, :], lower)
        X1 = solve_triangular_batched(T[..., :h, :h], B[..., :h, :] - T[..., :h, h:] @ X2, lower)
    return xp.concatenate([X1, X2], axis=-2)


def _not_pd_error(what, where, size):
    return np.linalg.LinAlgError(
        f"{what} {where} ({size} rows): the kernel block is not positive definite "
        "(numerically). Add a nugget (e.g. nugget=1e-8 * kernel variance) or use a "
        "smaller rho; smooth kernels such as Gaussian need one."
    )


def stacked_cholesky(K, what, labels, sizes):
    """Stacked Cholesky of K (B, n, n); on failure name the first block that is not PD.

    NumPy raises on a block that is not positive definite; CuPy returns a partial factor
    (a pivot that is not positive left in place, or NaN): both end in the same
    LinAlgError (:func:`~refimpl.vecchia.dense.is_cholesky_factor`)."""
    xp = backend.array_namespace(K)
    try:
        C = xp.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        C = None
    if C is None or not is_cholesky_factor(C):
        for b in range(K.shape[0]):  # only on failure: find the block to name
            try:
                block = xp.linalg.cholesky(K[b])
            except np.linalg.LinAlgError:
                block = None
            if block is None or not is_cholesky_factor(block):
                raise _not_pd_error(what, int(labels[b]), int(sizes[b])) from None
        raise np.linalg.LinAlgError(f"{what}s {labels[0]}..: the stacked Cholesky failed")
    return C


def csc_factor(data, indices, indptr, n):
    """The (n, n) CSC matrix of a factor, on the backend of its values ``data``.

    ``indices`` and ``indptr`` are host structure; on a device they are copied there and
    the factor is that backend's ``csc_matrix`` (``cupyx.scipy.sparse`` for CuPy)."""
    if not backend.is_device_array(data):
        return sp.csc_matrix((data, indices, indptr), shape=(n, n))
    xp = backend.array_namespace(data)
    sparse = backend.scipy_namespace(data).sparse
    return sparse.csc_matrix((data, xp.asarray(indices), xp.asarray(indptr)), shape=(n, n))


def assemble_csc(n, indptr, dest, rows, values):
    """CSC matrix with ``values`` at positions ``dest``; LinAlgError if any is not finite.

    ``values`` may live on a device (the factor is then built there); the positions and
    rows are host structure."""
    if not all_finite(values):
        raise np.linalg.LinAlgError("the factor has non-finite entries; add a nugget")
    xp = backend.array_namespace(values)
    data = xp.empty(int(indptr[-1]))
    indices = np.empty(indptr[-1], dtype=np.intp)
    data[xp.asarray(dest)] = values
    indices[dest] = rows
    return csc_factor(data, indices, indptr, n)
