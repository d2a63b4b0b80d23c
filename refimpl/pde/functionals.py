r"""The named measurements: δ, Δδ, ∂ᵢδ, ∂ᵢ∂ⱼδ at points, and concatenation of lists."""

from __future__ import annotations

from refimpl import backend
from refimpl.validation import check_integer

from .measurements import Measurements, check_measurement_points, check_weights

__all__ = [
    "point_values",
    "laplacians",
    "first_derivatives",
    "second_derivatives",
    "concatenate",
]


def point_values(points, weight=1.0):
    r"""Dirac measurements :math:`w\,\delta_{x_k}`.

    Parameters
    ----------
    points : ndarray, shape (n, d)
    weight : float or ndarray, shape (n,), optional

    Returns
    -------
    Measurements

    Notes
    -----
    .. math:: \phi_k(u) = w_k\, u(x_k).

    References
    ----------
    .. [1] Chen, Hosseini, Owhadi, Stuart, J. Comput. Phys. 447, 2021, Sec. 3.

    Examples
    --------
    >>> point_values([[0.5, 0.5]]).value.tolist()
    [1.0]
    """
    points = check_measurement_points(points)
    return Measurements(points, value=check_weights(weight, points))


def laplacians(points, weight=1.0):
    r"""Laplacian measurements :math:`w\,\Delta\delta_{x_k}`.

    Parameters
    ----------
    points : ndarray, shape (n, d)
    weight : float or ndarray, shape (n,), optional
        Use ``-1`` for :math:`-\Delta`.

    Returns
    -------
    Measurements

    Notes
    -----
    .. math:: \phi_k(u) = w_k \sum_i \partial_i^2 u(x_k).

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Sec. 2.

    Examples
    --------
    >>> laplacians([[0.5, 0.5]], -1.0).hessian[0].tolist()
    [[-1.0, 0.0], [0.0, -1.0]]
    """
    points = check_measurement_points(points)
    d = points.shape[1]
    w = check_weights(weight, points)
    return Measurements(points, hessian=w[:, None, None] * backend.array_namespace(w).eye(d))


def first_derivatives(points, i, weight=1.0):
    r"""First-derivative measurements :math:`w\,\partial_i\delta_{x_k}`.

    Parameters
    ----------
    points : ndarray, shape (n, d)
    i : int
        The coordinate, 0 <= i < d.
    weight : float or ndarray, shape (n,), optional

    Returns
    -------
    Measurements

    Notes
    -----
    .. math:: \phi_k(u) = w_k\, \partial_i u(x_k).

    References
    ----------
    .. [1] Chen, Hosseini, Owhadi, Stuart, J. Comput. Phys. 447, 2021, Sec. 3.

    Examples
    --------
    >>> first_derivatives([[0.5, 0.5]], 1).gradient.tolist()
    [[0.0, 1.0]]
    """
    points = check_measurement_points(points)
    n, d = points.shape
    i = check_integer("i", i, minimum=0, maximum=d - 1)
    w = check_weights(weight, points)
    gradient = backend.array_namespace(w).zeros((n, d))
    gradient[:, i] = w
    return Measurements(points, gradient=gradient)


def second_derivatives(points, i, j, weight=1.0):
    r"""Second-derivative measurements :math:`w\,\partial_i\partial_j\delta_{x_k}`.

    Parameters
    ----------
    points : ndarray, shape (n, d)
    i, j : int
        Coordinates, 0 <= i, j < d.
    weight : float or ndarray, shape (n,), optional

    Returns
    -------
    Measurements

    Notes
    -----
    .. math:: \phi_k(u) = w_k\, \partial_i \partial_j u(x_k),

    stored as the symmetric weight :math:`W = w (e_i e_j^\top + e_j e_i^\top)/2`.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 5 (Monge–Ampère).

    Examples
    --------
    >>> second_derivatives([[0.5, 0.5]], 0, 1).hessian[0].tolist()
    [[0.0, 0.5], [0.5, 0.0]]
    """
    points = check_measurement_points(points)
    n, d = points.shape
    i = check_integer("i", i, minimum=0, maximum=d - 1)
    j = check_integer("j", j, minimum=0, maximum=d - 1)
    w = check_weights(weight, points)
    hessian = backend.array_namespace(w).zeros((n, d, d))
    hessian[:, i, j] += 0.5 * w
    hessian[:, j, i] += 0.5 * w
    return Measurements(points, hessian=hessian)


def concatenate(parts):
    r"""One measurement list from several, in order.

    Parameters
    ----------
    parts : sequence of Measurements
        All of the same dimension.

    Returns
    -------
    Measurements

    Notes
    -----
    The Gram matrix of the concatenation is the block matrix
    :math:`[\Theta_{ab}]_{a,b}` of the parts' cross-covariances.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 3.

    Examples
    --------
    >>> len(concatenate([point_values([[0.0]]), laplacians([[0.0]])]))
    2
    """
    if not isinstance(parts, list | tuple) or not parts:
        raise ValueError(f"parts: expected a non-empty list of Measurements, received {parts!r}")
    if not all(isinstance(p, Measurements) for p in parts):
        raise ValueError("parts: expected Measurements objects only")
    dims = {p.dim for p in parts}
    if len(dims) != 1:
        raise ValueError(f"parts: expected measurements of one dimension, received {sorted(dims)}")
    try:
        xp = backend.array_namespace(*(p.points for p in parts))
    except ValueError as error:
        raise ValueError(f"parts: expected measurements on one device; {error}") from None
    return Measurements(
        xp.concatenate([p.points for p in parts]),
        xp.concatenate([p.value for p in parts]),
        xp.concatenate([p.gradient for p in parts]),
        xp.concatenate([p.hessian for p in parts]),
    )
