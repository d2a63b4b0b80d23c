r"""Reverse maximin ordering of a point set: the greedy definition and the fast version.

The ordering runs from coarse to fine while it is built: the first point chosen
is the coarsest, each later point is the one farthest from all points chosen so
far, and that distance is its length scale ``l``. It is returned *reversed*, so
that index 0 is the finest point and ``lengths`` do not decrease along the order:
the elimination order in which the inverse Cholesky factor of a kernel matrix is
nearly sparse (the screening effect; see ``docs/derivations/vecchia.md``).

:func:`maximin_ordering_brute_force` is the definition, in O(N²);
:func:`maximin_ordering` gives the same order and lengths in O(N log² N) through
:func:`refimpl.vecchia.maximin_fast.greedy_maximin`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from refimpl.validation import check_integer

from .maximin_fast import greedy_maximin, insert_distances
from .points import binary_scale, check_disjoint, check_points, checked_points_and_tree

__all__ = [
    "maximin_ordering",
    "maximin_ordering_brute_force",
    "conditional_maximin_ordering",
    "ordering_of_checked_points",
    "conditional_ordering_of_checked_points",
    "checked_ordering",
]


def _check_p(p, n):
    return min(check_integer("p", p, minimum=1), n)


def _check_initial(initial, n):
    """``initial`` as a list of distinct indices in [0, n): an int or a non-empty sequence."""
    if isinstance(initial, np.ndarray) and initial.ndim == 0:
        initial = initial[()]  # a 0-d array is one index
    if isinstance(initial, int | np.integer) and not isinstance(initial, bool | np.bool_):
        return [check_integer("initial", initial, minimum=0, maximum=n - 1)]
    if isinstance(initial, str | bytes) or not hasattr(initial, "__len__"):
        raise ValueError(
            f"initial: expected an index or a sequence of indices, received {initial!r:.80}"
        )
    values = [check_integer("initial", v, minimum=0, maximum=n - 1) for v in list(initial)]
    if not values or len(set(values)) != len(values):
        raise ValueError(
            f"initial: expected a non-empty sequence of distinct indices, received {values[:10]}"
        )
    return values


def _first_points(points, initial, p):
    """Choose ``initial`` in order, then (while fewer than p are chosen) by the farthest rule.

    Returns the state for the greedy phase: ``near``, ``selected``, chosen, lengths.
    """
    n = points.shape[0]
    near = np.full((n, p), np.inf)  # sorted distances to the p nearest chosen points
    selected = np.zeros(n, dtype=bool)
    chosen, lengths = [], []
    for t in range(max(p, len(initial))):
        j = initial[t] if t < len(initial) else _farthest(near, selected, t, p)
        chosen.append(j)
        lengths.append(near[j, p - 1])
        selected[j] = True
        near = insert_distances(near, np.sqrt(((points - points[j]) ** 2).sum(axis=1)))
    return near, selected, chosen, lengths


def _farthest(near, selected, t, p):
    """Index of the next point: the largest p-th distance (the t-th while t < p), lowest index."""
    column = min(t, p) - 1
    return int(np.argmax(np.where(selected, -1.0, near[:, column])))


def maximin_ordering_brute_force(points, p=1, initial=0):
    r"""Reverse (p-)maximin ordering by its definition, in O(N²): for tests and teaching.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points (a 1-D array is N points on a line).
    p : int, optional
        With ``p > 1``, the length of a point is its distance to the p-th nearest
        previously chosen point (p-maximin); ``p = 1`` is plain maximin.
    initial : int or sequence of int, optional
        Index of the first (coarsest) point chosen, or distinct indices chosen first,
        in that order (each with its p-th nearest distance to those before it).

    Returns
    -------
    order : ndarray of int, shape (N,)
        ``order[0]`` is the finest point and ``order[-1] == initial`` (the first
        entry of a sequence ``initial``).
    lengths : ndarray, shape (N,)
        ``lengths[k]`` is the length scale of point ``order[k]``; non-decreasing.
        The last ``min(p, N)`` entries are ``inf`` (no p coarser points exist).

    Notes
    -----
    Building the sequence coarse to fine, with :math:`C_k` the first k chosen
    points and :math:`\operatorname{dist}_p` the distance to the p-th nearest point,

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, C_k), \qquad l_{i_{k+1}} =
        \operatorname{dist}_p(x_{i_{k+1}}, C_k).

    While fewer than p points are chosen the p-th distance is infinite; those
    points are ranked by the distance to their farthest chosen point and get
    :math:`l = \infty`. Ties go to the lowest index. Each step recomputes every
    distance to the point just chosen.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = maximin_ordering_brute_force(np.array([0.0, 1.0, 0.5, 0.25]))
    >>> order.tolist(), lengths.tolist()
    ([3, 2, 1, 0], [0.25, 0.5, 1.0, inf])
    """
    points = check_points(points)
    n = points.shape[0]
    p = _check_p(p, n)
    initial = _check_initial(initial, n)
    scale = binary_scale(points)  # exact rescaling: no overflow of squared distances
    points = points * scale
    near = np.full((n, p), np.inf)  # sorted distances to the p nearest chosen points
    selected = np.zeros(n, dtype=bool)
    chosen, lengths = [], []
    for t in range(n):
        j = initial[t] if t < len(initial) else _farthest(near, selected, t, p)
        chosen.append(j)
        lengths.append(near[j, p - 1])
        selected[j] = True
        near = insert_distances(near, np.sqrt(((points - points[j]) ** 2).sum(axis=1)))
    return _reversed(chosen, lengths, scale)


def _reversed(chosen, lengths, scale):
    """Order finest first, and lengths in the caller's units."""
    return np.asarray(chosen[::-1], dtype=np.intp), np.asarray(lengths[::-1], dtype=float) / scale


