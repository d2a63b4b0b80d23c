r"""Elementwise activations with their first and second derivatives.

An activation σ enters the forward pass as a = σ(z), the backward pass through
σ'(z), and the forward-over-reverse (R-operator) pass through σ''(z): the tangent
of the backward cotangent σ'(z) ⊙ ḡ is σ''(z) ⊙ ż ⊙ ḡ + σ'(z) ⊙ ġ.

References
----------
.. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
   Computation 6(1), 1994.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_choice, check_in_interval

__all__ = ["ACTIVATIONS", "activation_derivatives"]

#: The activations the networks of :mod:`refimpl.nn` accept.
ACTIVATIONS = ("relu", "leaky_relu", "tanh")


def derivatives(name, z, negative_slope):
    """(σ(z), σ'(z), σ''(z)) without input checks; σ'' is None where it vanishes."""
    xp = backend.array_namespace(z)
    if name == "tanh":
        value = xp.tanh(z)
        first = 1.0 - value * value
        return value, first, -2.0 * value * first
    positive = z > 0
    # At z = 0 the derivative is taken from the left (0 for ReLU): a measure-zero choice.
    slope = 0.0 if name == "relu" else negative_slope
    first = xp.where(positive, 1.0, slope)
    return z * first, first, None


def activation_derivatives(name, z, negative_slope=0.2):
    r"""The activation σ and its first two derivatives at z, elementwise.

    Parameters
    ----------
    name : {"relu", "leaky_relu", "tanh"}
    z : array_like
        Pre-activations.
    negative_slope : float
        Slope of ``leaky_relu`` for z < 0, in [0, 1).

    Returns
    -------
    value, first, second : ndarray
        σ(z), σ'(z) and σ''(z), each of the shape of ``z``. The piecewise linear
        activations have σ'' = 0 away from 0 (and σ'(0) is taken from the left).

    Notes
    -----
    .. math::

        \mathrm{relu}(z) = \max(z, 0), \qquad
        \mathrm{leaky}(z) = \max(z, s z), \qquad
        \tanh'(z) = 1 - \tanh^2 z, \qquad \tanh''(z) = -2 \tanh z\,(1 - \tanh^2 z).

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> import numpy as np
    >>> value, first, second = activation_derivatives("leaky_relu", np.array([-1.0, 2.0]))
    >>> value, first, second
    (array([-0.2,  2. ]), array([0.2, 1. ]), array([0., 0.]))
    """
    check_choice("name", name, ACTIVATIONS)
    if isinstance(z, bool | np.bool_):
        raise ValueError(f"z: expected real pre-activations, received {z!r}")
    z = as_float_array("z", z)
    negative_slope = check_in_interval("negative_slope", negative_slope, 0.0, 1.0, "left")
    value, first, second = derivatives(name, z, negative_slope)
    return value, first, (0.0 * z if second is None else second)
