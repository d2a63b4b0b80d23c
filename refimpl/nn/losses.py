r"""The squared-error loss of a network, its gradient and exact Hessian-vector products.

.. math::

    \ell(\theta) = \frac{1}{2B} \lVert \mathrm{net}_\theta(X) - Y \rVert_F^2,

the loss of :mod:`refimpl.inrank.mlp` (with samples as rows). The Hessian-vector
product is the tangent of the gradient (forward over reverse): the output
cotangent is ḡ = (out − Y)/B, and its tangent ġ = out̊/B.

References
----------
.. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural
   Computation 6(1), 1994.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.nn.mlp import MLP
from refimpl.validation import as_float_array, finite_or_overflow

__all__ = ["squared_error", "squared_error_hvp"]


def _trace(net, theta, X, Y, v=None):
    """The network's trace on X (with tangent v) and Y, every argument checked by its name.

    The forward pass is the unchecked one: the losses check their own result once.
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a refimpl.nn.MLP, received {type(net).__name__}")
    theta = net._check_vector("theta", theta)
    X = net._check_batch("X", X)
    v = None if v is None else net._check_vector("v", v)
    Y = as_float_array("Y", Y, ndim=2)
    if Y.shape != (X.shape[0], net.n_outputs):
        raise ValueError(
            f"Y: expected shape {(X.shape[0], net.n_outputs)} to match X and the network, "
            f"received {Y.shape}"
        )
    backend.array_namespace(theta, X, Y, *([] if v is None else [v]))  # one backend
    with np.errstate(over="ignore", invalid="ignore"):
        return net._trace(theta, X, v), Y


def squared_error(net, theta, X, Y):
    r"""The loss ½‖net_θ(X) − Y‖²_F / B and its gradient in θ.

    Parameters
    ----------
    net : MLP
    theta : ndarray, shape (n_params,)
    X : ndarray, shape (B, d₀)
    Y : ndarray, shape (B, d_L)

    Returns
    -------
    value : float
    gradient : ndarray, shape (n_params,)

    Notes
    -----
    .. math:: \nabla_\theta \ell = J_\theta^\top (\mathrm{out} - Y) / B.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> import numpy as np
    >>> net = MLP((1, 1), bias=False)
    >>> squared_error(net, np.array([2.0]), np.array([[1.0]]), np.array([[0.0]]))
    (2.0, array([2.]))
    """
    trace, Y = _trace(net, theta, X, Y)
    with np.errstate(over="ignore", invalid="ignore"):
        residual = trace.output - Y
        B = residual.shape[0]
        value = 0.5 * float((residual * residual).sum()) / B
        gradient = trace._backward(residual / B).theta
    finite_or_overflow(
        [value, gradient],
        "theta, X, Y",
        hint="rescale the data",
        message="the loss or its gradient overflows float64",
    )
    return value, gradient


def squared_error_hvp(net, theta, X, Y, v):
    r"""The exact Hessian-vector product ∇²ℓ(θ) v of the squared-error loss.

    Parameters
    ----------
    net : MLP
    theta : ndarray, shape (n_params,)
    X : ndarray, shape (B, d₀)
    Y : ndarray, shape (B, d_L)
    v : ndarray, shape (n_params,)

    Returns
    -------
    ndarray, shape (n_params,)

    Notes
    -----
    Forward over reverse: with out̊ = J_θ v (the R-operator of the forward pass),

    .. math::

        \nabla^2 \ell\, v = \frac{1}{B}\Bigl(J_\theta^\top \mathring{\mathrm{out}}
            + \sum_{i} (\mathrm{out} - Y)_i\, \nabla^2_\theta \mathrm{out}_i\, v\Bigr),

    the Gauss–Newton term plus the curvature of the network; both come out of one
    tangent reverse pass.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.

    Examples
    --------
    >>> import numpy as np
    >>> net = MLP((1, 1), bias=False)     # ℓ = ½(θx − y)², ∇²ℓ = x²
    >>> squared_error_hvp(net, np.array([2.0]), np.array([[3.0]]), np.array([[0.0]]),
    ...                   np.array([1.0]))
    array([9.])
    """
    if v is None:
        raise ValueError("v: expected a direction of shape (n_params,), received None")
    trace, Y = _trace(net, theta, X, Y, v)
    B = Y.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        cotangent, tangent = (trace.output - Y) / B, trace.output_tangent / B
        product = trace._backward(cotangent, tangent).theta_tangent
    finite_or_overflow(
        product,
        "theta, X, Y, v",
        hint="rescale the data or v",
        message="the Hessian-vector product overflows float64",
    )
    return product