def maximin_ordering(points, p=1, initial=0):
    r"""Reverse (p-)maximin ordering, fast: a KD-tree and lazily updated distances.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points (a 1-D array is N points on a line).
    p : int, optional
        With ``p > 1``, the length of a point is its distance to the p-th nearest
        previously chosen point (p-maximin); ``p = 1`` is plain maximin.
    initial : int or sequence of int, optional
        Index of the first (coarsest) point chosen, or distinct indices chosen first,
        in that order (each with its p-th nearest distance to those before it).

    Returns
    -------
    order : ndarray of int, shape (N,)
        ``order[0]`` is the finest point and ``order[-1] == initial`` (the first
        entry of a sequence ``initial``).
    lengths : ndarray, shape (N,)
        ``lengths[k]`` is the length scale of point ``order[k]``; non-decreasing.
        The last ``min(p, N)`` entries are ``inf``.

    Notes
    -----
    The same sequence as :func:`maximin_ordering_brute_force`, exactly (order and
    lengths, ties to the lowest index):

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, C_k), \qquad l_{i_{k+1}} =
        \operatorname{dist}_p(x_{i_{k+1}}, C_k).

    The first p points are chosen as in the definition; the rest by
    :func:`refimpl.vecchia.maximin_fast.greedy_maximin`, in O(N log² N) for
    quasi-uniform points. For p > 1 the first p points are ranked by the distance
    to their farthest chosen point, a choice of ours; the authors' KoLesky.jl breaks
    it differently, so for p > 1 the first few points (and through them the rest)
    may differ from theirs, while every later step is the same greedy rule.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.
    .. [2] Schäfer, Sullivan, Owhadi, "Compression, inversion, and approximate PCA
       of dense kernel matrices at near-linear computational complexity",
       Multiscale Model. Simul. 19(2), 2021, Alg. 4.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = maximin_ordering(np.array([0.0, 1.0, 0.5, 0.25]))
    >>> order.tolist(), lengths.tolist()
    ([3, 2, 1, 0], [0.25, 0.5, 1.0, inf])
    """
    return checked_ordering(points, p, initial)[1:]


