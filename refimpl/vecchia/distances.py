r"""Euclidean distances between point sets, exact for nearby points, safe for huge ones.

The kernels of :mod:`refimpl.vecchia.kernels` are functions of these distances.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array

__all__ = ["pairwise_distances", "check_point_arrays", "distances_of_checked"]


def check_point_arrays(X, Y):
    """Check two point arrays (..., n, d) and (..., m, d) of one backend and dimension."""
    X = as_float_array("X", X)
    Y = X if Y is None else as_float_array("Y", Y, like=X)
    if X.ndim < 2 or Y.ndim < 2:
        raise ValueError(
            f"X, Y: expected point arrays of shape (..., n, d), received shapes "
            f"{X.shape} and {Y.shape}"
        )
    if X.shape[-1] != Y.shape[-1]:
        raise ValueError(
            f"Y: expected points of dimension d = {X.shape[-1]} like X, received "
            f"dimension {Y.shape[-1]}"
        )
    try:
        np.broadcast_shapes(X.shape[:-2], Y.shape[:-2])
    except ValueError as error:
        raise ValueError(
            f"Y: expected batch axes that broadcast with X's {X.shape[:-2]}, received "
            f"{Y.shape[:-2]}"
        ) from error
    return X, Y


def _squared_distances(X, Y, out=None):
    """Σ_c (X[..., :, None, c] − Y[..., None, :, c])², coordinate by coordinate."""
    xp = backend.array_namespace(X)
    shape = np.broadcast_shapes(X.shape[:-2], Y.shape[:-2]) + (X.shape[-2], Y.shape[-2])
    squared = xp.empty(shape, dtype=X.dtype) if out is None else out
    if X.shape[-1] == 0:
        squared[...] = 0.0
        return squared
    xp.subtract(X[..., :, None, 0], Y[..., None, :, 0], out=squared)
    squared *= squared
    for axis in range(1, X.shape[-1]):  # loop over the d coordinates, not the entries
        diff = X[..., :, None, axis] - Y[..., None, :, axis]  # (..., n, m)
        diff *= diff
        squared += diff
    return squared


def pairwise_distances(X, Y=None):
    r"""Euclidean distances between the rows of two point sets.

    Parameters
    ----------
    X : ndarray, shape (..., n, d)
        Finite points; leading batch axes allowed.
    Y : ndarray, shape (..., m, d), optional
        Finite points of the same dimension and backend; defaults to ``X``.

    Returns
    -------
    r : ndarray, shape (..., n, m)
        Finite; squared distances that would overflow are computed on rescaled
        points instead, and distances beyond the largest double raise ValueError.

    Notes
    -----
    .. math::

        r_{ab} = \Big(\sum_{c=1}^d (x_{ac} - y_{bc})^2\Big)^{1/2}.

    Differences are formed coordinate by coordinate rather than through
    ``|x|² + |y|² − 2 x·y``, which loses all digits for nearby points (the very
    entries that matter for the conditional variances of fine-scale points).

    References
    ----------
    .. [1] Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM,
       2002, Sec. 1.7 (cancellation).

    Examples
    --------
    >>> import numpy as np
    >>> pairwise_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1e-9, 0.0]]))
    array([[5.e+00, 1.e-09]])
    """
    X, Y = check_point_arrays(X, Y)
    return distances_of_checked(X, Y)


def distances_of_checked(X, Y):
    """pairwise_distances of checked arrays: fast, with an exact rescaled fallback."""
    xp = backend.array_namespace(X)
    with np.errstate(over="ignore", invalid="ignore"):
        r = _squared_distances(X, Y)
        r = xp.sqrt(r, out=r)
    # finite inputs give no NaN, so the largest entry tells whether one overflowed
    if r.size == 0 or bool(xp.max(r) < np.inf):
        return r
    # a squared distance overflowed: rescale by a power of two (exact) and scale back
    largest = max(float(xp.max(xp.abs(X))), float(xp.max(xp.abs(Y))))
    scale = float(np.ldexp(1.0, -int(np.frexp(largest)[1]) - 1))
    with np.errstate(over="ignore", invalid="ignore"):
        r = xp.sqrt(_squared_distances(X * scale, Y * scale)) / scale
    if not bool(xp.all(xp.isfinite(r))):
        raise ValueError(
            "X, Y: distances between the points exceed the largest double "
            f"(coordinates up to {largest:.3g}); rescale the points"
        )
    return r
