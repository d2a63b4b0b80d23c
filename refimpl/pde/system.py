r"""The collocation system of one Gauss–Newton step: measurements and their weights.

A PDE :math:`P(u) = f` in Ω, u = g on ∂Ω, is solved at boundary points
:math:`x_b` and interior points :math:`x_i`. At interior points the PDE involves a
*basis* of T measurement types, :math:`B_0 = \delta` (the value) and derivatives
:math:`B_1, \dots, B_{T-1}` (for −Δu + τ(u) = f: δ and Δδ). Linearized at the
current iterate v, the interior equation is one measurement per point,

.. math::

    \phi_i = \sum_t w_{it}\, B_t\delta_{x_i},

so the Gauss–Newton system has the measurements
:math:`[\delta_{x_b}; \phi_i] = A\,[\delta_{x_b}; B_0\delta_{x_i}; \dots; B_{T-1}\delta_{x_i}]`
with the sparse matrix of weights

.. math::

    A = \begin{pmatrix} I & 0 & \cdots & 0 \\
    0 & \operatorname{diag}(w_{\cdot 0}) & \cdots & \operatorname{diag}(w_{\cdot,T-1})
    \end{pmatrix},

and :math:`\Theta = A\,\Theta_{\text{big}}\,A^\top` with :math:`\Theta_{\text{big}}`
the Gram matrix of the big list (the natural layout of
:mod:`refimpl.pde.ordering`).
"""

from __future__ import annotations

import re

import numpy as np
from scipy.spatial import cKDTree

from refimpl import backend
from refimpl.validation import as_float_array
from refimpl.vecchia import check_points

from .functionals import (
    concatenate,
    first_derivatives,
    laplacians,
    point_values,
    second_derivatives,
)
from .measurements import (
    check_backend,
    check_coordinates,
    check_not_bool,
    unchecked_measurements,
)

__all__ = ["CollocationSystem", "basis_measurements", "check_apart", "host_system"]


def basis_measurements(name, points):
    r"""The unit measurements of one basis type at points.

    Parameters
    ----------
    name : str
        ``"value"`` (δ), ``"laplacian"`` (Δδ), ``"d<i>"`` (∂ᵢδ) or ``"d<i><j>"``
        (∂ᵢ∂ⱼδ), coordinates counted from 0.
    points : ndarray, shape (n, d)

    Returns
    -------
    Measurements

    Notes
    -----
    .. math:: B_{\text{d01}} = \partial_0\partial_1\delta,\quad
       B_{\text{laplacian}} = \textstyle\sum_i \partial_i^2\delta.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 2.

    Examples
    --------
    >>> basis_measurements("d01", [[0.0, 0.0]]).hessian[0].tolist()
    [[0.0, 0.5], [0.5, 0.0]]
    """
    if not isinstance(name, str):
        raise ValueError(f"name: expected a basis name such as 'value', received {name!r}")
    if name == "value":
        return point_values(points)
    if name == "laplacian":
        return laplacians(points)
    match = re.fullmatch(r"d(\d)(\d)?", name)
    if match is None:
        raise ValueError(
            f"name: expected 'value', 'laplacian', 'd<i>' or 'd<i><j>', received {name!r}"
        )
    i = int(match.group(1))
    if match.group(2) is None:
        return first_derivatives(points, i)
    return second_derivatives(points, i, int(match.group(2)))


def check_apart(boundary, interior):
    """Raise ValueError naming ``interior`` if one of its points is a boundary point.

    A point in both sets would carry a boundary Dirac and the interior measurements, whose
    Gram matrix is then singular for a PDE whose operator includes the value (and its
    equation contradicts the boundary condition): refused on every path (the system, the
    ordering).
    """
    gap, nearest = cKDTree(boundary).query(interior)
    if np.any(gap == 0):
        i = int(np.flatnonzero(gap == 0)[0])
        raise ValueError(
            f"interior: expected points apart from the boundary points, received interior[{i}] "
            f"== boundary[{int(nearest[i])}]"
        )


def host_point_sets(boundary, interior):
    """``(xp, boundary, interior)``: the points' array namespace and the two sets checked
    (finite, each distinct, of one dimension) as host arrays.

    The checks build KD-trees (SciPy, on the host): this is the one device-to-host copy of
    the points (:func:`refimpl.backend.to_numpy`, inside :func:`refimpl.vecchia.check_points`)
    for the system set-up and the orderings.
    """
    try:
        xp = backend.array_namespace(boundary, interior)
    except ValueError as error:
        raise ValueError(f"interior: expected the device of boundary; {error}") from None
    boundary = check_coordinates("boundary", check_points(boundary, "boundary"))
    interior = check_coordinates("interior", check_points(interior, "interior"))
    if boundary.shape[1] != interior.shape[1]:
        raise ValueError(
            f"interior: expected dimension {boundary.shape[1]} like boundary, received "
            f"{interior.shape[1]}"
        )
    return xp, boundary, interior


def checked_points(boundary, interior):
    """``boundary`` and ``interior`` checked (distinct, apart, finite), on their device
    (lists: the default backend's), after the host checks of :func:`host_point_sets`."""
    xp, boundary, interior = host_point_sets(boundary, interior)
    check_apart(boundary, interior)
    return xp.asarray(boundary), xp.asarray(interior)