def checked_ordering(points, p=1, initial=0, name="points"):
    """Check ``points`` and order them: ``(points, order, lengths)``. A repeated point has
    length 0 for p = 1, so the KD-tree query naming its rows (a tenth of the ordering at
    N = 1e6) runs only then; for other p it runs first."""
    p_is_one = isinstance(p, int | np.integer) and not isinstance(p, bool | np.bool_) and p == 1
    points, tree = checked_points_and_tree(points, name, distinct=not p_is_one)
    order, lengths = ordering_of_checked_points(points, tree, p, initial)
    if p_is_one and lengths.size > 1 and lengths.min() == 0.0:  # unsorted with `initial`
        checked_points_and_tree(points, name)  # raises, naming the repeated rows
        raise ValueError(f"{name}: expected distinct points, received some too close to tell apart")
    return points, order, lengths


def ordering_of_checked_points(points, tree, p=1, initial=0):
    """:func:`maximin_ordering` of checked points and the KD-tree that
    :func:`~refimpl.vecchia.points.checked_points_and_tree` returned (None: build one)."""
    n = points.shape[0]
    p = _check_p(p, n)
    initial = _check_initial(initial, n)
    scale = binary_scale(points)
    points = points * scale  # the tree, if given, holds these scaled points
    near, selected, chosen, lengths = _first_points(points, initial, p)
    if len(chosen) < n:
        # the greedy phase uses the tree for its leaf order only: the faster unbalanced build
        tree = cKDTree(points, balanced_tree=False) if tree is None else tree
        rest, rest_lengths = greedy_maximin(points, near, selected, tree)
        chosen += rest
        lengths += rest_lengths
    return _reversed(chosen, lengths, scale)


def conditional_maximin_ordering(points, reference, p=1):
    r"""Maximin ordering of ``points`` continuing after all of ``reference`` was chosen.

    Used to place prediction points in the ordering of the training points: the
    training points are the coarser ones, and the prediction points come after
    them in the coarse-to-fine sequence, so before them (finest) in the reversed
    order.

    Parameters
    ----------
    points : ndarray, shape (M, d)
        Distinct points, distinct from ``reference``.
    reference : ndarray, shape (N, d)
        Points counted as already chosen; needs N >= p.
    p : int, optional
        p-maximin, as in :func:`maximin_ordering`.

    Returns
    -------
    order : ndarray of int, shape (M,)
        Finest first, as in :func:`maximin_ordering`.
    lengths : ndarray, shape (M,)
        Distance of each point to its p-th nearest point among ``reference`` and
        the points of ``points`` chosen before it; non-decreasing and finite.

    Raises
    ------
    ValueError
        If a point coincides with a reference point or another point.

    Notes
    -----
    With :math:`C_0` the reference set, the greedy rule of
    :func:`maximin_ordering` continues,

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, C_k), \qquad C_{k+1} = C_k \cup \{x_{i_{k+1}}\}.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = conditional_maximin_ordering(np.array([0.5, 0.9]), np.array([0.0, 1.0]))
    >>> order.tolist(), lengths.round(12).tolist()
    ([1, 0], [0.1, 0.5])
    """
    points = check_points(points)
    reference = check_points(reference, "reference")
    if reference.shape[1] != points.shape[1]:
        raise ValueError(
            f"reference: expected points of dimension {points.shape[1]}, "
            f"received dimension {reference.shape[1]}"
        )
    p = check_integer("p", p, minimum=1)
    if reference.shape[0] < p:
        raise ValueError(
            f"reference: expected at least p = {p} points, received {reference.shape[0]}"
        )
    check_disjoint(points, reference)
    return conditional_ordering_of_checked_points(points, reference, p)


def conditional_ordering_of_checked_points(points, reference, p, names=("points", "reference")):
    """:func:`conditional_maximin_ordering` for checked, disjoint inputs (``names`` for errors)."""
    scale = min(binary_scale(points), binary_scale(reference))
    points, reference = points * scale, reference * scale
    dist, _ = cKDTree(reference).query(points, k=p)
    near = np.asarray(dist, dtype=float).reshape(points.shape[0], p)
    selected = np.zeros(points.shape[0], dtype=bool)
    chosen, lengths = greedy_maximin(points, near, selected, cKDTree(points))
    if np.min(lengths) <= 0.0:  # distinct points that rescaling to the common range merged
        raise ValueError(
            f"{names[0]}, {names[1]}: the coordinates span too many orders of magnitude for "
            "their distances to be resolved in double precision; rescale them"
        )
    return _reversed(chosen, lengths, scale)
