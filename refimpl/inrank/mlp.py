r"""A two-layer ReLU MLP with hand-written backprop, and a synthetic nonlinear teacher.

The student is ``f(x) = W2 relu(W1 x)`` with ``W1`` of shape ``(hidden, n_in)`` and
``W2`` of shape ``(n_out, hidden)`` (no biases), trained on the loss
``½‖f(X) − Y‖²_F / n_samples`` with ``X`` of shape ``(n_in, n_samples)`` (columns are
samples). The teacher is a narrower ReLU network ``Y = A2 relu(A1 X) + noise`` with
``k`` hidden units, so the useful weight updates of a wide student are close to rank
``k``: the setting InRank is built for.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.mlp import mlp_init, mlp_gradients
>>> from refimpl.inrank.mlp_task import relu_teacher
>>> task = relu_teacher(n_in=8, n_out=3, n_samples=32, rng=0, teacher_hidden=2)
>>> weights = mlp_init(8, 16, 3, rng=1)
>>> value, grads = mlp_gradients(weights, task.X, task.Y)
>>> [g.shape for g in grads]
[(16, 8), (3, 16)]
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.algorithm import full_rank_train
from refimpl.inrank.backprop import forward_backward_unchecked
from refimpl.inrank.layers import DenseLayer
from refimpl.inrank.network import check_network
from refimpl.validation import (
    as_generator,
    check_array_size,
    check_integer,
    check_options,
    check_positive,
    finite_or_overflow,
)

__all__ = [
    "mlp_init",
    "mlp_forward",
    "mlp_loss",
    "mlp_gradients",
    "train_mlp",
]


def mlp_init(n_in, hidden, n_out, rng, scale=1.0):
    r"""He-style Gaussian init of ``[W1, W2]``, times ``scale``.

    Parameters
    ----------
    n_in, hidden, n_out : int
    rng : numpy.random.Generator or int
    scale : float
        Multiplies both layers (``> 0``).

    Returns
    -------
    weights : list of ndarray
        ``W1`` of shape ``(hidden, n_in)``, ``W2`` of shape ``(n_out, hidden)``.

    Notes
    -----
    .. math:: (W_1)_{ij} \sim \mathcal N(0, 2 s^2/n_{\text{in}}),\quad
              (W_2)_{ij} \sim \mathcal N(0, s^2/h)

    References
    ----------
    K. He et al., "Delving deep into rectifiers", ICCV 2015.

    Examples
    --------
    >>> [w.shape for w in mlp_init(3, 5, 2, rng=0)]
    [(5, 3), (2, 5)]
    """
    n_in = check_integer("n_in", n_in, minimum=1)
    hidden = check_integer("hidden", hidden, minimum=1)
    n_out = check_integer("n_out", n_out, minimum=1)
    scale = check_positive("scale", scale)
    check_array_size("hidden, n_in", (hidden, n_in))
    check_array_size("n_out, hidden", (n_out, hidden))
    rng = as_generator(rng)
    xp = backend.default_namespace()
    weights = [
        xp.asarray(scale * rng.standard_normal((hidden, n_in)) * np.sqrt(2.0 / n_in)),
        xp.asarray(scale * rng.standard_normal((n_out, hidden)) / np.sqrt(hidden)),
    ]
    return finite_or_overflow(weights, "scale")


def _check_mlp(weights, X, Y=None, need="XY"):
    if isinstance(weights, list | tuple) and len(weights) != 2:
        raise ValueError(f"weights: expected [W1, W2] (two layers), received {len(weights)}")
    return check_network(weights, X, Y, need=need)


def mlp_forward(weights, X):
    r"""Forward pass: pre-activation, hidden activation and output.

    Parameters
    ----------
    weights : list of ndarray
        ``[W1, W2]``.
    X : ndarray, shape (n_in, n_samples)

    Returns
    -------
    Z : ndarray, shape (hidden, n_samples)
        ``W1 X``.
    H : ndarray, shape (hidden, n_samples)
        ``relu(Z)``.
    out : ndarray, shape (n_out, n_samples)
        ``W2 H``.

    Notes
    -----
    .. math:: Z = W_1 X,\quad H = \max(Z, 0),\quad f(X) = W_2 H

    References
    ----------
    Rumelhart, Hinton & Williams, Nature 1986.

    Examples
    --------
    >>> import numpy as np
    >>> mlp_forward([np.array([[1.0], [-1.0]]), np.ones((1, 2))], np.array([[2.0]]))[2]
    array([[2.]])
    """
    (W1, W2), X, _ = _check_mlp(weights, X, need="X")
    xp = backend.array_namespace(X)
    with np.errstate(over="ignore", invalid="ignore"):
        Z = W1 @ X
        H = xp.maximum(Z, 0.0)
        out = W2 @ H
    return tuple(finite_or_overflow(a, "weights, X") for a in (Z, H, out))


def mlp_loss(weights, X, Y):
    r"""``½‖W2 relu(W1 X) − Y‖²_F / n_samples``.

    Parameters
    ----------
    weights : list of ndarray
        ``[W1, W2]``.
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)

    Returns
    -------
    loss : float

    Notes
    -----
    .. math:: \mathcal L = \frac{1}{2n}\|W_2\,\mathrm{relu}(W_1 X) - Y\|_F^2

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5.

    Examples
    --------
    >>> import numpy as np
    >>> float(mlp_loss([np.ones((1, 1)), np.ones((1, 1))], np.ones((1, 2)), np.zeros((1, 2))))
    0.5
    """
    weights, X, Y = _check_mlp(weights, X, Y)
    xp = backend.array_namespace(X)
    out = mlp_forward(weights, X)[2]
    with np.errstate(over="ignore", invalid="ignore"):
        value = 0.5 * float(xp.sum((out - Y) ** 2)) / X.shape[1]
    return finite_or_overflow(value, "weights, X, Y")


def mlp_gradients(weights, X, Y):
    r"""Loss and hand-written gradients ``[∇W1, ∇W2]`` of the ReLU MLP.

    Parameters
    ----------
    weights : list of ndarray
        ``[W1, W2]``.
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)

    Returns
    -------
    loss : float
    grads : list of ndarray

    Notes
    -----
    With :math:`R = (W_2 H - Y)/n` and :math:`H = \mathrm{relu}(W_1 X)`,

    .. math::

        \nabla_{W_2} = R H^\top,\qquad
        \nabla_{W_1} = \big((W_2^\top R) \odot \mathbb 1[W_1 X > 0]\big) X^\top ,

    computed by the shared backward pass :func:`refimpl.inrank.backprop.forward_backward`.

    References
    ----------
    Rumelhart, Hinton & Williams, "Learning representations by back-propagating
    errors", Nature 1986.

    Examples
    --------
    >>> import numpy as np
    >>> value, (g1, g2) = mlp_gradients([np.ones((1, 1)), np.ones((1, 1))],
    ...                                 np.ones((1, 1)), np.zeros((1, 1)))
    >>> float(value), float(g1[0, 0]), float(g2[0, 0])
    (0.5, 1.0, 1.0)
    """
    weights, X, Y = _check_mlp(weights, X, Y)
    # the arguments were checked as the caller wrote them: the pass runs unchecked
    with np.errstate(over="ignore", invalid="ignore"):
        value, grads = forward_backward_unchecked([DenseLayer(w) for w in weights], X, Y, "relu")
    finite_or_overflow([value, *(g for (g,) in grads)], "weights, X, Y")
    return value, [g for (g,) in grads]


def train_mlp(weights, X, Y, lr, steps, optimizer="gd", record_every=1, rng=None, **options):
    r"""Full-rank training of the MLP (the baseline InRank is compared against).

    Parameters
    ----------
    weights : list of ndarray
        ``[W1, W2]`` (copied).
    X, Y : ndarray
        Data, columns are samples.
    lr : float
    steps : int
    optimizer : {"gd", "sgd", "adam"}
    record_every : int
    rng : numpy.random.Generator or int, optional
    **options
        ``batch_size`` or ``adam_options``; any other key raises ValueError naming it.

    Returns
    -------
    InRankResult
        From :func:`refimpl.inrank.algorithm.full_rank_train` with ``activation="relu"``.

    Notes
    -----
    .. math:: \min_{W_1, W_2} \tfrac{1}{2n}\|W_2\,\mathrm{relu}(W_1X) - Y\|_F^2

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5.

    Examples
    --------
    >>> from refimpl.inrank.mlp_task import relu_teacher
    >>> task = relu_teacher(8, 2, 64, rng=0)
    >>> res = train_mlp(mlp_init(8, 16, 2, rng=1), task.X, task.Y, lr=0.1, steps=200,
    ...                 record_every=100)
    >>> bool(res.loss[-1] < res.loss[0])
    True
    """
    check_options("options", options, ("batch_size", "adam_options"))
    _check_mlp(weights, X, Y)
    return full_rank_train(
        weights,
        X,
        Y,
        lr,
        steps,
        activation="relu",
        optimizer=optimizer,
        record_every=record_every,
        rng=rng,
        **options,
    )
