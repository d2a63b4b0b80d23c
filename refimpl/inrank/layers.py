r"""Layers as operators with a hand-written backward pass: dense and low-rank update.

A network here is a list of layers with an activation between them ("linear" for the
deep linear network, "relu" for the MLP). Each layer maps its input ``A`` of shape
``(n, batch)`` to ``Z = W A`` of shape ``(m, batch)`` and, given the backpropagated
error ``δ = ∂L/∂Z``, returns the gradients of its own parameters and ``∂L/∂A = Wᵀ δ``.

* :class:`DenseLayer` — ``W`` trained directly.
* :class:`LowRankUpdateLayer` — ``W = W0 + U_k V_kᵀ`` with ``W0`` frozen (or absent) and
  only the first ``k`` ("active") columns of the factors ``U``, ``V`` used and trained.
  Nothing of size ``m × n`` is formed except ``W0 A``: without a base, a step costs
  ``O((m + n) k · batch)`` instead of ``O(m n · batch)``.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.layers import LowRankUpdateLayer, forward_backward
>>> layer = LowRankUpdateLayer(np.eye(3), np.ones((3, 2)), np.ones((3, 2)), active=1)
>>> np.allclose(layer.dense(), np.eye(3) + 1.0)
True
>>> value, grads = forward_backward([layer], np.eye(3), np.eye(3), "linear")
>>> [g.shape for g in grads[0]]
[(3, 1), (3, 1)]
"""

from __future__ import annotations

from refimpl import backend
from refimpl.validation import check_choice, check_integer

__all__ = ["ACTIVATIONS", "DenseLayer", "LowRankUpdateLayer", "forward_backward", "predict"]

ACTIVATIONS = ("linear", "relu")


class DenseLayer:
    """A dense weight ``W`` of shape ``(m, n)``, trained directly."""

    def __init__(self, W):
        self.W = W

    @property
    def shape(self):
        return self.W.shape

    def forward(self, A):
        """``Z = W A`` and nothing to cache."""
        return self.W @ A, None

    def backward(self, delta, A, cache, need_input):
        r"""Gradient :math:`\delta A^\top` and input error :math:`W^\top\delta`."""
        grad = delta @ A.T  # (m, n)
        return [grad], (self.W.T @ delta if need_input else None)

    def apply(self, updates):
        """Add ``updates[0]`` to ``W``."""
        self.W = self.W + updates[0]

    def param_keys(self):
        return [("W", self.W.shape, None)]

    def dense(self):
        return self.W


class LowRankUpdateLayer:
    r"""``W = W0 + U_k V_kᵀ``: a frozen base plus a trainable low-rank update.

    Parameters
    ----------
    base : ndarray, shape (m, n), or None
        Frozen ``W0``; None means ``W = U_k V_kᵀ`` (the fixed-rank stage of the
        efficient variant).
    U : ndarray, shape (m, k_alloc)
    V : ndarray, shape (n, k_alloc)
        Preallocated factors; only the first ``active`` columns are used and trained.
    active : int
        Number of active columns ``k``, ``1 ≤ k ≤ k_alloc``.

    Notes
    -----
    With :math:`T = V_k^\top A` and :math:`S = U_k^\top \delta`,

    .. math::

        Z = W_0 A + U_k T,\quad \nabla_U = \delta T^\top,\quad
        \nabla_V = A S^\top,\quad \partial\mathcal L/\partial A = W_0^\top\delta + V_k S,

    the chain rule through :math:`\nabla_W = \delta A^\top` (so
    :math:`\nabla_U = \nabla_W V`, :math:`\nabla_V = \nabla_W^\top U`) without forming it.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 4.
    """

    def __init__(self, base, U, V, active):
        if U.shape[1] != V.shape[1]:
            raise ValueError(
                f"V: expected {U.shape[1]} columns to match U, received shape {V.shape}"
            )
        if base is not None and base.shape != (U.shape[0], V.shape[0]):
            raise ValueError(
                f"base: expected shape {(U.shape[0], V.shape[0])}, received {base.shape}"
            )
        self.base = base
        self.U = U
        self.V = V
        self.active = check_integer("active", active, minimum=1, maximum=U.shape[1])

    @property
    def shape(self):
        return (self.U.shape[0], self.V.shape[0])

    @property
    def allocated(self):
        return self.U.shape[1]

    def forward(self, A):
        k = self.active
        T = self.V[:, :k].T @ A  # (k, batch)
        Z = self.U[:, :k] @ T  # (m, batch)
        if self.base is not None:
            Z = Z + self.base @ A
        return Z, T

    def backward(self, delta, A, cache, need_input):
        k = self.active
        S = self.U[:, :k].T @ delta  # (k, batch)
        grad_u = delta @ cache.T  # (m, k)
        grad_v = A @ S.T  # (n, k)
        d_input = None
        if need_input:
            d_input = self.V[:, :k] @ S
            if self.base is not None:
                d_input = d_input + self.base.T @ delta
        return [grad_u, grad_v], d_input

    def apply(self, updates):
        """Add updates to the active columns of ``U`` and ``V`` (in place)."""
        k = self.active
        self.U[:, :k] += updates[0]
        self.V[:, :k] += updates[1]

    def param_keys(self):
        return [("U", self.U.shape, self.active), ("V", self.V.shape, self.active)]

    def update(self):
        """The low-rank update ``U_k V_kᵀ``, shape ``(m, n)``."""
        k = self.active
        return self.U[:, :k] @ self.V[:, :k].T

    def update_singular_values(self):
        """Singular values of ``U_k V_kᵀ`` from two thin QRs: ``O((m + n) k²)``."""
        xp = backend.array_namespace(self.U)
        k = self.active
        _, ru = xp.linalg.qr(self.U[:, :k])
        _, rv = xp.linalg.qr(self.V[:, :k])
        return xp.linalg.svd(ru @ rv.T, compute_uv=False)

    def dense(self):
        return self.update() if self.base is None else self.base + self.update()


def _relu(Z, xp):
    return xp.maximum(Z, 0.0)


def predict(layers, X, activation="linear"):
    """Network output for inputs ``X`` of shape ``(n_in, batch)``."""
    check_choice("activation", activation, ACTIVATIONS)
    xp = backend.array_namespace(X)
    A = X
    for i, layer in enumerate(layers):
        A, _ = layer.forward(A)
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
    grads : list of list of ndarray
        ``grads[l]`` matches ``layers[l].param_keys()``.

    Notes
    -----
    Backpropagation: :math:`\delta_L = (f(X) - Y)/n`, and through a ReLU
    :math:`\delta \leftarrow (W^\top\delta) \odot \mathbb 1[Z > 0]`.

    .. math:: \mathcal L = \frac{1}{2n}\|f(X) - Y\|_F^2
    """
    check_choice("activation", activation, ACTIVATIONS)
    xp = backend.array_namespace(X)
    inputs, caches, pre = [], [], []
    A = X
    last = len(layers) - 1
    for i, layer in enumerate(layers):
        inputs.append(A)
        Z, cache = layer.forward(A)
        caches.append(cache)
        pre.append(Z)
        A = _relu(Z, xp) if (activation == "relu" and i < last) else Z
    n = X.shape[1]
    residual = A - Y  # (n_out, batch)
    value = 0.5 * float(xp.sum(residual * residual)) / n
    delta = residual / n
    grads = [None] * len(layers)
    for i in range(last, -1, -1):
        grads[i], d_input = layers[i].backward(delta, inputs[i], caches[i], need_input=i > 0)
        if i > 0:
            delta = d_input * (pre[i - 1] > 0) if activation == "relu" else d_input
    return value, grads
