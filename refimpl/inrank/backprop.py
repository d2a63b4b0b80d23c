r"""Forward and backward pass through a list of layers (the one backward pass of inrank).

Every network in :mod:`refimpl.inrank` (the deep linear network, the ReLU MLP and
InRank's factored layers) is a list of layers of :mod:`refimpl.inrank.layers`
(``shape``, ``forward``, ``backward``, ``apply``, ``param_keys``), and an activation
between layers. This module runs it: the public functions check the layers and the
data once, then call the layers' unchecked ``_forward`` and ``_backward``.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.backprop import forward_backward
>>> from refimpl.inrank.layers import DenseLayer
>>> forward_backward([DenseLayer(np.eye(2))], np.eye(2), np.eye(2))[0]
0.0
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.layers import DenseLayer, LowRankUpdateLayer
from refimpl.validation import as_float_array, check_choice, finite_or_overflow

__all__ = ["ACTIVATIONS", "forward_backward", "predict"]

ACTIVATIONS = ("linear", "relu")


def check_layers(layers, X, Y=None):
    """Validate a list of layers and data for them; return ``X`` and ``Y`` as arrays.

    Parameters
    ----------
    layers : list of DenseLayer or LowRankUpdateLayer
        Consecutive shapes must chain: ``layers[i].shape[1] == layers[i - 1].shape[0]``.
    X : ndarray, shape (n_in, batch)
    Y : ndarray, shape (n_out, batch), optional

    Returns
    -------
    X, Y : ndarray
    """
    if not isinstance(layers, list | tuple) or not layers:
        raise ValueError(f"layers: expected a non-empty list of layers, received {layers!r}")
    if not all(isinstance(layer, DenseLayer | LowRankUpdateLayer) for layer in layers):
        raise ValueError(f"layers: expected DenseLayer or LowRankUpdateLayer, received {layers!r}")
    for i in range(1, len(layers)):
        if layers[i].shape[1] != layers[i - 1].shape[0]:
            raise ValueError(f"layers: layer {i} of shape {layers[i].shape} does not chain")
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] != layers[0].shape[1]:
        raise ValueError(f"X: expected {layers[0].shape[1]} rows, received shape {X.shape}")
    if Y is not None:
        Y = check_targets(Y, layers[-1].shape[0], X.shape[1], like=X)
    return X, Y


def check_targets(Y, n_out, n_samples, like=None):
    """``Y`` as a float array of shape ``(n_out, n_samples)``, else ValueError.

    ``n_samples`` is the number of columns of ``X``; when only the sample counts
    differ, either argument may be the wrong one, so the message names both.
    """
    Y = as_float_array("Y", Y, ndim=2, like=like)
    if Y.shape[0] == n_out and Y.shape[1] != n_samples:
        raise ValueError(
            f"X, Y: expected the same number of samples (columns), received "
            f"{n_samples} in X and {Y.shape[1]} in Y"
        )
    if Y.shape != (n_out, n_samples):
        raise ValueError(
            f"Y: expected shape ({n_out}, {n_samples}) (rows: the network's outputs, "
            f"columns: the samples), received shape {Y.shape}"
        )
    return Y


def _relu(Z, xp):
    return xp.maximum(Z, 0.0)


def predict(layers, X, activation="linear"):
    r"""Network output for inputs ``X`` of shape ``(n_in, batch)``.

    Parameters
    ----------
    layers : list of DenseLayer or LowRankUpdateLayer
    X : ndarray, shape (n_in, batch)
    activation : {"linear", "relu"}
        Applied after every layer but the last.

    Returns
    -------
    out : ndarray, shape (n_out, batch)

    Notes
    -----
    .. math:: f(X) = Z_L,\qquad Z_l = W_l\,\phi(Z_{l-1}),\quad Z_0 = X

    with :math:`\phi` the identity on the input and the activation in between.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.inrank.layers import DenseLayer
    >>> predict([DenseLayer(-np.eye(2)), DenseLayer(np.eye(2))], np.ones((2, 1)), "relu")
    array([[0.],
           [0.]])
    """
    check_choice("activation", activation, ACTIVATIONS)
    X, _ = check_layers(layers, X)
    with np.errstate(over="ignore", invalid="ignore"):
        out = predict_unchecked(layers, X, activation)
    return finite_or_overflow(out, "layers, X")


def predict_unchecked(layers, X, activation):
    """:func:`predict` for inputs already checked (the training loop's records)."""
    xp = backend.array_namespace(X)
    A = X
    for i, layer in enumerate(layers):
        A, _ = layer._forward(A)  # unchecked: X was checked once
        if activation == "relu" and i < len(layers) - 1:
            A = _relu(A, xp)
    return A


def forward_backward(layers, X, Y, activation="linear"):
    r"""Loss ``½‖f(X) − Y‖²_F / batch`` and every layer's parameter gradients.

    Parameters
    ----------
    layers : list of DenseLayer or LowRankUpdateLayer
    X : ndarray, shape (n_in, batch)
    Y : ndarray, shape (n_out, batch)
    activation : {"linear", "relu"}
        Applied after every layer but the last.

    Returns
    -------
    loss : float
        Finite: an overflow raises ValueError naming ``layers, X, Y``.
    grads : list of list of ndarray
        ``grads[l]`` matches ``layers[l].param_keys()``.

    Notes
    -----
    Backpropagation: :math:`\delta_L = (f(X) - Y)/n`, and through a ReLU
    :math:`\delta \leftarrow (W^\top\delta) \odot \mathbb 1[Z > 0]`.

    .. math:: \mathcal L = \frac{1}{2n}\|f(X) - Y\|_F^2

    References
    ----------
    Rumelhart, Hinton & Williams, Nature 1986; Zhao et al. (2024), Section 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.inrank.layers import DenseLayer
    >>> value, grads = forward_backward([DenseLayer(np.eye(2))], np.eye(2), np.zeros((2, 2)))
    >>> value, grads[0][0].tolist()
    (0.5, [[0.5, 0.0], [0.0, 0.5]])
    """
    check_choice("activation", activation, ACTIVATIONS)
    if Y is None:
        raise ValueError("Y: expected a 2-d array of targets, received None")
    X, Y = check_layers(layers, X, Y)
    with np.errstate(over="ignore", invalid="ignore"):
        value, grads = forward_backward_unchecked(layers, X, Y, activation)
    finite_or_overflow(value, "layers, X, Y")
    for layer_grads in grads:
        for g in layer_grads:
            finite_or_overflow(g, "layers, X, Y")
    return value, grads


def forward_backward_unchecked(layers, X, Y, activation):
    """:func:`forward_backward` for inputs already checked (the training loop's hot path)."""
    xp = backend.array_namespace(X)
    inputs, caches, pre = [], [], []
    A = X
    last = len(layers) - 1
    for i, layer in enumerate(layers):
        inputs.append(A)
        Z, cache = layer._forward(A)  # unchecked: X was checked once
        caches.append(cache)
        pre.append(Z)
        A = _relu(Z, xp) if (activation == "relu" and i < last) else Z
    n = X.shape[1]
    residual = A - Y  # (n_out, batch)
    value = 0.5 * float(xp.sum(residual * residual)) / n
    delta = residual / n
    grads = [None] * len(layers)
    for i in range(last, -1, -1):
        grads[i], d_input = layers[i]._backward(delta, inputs[i], caches[i], i > 0)
        if i > 0:
            delta = d_input * (pre[i - 1] > 0) if activation == "relu" else d_input
    return value, grads
