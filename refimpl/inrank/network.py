r"""The deep linear network ``f(x) = W_L ⋯ W_2 W_1 x``: forward pass, loss, hand-written gradients.

Conventions used throughout :mod:`refimpl.inrank`:

* ``X`` has shape ``(n_in, n_samples)``: **columns are samples**; ``Y`` has shape
  ``(n_out, n_samples)``.
* ``weights`` is a list ``[W1, W2, ..., WL]`` with ``W_l`` of shape
  ``(width_l, width_{l-1})``; the three-layer network is ``[W1, W2, W3]`` with shapes
  ``(h1, n_in)``, ``(h2, h1)``, ``(n_out, h2)``.
* The loss is

  .. math:: \mathcal L = \frac{1}{2 n_{\text{samples}}} \| W_3 W_2 W_1 X - Y \|_F^2 ,

  so with whitened inputs (``X Xᵀ / n_samples = I``) it equals ``½‖W − Σyx‖²_F`` up to a
  constant and gradient descent with learning rate ``η`` has time scale ``τ = 1/η``.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank import network
>>> weights = [np.eye(2), 2 * np.eye(2), np.eye(2)]
>>> X = np.eye(2); Y = np.zeros((2, 2))
>>> float(network.loss(weights, X, Y))
2.0
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.backprop import check_targets, forward_backward_unchecked
from refimpl.inrank.layers import DenseLayer
from refimpl.validation import as_float_array, finite_or_overflow

__all__ = ["check_network", "forward", "end_to_end", "loss", "gradients"]


def check_network(weights, X=None, Y=None, need=""):
    """Validate a weight list (and data) and return them as float arrays.

    Parameters
    ----------
    weights : sequence of ndarray
        ``[W1, ..., WL]``, ``W_l`` of shape ``(width_l, width_{l-1})``.
    X : ndarray, shape (n_in, n_samples), optional
    Y : ndarray, shape (n_out, n_samples), optional
    need : str
        The data that must be given: ``""``, ``"X"`` or ``"XY"`` (None raises then).

    Returns
    -------
    weights, X, Y
        Converted arrays (``X``/``Y`` are None when not given).

    Raises
    ------
    ValueError
        On non-finite entries or mismatched shapes, naming the argument.
    """
    if not isinstance(weights, list | tuple) or len(weights) == 0:
        raise ValueError(
            f"weights: expected a non-empty list of 2-d arrays, received {type(weights).__name__}"
        )
    ws = [as_float_array(f"weights[{i}]", w, ndim=2) for i, w in enumerate(weights)]
    for i in range(1, len(ws)):
        if ws[i].shape[1] != ws[i - 1].shape[0]:
            raise ValueError(
                f"weights[{i}]: expected {ws[i - 1].shape[0]} columns to match the "
                f"{ws[i - 1].shape[0]} rows of weights[{i - 1}], received shape {ws[i].shape}"
            )
    for name, value in (("X", X), ("Y", Y)):
        if name in need and value is None:
            raise ValueError(f"{name}: expected a 2-d array (columns are samples), received None")
    if X is not None:
        X = as_float_array("X", X, ndim=2, like=ws[0])
        if X.shape[0] != ws[0].shape[1]:
            raise ValueError(
                f"X: expected shape ({ws[0].shape[1]}, n_samples) (columns are samples), "
                f"received shape {X.shape}"
            )
    if Y is not None:
        if X is not None:
            Y = check_targets(Y, ws[-1].shape[0], X.shape[1], like=ws[0])
        else:  # no X to count the samples: Y's own columns
            Y = as_float_array("Y", Y, ndim=2, like=ws[0])
            Y = check_targets(Y, ws[-1].shape[0], Y.shape[1], like=ws[0])
    return ws, X, Y


def forward(weights, X):
    r"""Explicit forward pass: every layer's output.

    Parameters
    ----------
    weights : list of ndarray
    X : ndarray, shape (n_in, n_samples)

    Returns
    -------
    activations : list of ndarray
        ``[X, W1 X, W2 W1 X, ..., f(X)]``; the last has shape ``(n_out, n_samples)``.

    Notes
    -----
    .. math:: A_0 = X,\qquad A_l = W_l A_{l-1}

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Eq. (2).

    Examples
    --------
    >>> import numpy as np
    >>> acts = forward([np.ones((3, 2)), np.ones((1, 3))], np.ones((2, 4)))
    >>> [a.shape for a in acts]
    [(2, 4), (3, 4), (1, 4)]
    """
    weights, X, _ = check_network(weights, X, need="X")
    acts = [X]
    with np.errstate(over="ignore", invalid="ignore"):
        for w in weights:
            acts.append(w @ acts[-1])
    return [finite_or_overflow(a, "weights, X") for a in acts]


def end_to_end(weights):
    r"""The product ``W_L ⋯ W_1``, shape ``(n_out, n_in)``.

    Parameters
    ----------
    weights : list of ndarray
        ``[W1, ..., WL]``.

    Returns
    -------
    W : ndarray, shape (n_out, n_in)

    Notes
    -----
    .. math:: W = W_L W_{L-1} \cdots W_1

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Eq. (2).

    Examples
    --------
    >>> import numpy as np
    >>> end_to_end([np.eye(2), 3 * np.eye(2)])[0, 0]
    np.float64(3.0)
    """
    weights, _, _ = check_network(weights)
    product = weights[0]
    with np.errstate(over="ignore", invalid="ignore"):
        for w in weights[1:]:
            product = w @ product
    return finite_or_overflow(product, "weights")


def loss(weights, X, Y):
    r"""Mean squared loss ``½‖f(X) − Y‖²_F / n_samples``.

    Parameters
    ----------
    weights : list of ndarray
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)

    Returns
    -------
    loss : float
        Finite; an overflow raises ValueError naming ``weights, X, Y``.

    Notes
    -----
    .. math:: \mathcal L(W) = \frac{1}{2n}\|W_L\cdots W_1 X - Y\|_F^2

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Eq. (2).

    Examples
    --------
    >>> import numpy as np
    >>> float(loss([np.eye(1)], np.ones((1, 2)), np.zeros((1, 2))))
    0.5
    """
    weights, X, Y = check_network(weights, X, Y, need="XY")
    xp = backend.array_namespace(X)
    with np.errstate(over="ignore", invalid="ignore"):
        out = end_to_end(weights) @ X
        value = 0.5 * float(xp.sum((out - Y) ** 2)) / X.shape[1]
    return finite_or_overflow(value, "weights, X, Y")


def gradients(weights, X, Y):
    r"""Loss and its gradient with respect to every weight matrix (hand-written backprop).

    Parameters
    ----------
    weights : list of ndarray
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)

    Returns
    -------
    loss : float
    grads : list of ndarray
        ``grads[l]`` has the shape of ``weights[l]``.

    Notes
    -----
    With residual :math:`R = (f(X) - Y)/n`, backpropagated errors
    :math:`\delta_L = R`, :math:`\delta_{l-1} = W_l^\top \delta_l`, and layer inputs
    :math:`A_{l-1} = W_{l-1}\cdots W_1 X`,

    .. math:: \nabla_{W_l} \mathcal L = \delta_l A_{l-1}^\top .

    For the three-layer network this is :math:`\nabla_{W_1} = (W_3W_2)^\top G`,
    :math:`\nabla_{W_2} = W_3^\top G W_1^\top`, :math:`\nabla_{W_3} = G (W_2W_1)^\top`
    with :math:`G = (W_3W_2W_1 X - Y) X^\top / n`. The backward pass is the one shared
    by every network here, :func:`refimpl.inrank.backprop.forward_backward`, with dense
    layers and no activation.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eq. (2).

    Examples
    --------
    >>> import numpy as np
    >>> value, grads = gradients([np.eye(2), np.eye(2)], np.eye(2), np.zeros((2, 2)))
    >>> value, float(grads[0][0, 0])
    (0.5, 0.5)
    """
    weights, X, Y = check_network(weights, X, Y, need="XY")
    # the arguments were checked as the caller wrote them: the pass runs unchecked
    with np.errstate(over="ignore", invalid="ignore"):
        value, grads = forward_backward_unchecked([DenseLayer(w) for w in weights], X, Y, "linear")
    finite_or_overflow([value, *(g for (g,) in grads)], "weights, X, Y")
    return value, [g for (g,) in grads]
