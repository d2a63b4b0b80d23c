r"""Point sets: checks shared by the orderings, patterns and factors.

Helpers used across :mod:`refimpl.vecchia` (public within the subpackage; only
:func:`check_points` is exported by the package). The geometry runs on NumPy
arrays on the CPU (``scipy.spatial.cKDTree`` has no GPU version); CuPy input is
copied to the host.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import as_float_array, check_array_type

__all__ = [
    "check_points",
    "checked_points_and_tree",
    "check_disjoint",
    "check_lengths",
    "check_rho",
    "binary_scale",
    "SMALLEST_EXACT_DISTANCE",
    "check_no_near_pairs",
    "concatenate_lists",
    "pair_distances",
    "query_workers",
    "WORKERS",
]


#: ``workers`` of the KD-tree queries: every core. Each query's answer is computed on its
#: own, so the results are the same for any number of workers.
WORKERS = -1


def query_workers(n_queries):
    """``workers`` for a KD-tree query of ``n_queries`` points: one below a few thousand,
    where starting the threads (SciPy starts them per call) costs more than it saves."""
    return WORKERS if n_queries >= 4096 else 1


def check_points(points, name="points", distinct=True):
    r"""Validate a point set: finite, shape (N, d), and (by default) no duplicates.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        A 1-D array is read as N points in one dimension.
    name : str
        Argument name used in error messages.
    distinct : bool, optional
        Reject repeated points (the default). The factor functions pass False: a
        kernel that attaches several measurements (say a value and a derivative) to
        one location has repeated coordinates, and only the ordering, whose lengths
        would be 0, needs them distinct.

    Returns
    -------
    points : ndarray, shape (N, d)
        As a float NumPy array.

    Raises
    ------
    ValueError
        If the array is empty, has non-finite entries, or (with ``distinct``) two
        points coincide (their maximin length would be 0 and the kernel matrix
        singular).

    Notes
    -----
    Distinctness is what makes every maximin length positive,

    .. math::

        l_i = \operatorname{dist}(x_i, \{x_j : j \text{ coarser than } i\}) > 0,

    and the kernel matrix of a positive definite kernel nonsingular.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> check_points(np.array([0.0, 1.0])).shape
    (2, 1)
    """
    return checked_points_and_tree(points, name, distinct)[0]


def checked_points_and_tree(points, name="points", distinct=True):
    """:func:`check_points`, also returning the KD-tree it built (None if none was)."""
    if not isinstance(distinct, bool | np.bool_):
        raise ValueError(f"distinct: expected True or False, received {distinct!r}")
    if not isinstance(name, str):
        raise ValueError(f"name: expected the argument's name as a str, received {name!r}")
    points = backend.to_numpy(as_float_array(name, points, ndim=(1, 2)))
    if points.ndim == 1:
        points = points[:, None]
    if points.shape[0] < 1 or points.shape[1] < 1:
        raise ValueError(
            f"{name}: expected at least one point of dimension >= 1, received shape {points.shape}"
        )
    tree = None
    if distinct and points.shape[0] > 1:
        tree = cKDTree(points * binary_scale(points))
        # Query in the tree's leaf order (neighbouring queries share leaves: at N = 1e6
        # this halves the time), then put the answers back in the points' order.
        leaf = tree.indices
        dist, idx = np.empty((len(leaf), 2)), np.empty((len(leaf), 2), dtype=np.intp)
        dist[leaf], idx[leaf] = tree.query(tree.data[leaf], k=2, workers=query_workers(len(leaf)))
        clash = np.flatnonzero(dist[:, 1] == 0.0)
        if clash.size:
            i = int(clash[0])
            j = int(idx[i, 1]) if idx[i, 1] != i else int(idx[i, 0])
            raise ValueError(
                f"{name}: expected distinct points, received {clash.size} points that "
                f"coincide with another (first: rows {min(i, j)} and {max(i, j)}); a "
                "repeated point has maximin length 0 and makes the kernel matrix singular. "
                "Remove duplicates, or jitter them (e.g. points + 1e-9 * rng.standard_normal)"
            )
    return points, tree


def check_disjoint(points, reference, name="points", reference_name="reference"):
    """Raise ValueError if a row of ``points`` coincides with a row of ``reference``.

    The message names both rows, each by its own argument's index.
    """
    scale = min(binary_scale(points), binary_scale(reference))
    dist, idx = cKDTree(reference * scale).query(points * scale, k=1)
    clash = np.flatnonzero(dist == 0.0)
    if clash.size:
        i = int(clash[0])
        raise ValueError(
            f"{name}: expected points distinct from {reference_name}, received {clash.size} "
            f"that coincide (first: {name}[{i}] == {reference_name}[{int(idx[i])}])"
        )


def check_rho(rho, name="rho"):
    """Return ρ as a float if ρ > 0 (``inf`` allowed: the full pattern); errors say ``name``."""
    if isinstance(rho, bool | np.bool_) or not isinstance(rho, numbers.Real):
        raise ValueError(f"{name}: expected a number > 0 (inf allowed), received {rho!r}")
    try:
        rho = float(rho)
    except OverflowError:  # an integer beyond the float range: say inf if you mean it
        raise ValueError(f"{name}: expected a float (inf allowed), received {rho!r:.40}") from None
    if not rho > 0:  # also catches nan
        raise ValueError(f"{name}: expected a number > 0 (inf allowed), received {rho!r}")
    return rho


def check_lengths(lengths, n, match="points"):
    """Return ``lengths`` as a float NumPy array of shape (n,), entries > 0 (inf allowed).

    ``match`` names what fixes n, for the message.
    """
    check_array_type("lengths", lengths)
    try:
        array = np.asarray(backend.to_numpy(lengths))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"lengths: expected an array of numbers, received {lengths!r:.80}"
        ) from error
    if array.dtype.kind not in "fiu":
        raise ValueError(f"lengths: expected real length scales, received dtype {array.dtype}")
    array = array.astype(float)
    if array.shape != (n,):
        raise ValueError(
            f"lengths: expected shape ({n},) matching the {match}, received {array.shape}"
        )
    if np.any(np.isnan(array)) or np.any(array <= 0):
        raise ValueError(
            "lengths: expected positive length scales (inf allowed), received "
            f"minimum {np.min(array)!r} (NaN counts as invalid)"
        )
    return array


def binary_scale(points):
    """A power of two s with max |s · points| in [1/4, 1/2), or 1 for all-zero points.

    Orderings and patterns depend on ratios of distances only, and multiplying by a
    power of two is exact, so computing them on ``s * points`` gives bitwise the same
    answer for ordinary inputs while squared distances of huge (1e300) or tiny
    (1e-300, subnormal) coordinates do not overflow or underflow. Distances below
    :data:`SMALLEST_EXACT_DISTANCE` of the scaled points still underflow when squared.
    """
    largest = float(np.max(np.abs(points))) if points.size else 0.0
    if largest == 0.0:
        return 1.0
    _, exponent = np.frexp(largest)  # largest = mantissa · 2**exponent, mantissa in [1/2, 1)
    return float(np.ldexp(1.0, min(-int(exponent) - 1, 1023)))  # 2**1023: finite


#: Distances of points scaled by :func:`binary_scale` whose squares are normal doubles
#: (2**-511 squared is 2**-1022, the smallest): below it comparisons are not exact.
SMALLEST_EXACT_DISTANCE = 2.0**-511


def check_no_near_pairs(points, scale):
    """Raise if two distinct ``points`` (multiplied by ``scale = binary_scale(...)``) lie
    closer than :data:`SMALLEST_EXACT_DISTANCE`: with radii below it as well, their
    distance (its square underflows) cannot be compared. The message names the arguments
    of :func:`~refimpl.vecchia.patterns.ball_pattern`, its caller."""
    pairs = cKDTree(points).query_pairs(SMALLEST_EXACT_DISTANCE, output_type="ndarray")
    distinct = np.any(points[pairs[:, 0]] != points[pairs[:, 1]], axis=1)  # repeats compare
    if distinct.any():
        i, j = (int(k) for k in pairs[np.argmax(distinct)])
        raise ValueError(
            f"points, lengths, rho: rows {i} and {j} are closer than 2**-511 times the "
            f"largest coordinate ({0.5 / scale:.3g}) and some ρ·l is as small: their distance "
            "cannot be compared exactly (its square underflows); rescale the lengths or the points"
        )


def pair_distances(points, a, b):
    """|x_a − x_b| for index arrays a, b, bitwise as ``np.linalg.norm(x_a - x_b, axis=1)``.

    NumPy sums fewer than eight terms left to right, so for d < 8 a sum over the
    columns in order is the definition's ``((x_a - x_b) ** 2).sum(axis=1)``, without
    its slow reduction along a short axis.
    """
    if points.shape[1] >= 8:
        return np.sqrt(((points[a] - points[b]) ** 2).sum(axis=1))
    columns = points.T  # (d, N)
    squared = (columns[0, a] - columns[0, b]) ** 2
    for column in columns[1:]:
        squared += (column[a] - column[b]) ** 2
    return np.sqrt(squared, out=squared)


def concatenate_lists(lists):
    """Flatten a sequence of integer lists (as ``cKDTree.query_ball_point`` returns).

    Returns ``(flat, counts)``: the entries in order, and the length of each list.
    """
    counts = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.intp, count=counts.sum())
    return flat, counts
