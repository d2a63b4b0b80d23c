r"""The whole pipeline: order the points, choose the pattern and supernodes, factor.

:func:`kl_cholesky` is the front door of :mod:`refimpl.vecchia`;
:func:`factor_ordered_points` is its second half, shared with prediction
(:mod:`refimpl.vecchia.prediction`), which orders its points differently.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import check_nonnegative

from .batched import check_kernel
from .factor import factor_supernodes
from .ordering import checked_ordering
from .patterns import ball_pattern
from .points import check_points, check_rho
from .supernodes import check_lam, supernodes

__all__ = ["kl_cholesky", "factor_ordered_points"]


def kl_cholesky(points, kernel, rho, lam=1.5, p=1, nugget=0.0):
    r"""Sparse KL-optimal inverse Cholesky factor of a kernel matrix: the whole pipeline.

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
        Lower triangular, with ``inv(Θ[order][:, order]) ≈ L @ L.T``; for device
        points, the device backend's ``csc_matrix`` (``cupyx.scipy.sparse``).
    order : ndarray of int, shape (N,)
        The reverse maximin order, finest first (``order[-1] == 0``), on the
        points' backend.

    Notes
    -----
    The steps are :func:`~refimpl.vecchia.ordering.maximin_ordering`,
    :func:`~refimpl.vecchia.patterns.ball_pattern`,
    :func:`~refimpl.vecchia.supernodes.supernodes` and
    :func:`~refimpl.vecchia.factor.supernodal_kl_factor`; each is public, for
    other orderings or patterns. The ordering, pattern and supernodes (integer
    structure) are found on the host, the factor (kernel blocks, Cholesky factors,
    solves) on the points' backend.
    The factor minimizes

    .. math::

        \mathrm{KL}\big(\mathcal N(0, \Theta)\,\|\,
        \mathcal N(0, (LL^\top)^{-1})\big)

    over the enlarged supernodal pattern :math:`\tilde S_{\rho,\lambda}`.

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
    host = check_points(points, distinct=False)  # distinctness: checked by the ordering
    check_kernel(kernel, host)
    rho = check_rho(rho)
    lam = check_lam(lam)
    nugget = check_nonnegative("nugget", nugget)
    host, order, lengths = checked_ordering(host, p, 0)
    L = factor_ordered_points(host[order], lengths, kernel, rho, lam, nugget, like=points)
    return L, backend.to_device(order, like=points)


def factor_ordered_points(
    ordered, lengths, kernel, rho, lam, nugget, leading_columns=None, like=None
):
    """The steps of :func:`kl_cholesky` after the ordering, for checked inputs.

    With ``leading_columns = m``, only the supernodes led by the first m columns are
    factored (used by prediction, whose M prediction points come first); the other
    columns of L stay empty. The pattern and supernodes are found on the host points
    ``ordered``; the factor is computed on the backend of ``like`` (the caller's
    points), to which the ordered points are copied.
    """
    groups = supernodes(ball_pattern(ordered, lengths, rho), lengths, lam)
    if leading_columns is not None:
        leaders = groups.members[groups.member_ptr[:-1]]  # (S,), ascending
        groups = groups.first(max(1, int(np.searchsorted(leaders, leading_columns))))
    device = backend.to_device(ordered, like=like)  # the host-to-device copy of the points
    return factor_supernodes(device, kernel, groups, nugget, n=ordered.shape[0])