class CollocationSystem:
    r"""Boundary and interior points with the interior basis of measurement types.

    Parameters
    ----------
    boundary : ndarray, shape (n_b, d)
    interior : ndarray, shape (n_i, d)
        Distinct from each other and from the boundary points.
    basis : sequence of str
        Interior measurement types, ``"value"`` first (see :func:`basis_measurements`).

    Attributes
    ----------
    boundary, interior : ndarray
    basis : tuple of str
    type_measurements : list of Measurements
        The unit measurements :math:`B_t\delta_{x_i}` of each type, at the interior points.
    n_boundary, n_interior, n_types : int

    Every array lives on the device of the points given (CuPy points give CuPy
    measurements and weights; lists give arrays of the default backend). Only the checks
    of distinct points run on the host.

    Notes
    -----
    The big list is :math:`[\delta_{x_b}; B_0\delta_{x_i}; \dots; B_{T-1}\delta_{x_i}]`
    and the system's measurements are :math:`A` times it (module docstring).

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 3.

    Examples
    --------
    >>> import numpy as np
    >>> s = CollocationSystem(np.array([[0.0], [1.0]]), np.array([[0.5]]), ("value", "d00"))
    >>> len(s.big_measurements()), s.weight_matrix(np.array([[2.0, -1.0]])).toarray().tolist()
    (4, [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, -1.0]])
    """

    def __init__(self, boundary, interior, basis):
        boundary, interior = checked_points(boundary, interior)
        if not isinstance(basis, list | tuple) or not basis or basis[0] != "value":
            raise ValueError(
                f"basis: expected a list of type names starting with 'value', {basis!r}"
            )
        self.boundary, self.interior, self.basis = boundary, interior, tuple(basis)
        self.n_boundary, self.n_interior = boundary.shape[0], interior.shape[0]
        self.n_types = len(self.basis)
        try:
            self.type_measurements = [basis_measurements(name, interior) for name in self.basis]
        except ValueError as error:
            raise ValueError(f"basis: {error}") from None

    @property
    def points(self):
        """All points, boundary first, shape (n_b + n_i, d)."""
        return backend.array_namespace(self.interior).concatenate([self.boundary, self.interior])

    def big_measurements(self):
        """The big list of n_b + T n_i measurements (natural layout)."""
        return concatenate([point_values(self.boundary), *self.type_measurements])

    def check_weights(self, weights, name="weights"):
        """Return ``weights`` as a finite (n_i, T) array on the system's device, or raise
        ValueError naming it."""
        weights = check_not_bool(name, weights)
        w = as_float_array(name, weights, ndim=2, like=self.interior)
        w = check_coordinates(name, check_backend(name, w, self.interior))
        if w.shape != (self.n_interior, self.n_types):
            raise ValueError(
                f"{name}: expected shape ({self.n_interior}, {self.n_types}), received {w.shape}"
            )
        return w

    def combined(self, weights):
        r"""The system's measurements :math:`[\delta_{x_b}; \sum_t w_{it} B_t\delta_{x_i}]`."""
        return self._combined(self.check_weights(weights))

    def _combined(self, w):
        """:meth:`combined` of checked weights (n_i, T)."""
        value = sum(t.value * w[:, k] for k, t in enumerate(self.type_measurements))
        gradient = sum(t.gradient * w[:, k, None] for k, t in enumerate(self.type_measurements))
        hessian = sum(t.hessian * w[:, k, None, None] for k, t in enumerate(self.type_measurements))
        nb, d = self.boundary.shape
        xp = backend.array_namespace(w)
        return unchecked_measurements(
            self.points,
            xp.concatenate([xp.ones(nb), value]),  # δ at the boundary points
            xp.concatenate([xp.zeros((nb, d)), gradient]),
            xp.concatenate([xp.zeros((nb, d, d)), hessian]),
        )

    def weight_matrix(self, weights):
        """The sparse matrix A, shape (n_b + n_i, n_b + T n_i) (SciPy or cupyx sparse)."""
        return self._weight_matrix(self.check_weights(weights))

    def _weight_matrix(self, w):
        """:meth:`weight_matrix` of checked weights (n_i, T)."""
        nb, ni = self.n_boundary, self.n_interior
        xp, sparse = backend.array_namespace(w), backend.scipy_namespace(w).sparse
        rows = xp.concatenate([xp.arange(nb), xp.tile(nb + xp.arange(ni), self.n_types)])
        cols = xp.arange(nb + self.n_types * ni)
        data = xp.concatenate([xp.ones(nb), w.T.ravel()])
        return sparse.csr_matrix((data, (rows, cols)), shape=(nb + ni, nb + self.n_types * ni))


def host_system(system):
    """``system`` with its arrays on the host (``system`` itself when they are there).

    For the stages that run on the host (the sparse solver's SuperLU and KD-trees): the
    one device-to-host copy of a system, by :func:`refimpl.backend.to_numpy`.
    """
    if backend.array_namespace(system.interior) is np:
        return system
    return CollocationSystem(
        backend.to_numpy(system.boundary), backend.to_numpy(system.interior), system.basis
    )
