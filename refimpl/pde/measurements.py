r"""Linear measurements of a function at points: values, derivatives and their sums.

A measurement at a point x is a linear functional of order at most two,

.. math::

    \phi(u) = w_0\, u(x) + \textstyle\sum_i w_i\, \partial_i u(x)
    + \sum_{ij} W_{ij}\, \partial_i \partial_j u(x),

with W symmetric (derivatives commute, so only the symmetric part acts). The
Dirac :math:`\delta_x` has :math:`w_0 = 1`; the Laplacian :math:`\Delta\delta_x` has
:math:`W = I`; the linearized interior operator of an elliptic PDE,
:math:`(-\Delta + c(x))\delta_x`, has :math:`w_0 = c(x)`, :math:`W = -I`.

A list of measurements is encoded as a matrix of *rows*
``[x_1..x_d, w_0, w_1..w_d, W_11, W_12, .., W_dd]`` of width :math:`(d + 1)^2`, so
that a measurement kernel is an ordinary kernel ``kernel(X, Y)`` on rows and
:func:`refimpl.vecchia.kl_factor` takes measurement lists like point sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_array_type, check_integer

__all__ = [
    "Measurements",
    "dimension_of_rows",
    "check_coordinates",
    "check_weights",
    "check_not_bool",
    "check_backend",
    "LARGEST",
]


#: Largest coordinate or weight accepted: squared distances and products stay finite.
LARGEST = 1e100


def check_coordinates(name, x):
    """Raise ValueError naming ``name`` if an entry of ``x`` exceeds :data:`LARGEST`."""
    xp = backend.array_namespace(x)
    if x.size and float(xp.max(xp.abs(x))) > LARGEST:
        raise ValueError(
            f"{name}: expected entries of magnitude <= {LARGEST:g} (squares must not overflow), "
            f"received {float(xp.max(xp.abs(x))):.3g}"
        )
    return x


def check_backend(name, x, like):
    """Return ``x``, or raise ValueError naming ``name`` if it is not on the backend of ``like``.

    The arrays of one measurement list, system or solver live on one device (the points'):
    a NumPy array mixed with CuPy arrays is refused here, with the argument's name, rather
    than as a ``TypeError`` deep inside a computation.
    """
    if backend.array_namespace(x) is not backend.array_namespace(like):
        raise ValueError(
            f"{name}: expected an array on the backend of the points ({type(like).__module__}"
            f".{type(like).__name__}), received {type(x).__module__}.{type(x).__name__}; move "
            "it with refimpl.backend.to_numpy or refimpl.backend.asarray(x, like=...)"
        )
    return x


def check_measurement_points(points, name="points"):
    """Return ``points`` as a non-empty (n, d) float array on their backend, or raise."""
    points = as_float_array(name, points, ndim=(1, 2))
    points = points[:, None] if points.ndim == 1 else points
    if points.shape[0] == 0 or points.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (n, d) array, received {points.shape}")
    return check_coordinates(name, points)


def check_not_bool(name, x):
    """Raise ValueError naming ``name`` if ``x`` is a bool or an array of bools."""
    if isinstance(x, bool | np.bool_) or getattr(x, "dtype", None) == np.bool_:
        raise ValueError(f"{name}: expected numbers, received booleans {x!r:.60}")
    return x


def check_weights(weight, points):
    """Return ``weight`` (a number or shape (n,)) broadcast to (n,) on the backend of
    ``points`` (n, d), or raise ValueError naming it."""
    n = points.shape[0]
    w = as_float_array("weight", check_not_bool("weight", weight), like=points)
    check_backend("weight", w, points)
    if w.ndim > 1 or (w.ndim == 1 and w.shape != (n,)):
        raise ValueError(
            f"weight: expected a number or shape ({n},) matching points, received shape {w.shape}"
        )
    return check_coordinates("weight", backend.array_namespace(w).broadcast_to(w, (n,)))


@dataclass(frozen=True, eq=False)
class Measurements:
    r"""A list of n measurements in d dimensions (see the module docstring).

    Parameters
    ----------
    points : ndarray, shape (n, d)
        Where each measurement acts (repeated points allowed).
    value : ndarray, shape (n,), optional
        Weights :math:`w_0` of the point values (default 0).
    gradient : ndarray, shape (n, d), optional
        Weights :math:`w_i` of the first derivatives (default 0).
    hessian : ndarray, shape (n, d, d), optional
        Weights :math:`W_{ij}` of the second derivatives (symmetrized; default 0).

    Attributes
    ----------
    points, value, gradient, hessian : ndarray
        As above, all present (zeros where not given).

    Notes
    -----
    .. math::

        \phi_k(u) = w_0^{(k)} u(x_k) + w^{(k)} \cdot \nabla u(x_k)
        + W^{(k)} : \nabla^2 u(x_k).

    References
    ----------
    .. [1] Chen, Hosseini, Owhadi, Stuart, "Solving and learning nonlinear PDEs with
       Gaussian processes", J. Comput. Phys. 447, 2021, Sec. 3.

    Examples
    --------
    >>> import numpy as np
    >>> m = Measurements(np.zeros((1, 2)), value=[2.0], hessian=-np.eye(2)[None])
    >>> m.rows().tolist()  # (2 - Δ) δ at the origin
    [[0.0, 0.0, 2.0, 0.0, 0.0, -1.0, 0.0, 0.0, -1.0]]
    """

    points: np.ndarray
    value: np.ndarray = None
    gradient: np.ndarray = None
    hessian: np.ndarray = None

    def __post_init__(self):
        points = check_measurement_points(self.points)
        n, d = points.shape
        fields = {
            "value": (n,),
            "gradient": (n, d),
            "hessian": (n, d, d),
        }
        object.__setattr__(self, "points", points)
        xp = backend.array_namespace(points)  # the weights live on the points' device
        for name, shape in fields.items():
            given = getattr(self, name)
            if given is None:
                w = xp.zeros(shape)
            else:
                w = as_float_array(name, check_not_bool(name, given), like=points)
                check_backend(name, w, points)
                try:
                    w = xp.array(xp.broadcast_to(w, shape), dtype=float)
                except ValueError:
                    raise ValueError(
                        f"{name}: expected weights of shape {shape} (or broadcastable) matching "
                        f"points of shape {points.shape}, received shape {w.shape}"
                    ) from None
                check_coordinates(name, w)
            if name == "hessian":
                w = 0.5 * (w + xp.swapaxes(w, -1, -2))
            object.__setattr__(self, name, w)

    def __len__(self):
        return self.points.shape[0]

    @property
    def dim(self) -> int:
        """Dimension d of the points."""
        return self.points.shape[1]

    @property
    def order(self) -> int:
        """Highest derivative order with a non-zero weight (0, 1 or 2)."""
        xp = backend.array_namespace(self.points)
        if bool(xp.any(self.hessian != 0)):
            return 2
        return 1 if bool(xp.any(self.gradient != 0)) else 0

    def rows(self):
        """The encoded rows, shape (n, (d + 1)²), on the points' device."""
        n = len(self)
        return backend.array_namespace(self.points).concatenate(
            [self.points, self.value[:, None], self.gradient, self.hessian.reshape(n, -1)], axis=1
        )

    def scaled(self, factors):
        """The measurements multiplied by ``factors`` (shape (n,)), e.g. to unit variance."""
        f = as_float_array("factors", check_not_bool("factors", factors), ndim=1, like=self.points)
        check_backend("factors", f, self.points)
        if f.shape != (len(self),):
            raise ValueError(f"factors: expected shape ({len(self)},), received {f.shape}")
        scaled = self._scaled(f)
        xp = backend.array_namespace(f)
        largest = max(float(xp.max(xp.abs(w))) if w.size else 0.0 for w in scaled._weights())
        if largest > LARGEST:
            raise ValueError(
                f"factors: the scaled weights reach {largest:.3g}; expected weights of "
                f"magnitude <= {LARGEST:g} (squares must not overflow)"
            )
        return scaled

    def _scaled(self, f):
        """:meth:`scaled` without its checks."""
        return unchecked_measurements(
            self.points,
            self.value * f,
            self.gradient * f[:, None],
            self.hessian * f[:, None, None],
        )

    def _weights(self):
        return self.value, self.gradient, self.hessian

    def take(self, index):
        """The measurements at positions ``index`` (a 1-D array of integers in [0, n))."""
        check_array_type("index", index)
        check_not_bool("index", index)
        try:
            index = np.asarray(backend.to_numpy(index))
        except (TypeError, ValueError):
            index = np.asarray(None)
        n = len(self)
        if index.ndim != 1 or index.dtype.kind not in "iu" or index.size == 0:
            raise ValueError(
                "index: expected a non-empty 1-D array of integer positions, received "
                f"{index!r:.80}"
            )
        if np.any(index < 0) or np.any(index >= n):
            raise ValueError(
                f"index: expected positions 0 <= index < {n}, received {int(index.min())} to "
                f"{int(index.max())}"
            )
        # checked on the host; the positions go back to the points' device to index there
        index = backend.array_namespace(self.points).asarray(index)
        return unchecked_measurements(
            self.points[index], self.value[index], self.gradient[index], self.hessian[index]
        )


def unchecked_measurements(points, value, gradient, hessian):
    """Measurements from arrays already checked and shaped (no copy, no checks)."""
    out = object.__new__(Measurements)
    for name, array in zip(
        ("points", "value", "gradient", "hessian"), (points, value, gradient, hessian), strict=True
    ):
        object.__setattr__(out, name, array)
    return out


def dimension_of_rows(width, name="X"):
    r"""The point dimension d of encoded rows of width :math:`(d + 1)^2`.

    Parameters
    ----------
    width : int
        Number of columns of the encoded rows.
    name : str, optional
        The argument named in the error.

    Returns
    -------
    int

    Notes
    -----
    .. math:: \text{width} = d + 1 + d + d^2 = (d + 1)^2.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 3.

    Examples
    --------
    >>> dimension_of_rows(9)
    2
    """
    width = check_integer("width", width)
    d = int(round(np.sqrt(max(width, 0)))) - 1
    if d < 1 or (d + 1) ** 2 != width:
        raise ValueError(
            f"{name}: expected encoded measurement rows of width (d + 1)^2, received width {width}"
        )
    return d
