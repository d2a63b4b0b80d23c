r"""Ordering the measurements of a PDE solve for the KL-optimal sparse factor.

Points come in two sets: the boundary points are the coarse set, the interior
points follow in maximin order *conditioned on* the boundary (their first
distances are the distances to the boundary set). Reversed, as everywhere in
:mod:`refimpl.vecchia`, index 0 is the finest.

The measurements at one interior point are its Dirac :math:`\delta_x` and T − 1
derivative measurements (the Laplacian; or first and second derivatives). The
layout of the *natural* list, used by every solver here, is

.. math::

    [\delta_{\partial\Omega} \mid \delta_{\Omega} \mid D_1\delta_\Omega \mid
    \dots \mid D_{T-1}\delta_\Omega],

boundary point b at index b, interior point i with type t at :math:`n_b + t n_i + i`.
Two placements of the derivative measurements in the elimination order:

``"follow"``
    each point's derivative measurements right before its Dirac in the fine-first
    order (right after it coarse to fine), all with the point's length scale, so
    that they land in the same supernode;
``"last"``
    all derivative measurements first in the fine-first order (after all Diracs,
    coarse to fine), with the finest length scale of the Diracs.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import check_array_type, check_choice, check_integer
from refimpl.vecchia import conditional_maximin_ordering, maximin_ordering

from .system import check_apart, host_point_sets

__all__ = ["multiset_maximin_ordering", "measurement_ordering", "PLACEMENTS"]

#: The two placements of derivative measurements.
PLACEMENTS = ("follow", "last")


def multiset_maximin_ordering(boundary, interior, p=1):
    r"""Reverse maximin order of boundary then interior points, as two sets.

    Parameters
    ----------
    boundary : ndarray, shape (n_b, d)
        The coarse set, ordered among themselves by maximin.
    interior : ndarray, shape (n_i, d)
        Ordered by maximin started from their distances to the boundary set.
    p : int, optional
        k-maximin: lengths are distances to the p-th nearest chosen point (capped
        at n_b for the start of the interior set).

    Returns
    -------
    order : ndarray of int, shape (n_b + n_i,)
        Indices into ``concatenate([boundary, interior])``, finest first: the
        interior points (fine to coarse), then the boundary points.
    lengths : ndarray, shape (n_b + n_i,)
        Length scale of each ordered point; the coarsest min(p, n_b) are ``inf``.

    Both on the device of the points: the ordering itself runs on the host (KD-trees),
    after one explicit copy there.

    Notes
    -----
    Coarse to fine, the sequence is the maximin order of :math:`\partial\Omega`
    followed by

    .. math::

        i_{k+1} = \operatorname{argmax}_{i \notin C_k}
        \operatorname{dist}_p(x_i, \partial\Omega_h \cup C_k),

    so the interior length scales never exceed the distance to the boundary set.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Sec. 4.1.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = multiset_maximin_ordering(np.array([[0.0], [1.0]]),
    ...                                            np.array([[0.25], [0.5], [0.75]]))
    >>> order.tolist(), lengths.tolist()
    ([4, 2, 3, 1, 0], [0.25, 0.25, 0.5, 1.0, inf])
    """
    xp, boundary, interior = host_point_sets(boundary, interior)  # xp: where results go
    p = check_integer("p", p, minimum=1)
    nb = boundary.shape[0]
    order_b, lengths_b = maximin_ordering(boundary, p=min(p, nb))
    check_apart(boundary, interior)
    order_i, lengths_i = conditional_maximin_ordering(interior, boundary, p=min(p, nb))
    order = np.concatenate([order_i + nb, order_b])
    return xp.asarray(order), xp.asarray(np.concatenate([lengths_i, lengths_b]))


def measurement_ordering(point_order, point_lengths, n_boundary, n_types, placement="follow"):
    r"""Elimination order of the measurements at ordered points.

    Parameters
    ----------
    point_order : ndarray of int, shape (n_b + n_i,)
        From :func:`multiset_maximin_ordering`.
    point_lengths : ndarray, shape (n_b + n_i,)
        The points' length scales, in that order.
    n_boundary : int
        n_b: points with index below it carry only a Dirac.
    n_types : int
        T >= 1 measurement types at every interior point, the Dirac first.
    placement : {"follow", "last"}
        Where the derivative measurements go (see the module docstring).

    Returns
    -------
    order : ndarray of int, shape (n_b + T n_i,)
        Indices into the natural measurement list, finest first.
    lengths : ndarray, shape (n_b + T n_i,)
        Length scale of each ordered measurement.

    Both on the device of ``point_order`` (computed on the host, after one copy there).

    Notes
    -----
    With ``"last"`` the derivative measurements get :math:`\ell = \min_k \ell_k`, the
    finest scale of the Diracs; with ``"follow"`` they share their Dirac's
    :math:`\ell_k`, so a ρ-ball pattern and λ-supernodes put them in the Dirac's
    supernode.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Sec. 4.2.

    Examples
    --------
    >>> import numpy as np
    >>> order, lengths = measurement_ordering(np.array([1, 0]), np.array([0.5, np.inf]), 1, 2)
    >>> order.tolist(), lengths.tolist()  # [Δδ_1, δ_1, δ_0]
    ([2, 1, 0], [0.5, 0.5, inf])
    """
    check_array_type("point_order", point_order)
    check_array_type("point_lengths", point_lengths)
    try:
        xp = backend.array_namespace(point_order, point_lengths)  # where the results go
    except ValueError as error:
        raise ValueError(f"point_lengths: expected the device of point_order; {error}") from None
    order, lengths = _measurement_ordering(
        point_order, point_lengths, n_boundary, n_types, placement
    )
    return xp.asarray(order), xp.asarray(lengths)


def _measurement_ordering(point_order, point_lengths, n_boundary, n_types, placement):
    """:func:`measurement_ordering` on the host: its arrays copied there, NumPy results."""
    point_order = np.asarray(backend.to_numpy(point_order))
    if np.iscomplexobj(point_lengths):
        raise ValueError("point_lengths: expected real lengths, received complex values")
    try:
        point_lengths = np.asarray(backend.to_numpy(point_lengths), dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"point_lengths: expected numbers, received {point_lengths!r:.80}"
        ) from None
    if point_order.ndim != 1 or point_order.dtype.kind not in "iu" or point_order.size == 0:
        raise ValueError(
            f"point_order: expected a 1-D integer permutation, received {point_order!r:.80}"
        )
    n = point_order.size
    if not np.array_equal(np.sort(point_order), np.arange(n)):
        raise ValueError("point_order: expected a permutation of 0..n-1")
    if point_lengths.shape != (n,) or np.any(np.isnan(point_lengths)) or np.any(point_lengths <= 0):
        raise ValueError(
            f"point_lengths: expected {n} positive lengths (inf allowed), received "
            f"shape {point_lengths.shape}"
        )
    infinite = np.isinf(point_lengths)
    if np.any(infinite[: n - int(infinite.sum())]):
        raise ValueError("point_lengths: inf is allowed only for the coarsest (last) points")
    nb = check_integer("n_boundary", n_boundary, minimum=0, maximum=n)
    n_types = check_integer("n_types", n_types, minimum=1, maximum=64)
    placement = check_choice("placement", placement, PLACEMENTS)
    ni = n - nb
    interior = point_order >= nb

    # natural index of measurement type t at ordered point k
    def index(t, k):
        return np.where(point_order[k] < nb, point_order[k], nb + t * ni + point_order[k] - nb)

    k_all = np.arange(n)
    if placement == "follow":
        per_point = [np.where(interior, index(t, k_all), -1) for t in range(n_types - 1, 0, -1)]
        per_point.append(index(0, k_all))
        table = np.stack(per_point, axis=1)  # (n, T): derivatives then the Dirac
        lengths = np.repeat(point_lengths, n_types).reshape(n, n_types)
        keep = table >= 0
        return table[keep], lengths[keep]
    k_int = k_all[interior]
    derivatives = np.stack([index(t, k_int) for t in range(n_types)], axis=1)[:, 1:].ravel()
    finest = point_lengths.min()
    order = np.concatenate([derivatives, index(0, k_all)]).astype(np.intp)
    lengths = np.concatenate([np.full(derivatives.size, finest), point_lengths])
    return order, lengths
