"""Initializations of the three-layer linear network: orthogonal, aligned, small Gaussian.

All functions return ``[W1, W2, W3]`` (or one matrix per consecutive pair of
``widths``) with ``W_l`` of shape ``(width_l, width_{l-1})``; random draws come only
from ``rng``. Arrays are created on the default backend, or on the backend of
``target`` for :func:`aligned_init`.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.init import orthogonal_init
>>> W1, W2, W3 = orthogonal_init((4, 6, 6, 3), scale=0.5, rng=0)
>>> bool(np.allclose(W2 @ W2.T, 0.25 * np.eye(6)))
True
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_integer,
    check_positive,
    finite_or_overflow,
)

__all__ = ["random_orthogonal", "orthogonal_init", "aligned_init", "small_gaussian_init"]


def _check_widths(widths):
    if not isinstance(widths, list | tuple) or len(widths) < 2:
        raise ValueError(
            f"widths: expected a sequence (n_in, h1, ..., n_out) of at least 2 integers, "
            f"received {widths!r}"
        )
    widths = [check_integer(f"widths[{i}]", w, minimum=1) for i, w in enumerate(widths)]
    for i in range(len(widths) - 1):
        check_array_size("widths", (widths[i + 1], widths[i]))
    return widths


def random_orthogonal(rows, cols, rng):
    r"""A Haar-random matrix with orthonormal rows (``rows ≤ cols``) or columns.

    Parameters
    ----------
    rows, cols : int
    rng : numpy.random.Generator or int

    Returns
    -------
    Q : ndarray, shape (rows, cols)
        ``Q Qᵀ = I`` if ``rows ≤ cols``, else ``Qᵀ Q = I``.

    Notes
    -----
    The QR factors of a Gaussian matrix :math:`G = QR`, with the signs of the columns
    fixed so that :math:`\mathrm{diag}(R) > 0`, make :math:`Q` Haar distributed:

    .. math:: Q \leftarrow Q\,\mathrm{diag}(\mathrm{sign}(R_{ii}))

    References
    ----------
    F. Mezzadri, "How to generate random matrices from the classical compact groups",
    Notices of the AMS 54 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> Q = random_orthogonal(2, 5, rng=1)
    >>> bool(np.allclose(Q @ Q.T, np.eye(2)))
    True
    """
    rows = check_integer("rows", rows, minimum=1)
    cols = check_integer("cols", cols, minimum=1)
    check_array_size("rows, cols", (rows, cols))
    return backend.asarray(_haar(rows, cols, as_generator(rng)))


def _haar(rows, cols, rng):
    """Host-side draw of :func:`random_orthogonal` (the random numbers come from NumPy)."""
    big, small = max(rows, cols), min(rows, cols)
    q, r = np.linalg.qr(rng.standard_normal((big, small)))
    q = q * np.sign(np.diag(r))  # sign fix makes the distribution Haar
    return q if rows >= cols else q.T


def orthogonal_init(widths, scale, rng):
    r"""Scaled random (semi-)orthogonal weights ``W_l = σ Q_l``.

    Parameters
    ----------
    widths : sequence of int
        ``(n_in, h1, h2, n_out)`` for the three-layer network (any length ≥ 2).
    scale : float
        ``σ > 0``; every singular value of every layer equals ``σ``.
    rng : numpy.random.Generator or int

    Returns
    -------
    weights : list of ndarray
        ``W_l`` of shape ``(widths[l+1], widths[l])``.

    Notes
    -----
    .. math:: W_l = \sigma Q_l,\qquad Q_l \text{ Haar (semi-)orthogonal}

    At :math:`\sigma = 1` the end-to-end map starts as a partial isometry, far from an
    infinitesimal init; InRank's claim is that the cumulative update
    :math:`W_t - W_0` still grows its rank one direction at a time.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 3.

    Examples
    --------
    >>> [w.shape for w in orthogonal_init((3, 5, 4, 2), 1.0, rng=0)]
    [(5, 3), (4, 5), (2, 4)]
    """
    widths = _check_widths(widths)
    scale = check_positive("scale", scale)
    rng = as_generator(rng)
    return [
        scale * random_orthogonal(widths[i + 1], widths[i], rng) for i in range(len(widths) - 1)
    ]


def aligned_init(target, scale, rng):
    r"""The aligned ("spectral") init of a three-layer network for ``T = U diag(s) Vᵀ``.

    Parameters
    ----------
    target : ndarray, shape (n_out, n_in)
        The target map ``T``.
    scale : float
        ``σ > 0``: every mode starts with per-layer scalar ``a = σ``, strength ``σ³``.
    rng : numpy.random.Generator or int
        Draws the free rotations ``R2``, ``R3``.

    Returns
    -------
    weights : list of ndarray
        ``[W1, W2, W3]`` with hidden widths ``h = min(n_out, n_in)`` (``n`` for a
        square ``n × n`` target): shapes ``(h, n_in)``, ``(h, h)``, ``(n_out, h)``.

    Notes
    -----
    With the thin SVD :math:`T = U\,\mathrm{diag}(s)\,V^\top` and Haar-random
    orthogonal :math:`R_2, R_3`,

    .. math::

        W_1 = \sigma R_2 V^\top,\quad W_2 = \sigma R_3 R_2^\top,\quad
        W_3 = \sigma U R_3^\top,\qquad W_3 W_2 W_1 = \sigma^3 U V^\top .

    Under gradient descent on whitened data each layer stays
    :math:`W_1 = R_2\,\mathrm{diag}(a)V^\top` etc., so mode ``i`` follows the scalar
    ODE of :mod:`refimpl.inrank.dynamics` and the singular values of
    :math:`W_2(t) - W_2(0)` are :math:`|a_i(t) - \sigma|`.

    References
    ----------
    Saxe, McClelland & Ganguli (2014); derived in ``docs/derivations/inrank.md``, section 1.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.diag([3.0, 2.0, 1.0])
    >>> W1, W2, W3 = aligned_init(T, 0.1, rng=0)
    >>> bool(np.allclose(W3 @ W2 @ W1, 1e-3 * np.eye(3)))
    True
    """
    target = as_float_array("target", target, ndim=2)
    if target.size == 0:
        raise ValueError(f"target: expected a non-empty matrix, received shape {target.shape}")
    scale = check_positive("scale", scale)
    rng = as_generator(rng)
    xp = backend.array_namespace(target)
    u, _, vt = xp.linalg.svd(target, full_matrices=False)  # (m, h), (h, n)
    h = u.shape[1]
    r2 = backend.asarray(_haar(h, h, rng), like=target)  # (h, h), drawn on the host
    r3 = backend.asarray(_haar(h, h, rng), like=target)
    return [scale * (r2 @ vt), scale * (r3 @ r2.T), scale * (u @ r3.T)]


def small_gaussian_init(widths, std, rng):
    r"""I.i.d. Gaussian weights with a small standard deviation.

    Parameters
    ----------
    widths : sequence of int
        ``(n_in, h1, ..., n_out)``.
    std : float
        Entry standard deviation ``> 0``.
    rng : numpy.random.Generator or int

    Returns
    -------
    weights : list of ndarray

    Notes
    -----
    .. math:: (W_l)_{ij} \sim \mathcal N(0, \mathrm{std}^2)

    The regime of greedy low-rank learning: an (almost) infinitesimal init.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Section 4.

    Examples
    --------
    >>> [w.shape for w in small_gaussian_init((2, 3, 1), 1e-3, rng=0)]
    [(3, 2), (1, 3)]
    """
    widths = _check_widths(widths)
    std = check_positive("std", std)
    rng = as_generator(rng)
    weights = [
        backend.asarray(std * rng.standard_normal((widths[i + 1], widths[i])))
        for i in range(len(widths) - 1)
    ]
    return finite_or_overflow(weights, "std")
