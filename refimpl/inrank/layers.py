r"""Layers as operators with a hand-written backward pass: dense and low-rank update.

A network here is a list of layers with an activation between them ("linear" for the
deep linear network, "relu" for the MLP). Each layer maps its input ``A`` of shape
``(n, batch)`` to ``Z = W A`` of shape ``(m, batch)`` and, given the backpropagated
error ``δ = ∂L/∂Z``, returns the gradients of its own parameters and ``∂L/∂A = Wᵀ δ``.

* :class:`DenseLayer` — ``W`` trained directly.
* :class:`LowRankUpdateLayer` — ``W = W0 + U_k V_kᵀ`` with ``W0`` frozen (or absent) and
  only the first ``k`` ("active") columns of the factors ``U``, ``V`` used and trained.
  The layer keeps InRank's rank state itself: ``rank``, ``buffer`` and ``cap``, and
  ``active = min(rank + buffer, allocated columns)`` follows from them. Nothing of size
  ``m × n`` is formed except ``W0 A``: without a base, a step costs
  ``O((m + n) k · batch)`` instead of ``O(m n · batch)``.

The public methods (``forward``, ``backward``, ``apply``) check their arguments and
their result; the training loops (:mod:`refimpl.inrank.loop`, the transformer's) call
the unchecked ``_forward``, ``_backward`` and ``_apply``, whose inputs they built.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.backprop import forward_backward
>>> from refimpl.inrank.layers import LowRankUpdateLayer
>>> layer = LowRankUpdateLayer(np.eye(3), np.ones((3, 2)), np.ones((3, 2)), rank=1)
>>> np.allclose(layer.dense(), np.eye(3) + 1.0)
True
>>> value, grads = forward_backward([layer], np.eye(3), np.eye(3), "linear")
>>> [g.shape for g in grads[0]]
[(3, 1), (3, 1)]
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.truncation import triangular_factor
from refimpl.validation import as_float_array, check_integer, finite_or_overflow

__all__ = ["DenseLayer", "LowRankUpdateLayer"]


def _check_flag(name, value):
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: expected True or False, received {value!r}")
    return bool(value)


def _check_matrix(name, x, shape, like):
    """``x`` as a finite float matrix of exactly ``shape``, or ValueError naming ``name``."""
    x = as_float_array(name, x, ndim=2, like=like)
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, received {x.shape}")
    return x


def _check_input(layer, A, like):
    """A layer's input ``A`` of shape ``(n, batch)``, batch ≥ 1."""
    A = as_float_array("A", A, ndim=2, like=like)
    if A.shape[0] != layer.shape[1] or A.shape[1] == 0:
        raise ValueError(
            f"A: expected shape ({layer.shape[1]}, batch) with batch >= 1, received {A.shape}"
        )
    return A


def _check_backward(layer, delta, A, need_input, like):
    """``delta`` of shape ``(m, batch)`` and ``A`` of shape ``(n, batch)``, checked."""
    need_input = _check_flag("need_input", need_input)
    delta = as_float_array("delta", delta, ndim=2, like=like)
    if delta.shape[0] != layer.shape[0] or delta.shape[1] == 0:
        raise ValueError(
            f"delta: expected shape ({layer.shape[0]}, batch) with batch >= 1, "
            f"received {delta.shape}"
        )
    A = _check_input(layer, A, like)
    if A.shape[1] != delta.shape[1]:
        raise ValueError(
            f"A: expected {delta.shape[1]} columns (the batch of delta), received {A.shape}"
        )
    return delta, A, need_input


def _check_updates(layer, updates, like):
    """One finite update per entry of ``layer.param_keys()``, each of its active shape."""
    keys = layer.param_keys()
    if not isinstance(updates, list | tuple) or len(updates) != len(keys):
        raise ValueError(
            f"updates: expected a list of {len(keys)} arrays (for {[k[0] for k in keys]}), "
            f"received {updates!r}"[:300]
        )
    shapes = [shape if cols is None else (shape[0], cols) for _, shape, cols in keys]
    return [_check_matrix("updates", u, s, like) for u, s in zip(updates, shapes, strict=True)]


def _checked_result(compute, names):
    """``compute()``; an overflow is a ValueError naming ``names``, not a warning.

    The result is an array, or a tuple of arrays, lists of arrays and None.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        value = compute()
    arrays = []
    for part in value if isinstance(value, tuple) else (value,):
        arrays += part if isinstance(part, list) else [] if part is None else [part]
    finite_or_overflow(arrays, names, message="entries too large, the result overflows")
    return value


class DenseLayer:
    r"""A dense weight ``W`` of shape ``(m, n)``, trained directly.

    Parameters
    ----------
    W : ndarray, shape (m, n)
        Finite weight; kept by reference until the first update replaces it.

    Attributes
    ----------
    shape : tuple of int
        ``(m, n)``.
    rank, active : int
        ``min(m, n)``: a dense layer is full rank.

    Notes
    -----
    .. math:: Z = W A,\qquad \nabla_W = \delta A^\top,\qquad
              \partial\mathcal L/\partial A = W^\top \delta

    References
    ----------
    D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning representations by
    back-propagating errors", Nature 1986.

    Examples
    --------
    >>> import numpy as np
    >>> DenseLayer(np.ones((2, 3))).forward(np.ones((3, 1)))[0].ravel().tolist()
    [3.0, 3.0]
    """

    def __init__(self, W):
        self.W = as_float_array("W", W, ndim=2)
        if self.W.size == 0:
            raise ValueError(f"W: expected a non-empty weight, received shape {self.W.shape}")

    @property
    def shape(self):
        return self.W.shape

    @property
    def rank(self):
        return min(self.W.shape)

    active = rank

    def forward(self, A):
        """``Z = W A`` and nothing to cache.

        Parameters
        ----------
        A : ndarray, shape (n, batch)

        Returns
        -------
        Z : ndarray, shape (m, batch)
        cache : None
        """
        A = _check_input(self, A, self.W)
        return _checked_result(lambda: self._forward(A)[0], "A"), None

    def _forward(self, A):
        """:meth:`forward` unchecked, for the training loops (their inputs are sound)."""
        return self.W @ A, None

    def backward(self, delta, A, cache, need_input):
        r"""Gradient :math:`\delta A^\top` and input error :math:`W^\top\delta`.

        Parameters
        ----------
        delta : ndarray, shape (m, batch)
            ``∂L/∂Z``.
        A : ndarray, shape (n, batch)
            The input of :meth:`forward`.
        cache : None
            What :meth:`forward` returned (a dense layer caches nothing).
        need_input : bool
            Whether to return ``∂L/∂A``.

        Returns
        -------
        grads : list of ndarray
            ``[∇W]``.
        d_input : ndarray of shape (n, batch), or None
        """
        delta, A, need_input = _check_backward(self, delta, A, need_input, self.W)
        if cache is not None:
            raise ValueError(f"cache: expected None (DenseLayer.forward's), received {cache!r}")
        return _checked_result(lambda: self._backward(delta, A, cache, need_input), "delta, A")

    def _backward(self, delta, A, cache, need_input):
        """:meth:`backward` unchecked, for the training loops (their inputs are sound)."""
        grad = delta @ A.T  # (m, n)
        return [grad], (self.W.T @ delta if need_input else None)

    def apply(self, updates):
        """Add ``updates[0]`` to ``W``.

        Parameters
        ----------
        updates : list of one ndarray, shape (m, n)
        """
        (update,) = _check_updates(self, updates, self.W)
        self.W = _checked_result(lambda: self.W + update, "updates")

    def _apply(self, updates):
        """:meth:`apply` unchecked, for the training loops (their inputs are sound)."""
        self.W = self.W + updates[0]

    def param_keys(self):
        """``[(name, shape of the optimizer state, active columns or None)]``."""
        return [("W", self.W.shape, None)]

    def dense(self):
        """The weight ``W``."""
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
        Preallocated factors (used in place); only the first ``active`` columns are
        used and trained.
    rank : int
        InRank's current rank ``r``, ``1 ≤ r ≤ k_alloc``.
    buffer : int
        Extra trained directions ``b ≥ 0`` beyond the rank (default 0).
    cap : int, optional
        The largest rank the layer may grow to, ``r ≤ cap ≤ min(m, n)``; default
        ``min(k_alloc, m, n)``.

    Attributes
    ----------
    rank : int
        May only grow, up to ``cap``; assigning a smaller or larger value raises.
    active : int
        ``min(rank + buffer, k_alloc)``, the trained columns (derived, read-only).
    allocated : int
        ``k_alloc``.

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

    Examples
    --------
    >>> import numpy as np
    >>> layer = LowRankUpdateLayer(None, np.ones((4, 3)), np.ones((5, 3)), rank=1, buffer=1)
    >>> layer.active, layer.shape
    (2, (4, 5))
    >>> layer.rank = 2; layer.active  # the rank grows, the buffer follows
    3
    """

    def __init__(self, base, U, V, rank, buffer=0, cap=None):
        U = as_float_array("U", U, ndim=2)
        V = as_float_array("V", V, ndim=2, like=U)
        if V.shape[1] != U.shape[1]:
            raise ValueError(
                f"V: expected {U.shape[1]} columns to match U, received shape {V.shape}"
            )
        if base is not None:
            base = as_float_array("base", base, ndim=2, like=U)
            if base.shape != (U.shape[0], V.shape[0]):
                raise ValueError(
                    f"base: expected shape {(U.shape[0], V.shape[0])} (rows of U, rows of V), "
                    f"received {base.shape}"
                )
        if U.shape[1] == 0:
            raise ValueError(f"U: expected at least one column, received shape {U.shape}")
        self.base, self.U, self.V = base, U, V
        limit = min(U.shape[1], U.shape[0], V.shape[0])
        self._rank = check_integer("rank", rank, minimum=1, maximum=limit)
        self.buffer = check_integer("buffer", buffer, minimum=0)
        cap = limit if cap is None else cap
        self.cap = check_integer("cap", cap, minimum=self._rank, maximum=min(self.shape))

    @property
    def shape(self):
        return (self.U.shape[0], self.V.shape[0])

    @property
    def allocated(self):
        return self.U.shape[1]

    @property
    def rank(self):
        return self._rank

    @rank.setter
    def rank(self, value):
        self._rank = check_integer("rank", value, minimum=self._rank, maximum=self.cap)

    @property
    def active(self):
        return min(self._rank + self.buffer, self.allocated)

    def with_factors(self, U, V, keep_base=True):
        """A fixed-rank layer ``W0 + U Vᵀ`` (or ``U Vᵀ``) sharing this layer's base.

        Parameters
        ----------
        U : ndarray, shape (m, r)
        V : ndarray, shape (n, r)
            ``1 ≤ r ≤ min(m, n)``.
        keep_base : bool
            Whether the new layer keeps ``W0`` (already checked, so not checked again:
            the cost follows the factors, not the ``m × n`` base).

        Returns
        -------
        LowRankUpdateLayer
            ``rank = cap = r``, ``buffer = 0``.
        """
        keep_base = _check_flag("keep_base", keep_base)
        m, n = self.shape
        U = as_float_array("U", U, ndim=2, like=self.U)
        if U.shape[0] != m or not 1 <= U.shape[1] <= min(m, n):
            raise ValueError(
                f"U: expected shape ({m}, r) with 1 <= r <= {min(m, n)}, received {U.shape}"
            )
        V = as_float_array("V", V, ndim=2, like=self.U)
        if V.shape[0] == n and V.shape[1] != U.shape[1]:  # either may have the wrong rank
            raise ValueError(
                f"U, V: expected the same number of columns (the rank), received "
                f"{U.shape[1]} in U and {V.shape[1]} in V"
            )
        V = _check_matrix("V", V, (n, U.shape[1]), self.U)
        new = LowRankUpdateLayer(None, U, V, rank=U.shape[1])
        new.cap = new.rank
        new.base = self.base if keep_base else None
        return new

    def forward(self, A):
        """``Z = W0 A + U_k (V_kᵀ A)``, caching ``V_kᵀ A``.

        Parameters
        ----------
        A : ndarray, shape (n, batch)

        Returns
        -------
        Z : ndarray, shape (m, batch)
        cache : ndarray, shape (active, batch)
            ``V_kᵀ A``, for :meth:`backward`.
        """
        A = _check_input(self, A, self.U)
        return _checked_result(lambda: self._forward(A), "A")

    def _forward(self, A):
        """:meth:`forward` unchecked, for the training loops (their inputs are sound)."""
        k = self.active
        T = self.V[:, :k].T @ A  # (k, batch)
        Z = self.U[:, :k] @ T  # (m, batch)
        if self.base is not None:
            Z = Z + self.base @ A
        return Z, T

    def backward(self, delta, A, cache, need_input):
        """Gradients of ``U_k``, ``V_k`` and, if asked, the input error.

        Parameters
        ----------
        delta : ndarray, shape (m, batch)
            ``∂L/∂Z``.
        A : ndarray, shape (n, batch)
            The input of :meth:`forward`.
        cache : ndarray, shape (active, batch)
            What :meth:`forward` returned with ``Z``.
        need_input : bool
            Whether to return ``∂L/∂A``.

        Returns
        -------
        grads : list of ndarray
            ``[∇U_k, ∇V_k]``, shapes ``(m, active)`` and ``(n, active)``.
        d_input : ndarray of shape (n, batch), or None
        """
        delta, A, need_input = _check_backward(self, delta, A, need_input, self.U)
        cache = _check_matrix("cache", cache, (self.active, delta.shape[1]), self.U)
        return _checked_result(
            lambda: self._backward(delta, A, cache, need_input), "delta, A, cache"
        )

    def _backward(self, delta, A, cache, need_input):
        """:meth:`backward` unchecked, for the training loops (their inputs are sound)."""
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
        """Add updates to the active columns of ``U`` and ``V`` (in place).

        Parameters
        ----------
        updates : list of two ndarrays, shapes (m, active) and (n, active)
            Nothing changes if either sum overflows (ValueError naming ``updates``).
        """
        du, dv = _check_updates(self, updates, self.U)
        k = self.active
        new_u = _checked_result(lambda: self.U[:, :k] + du, "updates")
        new_v = _checked_result(lambda: self.V[:, :k] + dv, "updates")
        xp = backend.array_namespace(new_u)
        largest = float(xp.abs(new_u).max()) * float(xp.abs(new_v).max()) * k if k else 0.0
        if largest > np.finfo(np.float64).max / 4:  # W0 + U Vᵀ could overflow: refuse first
            raise ValueError(
                "updates: the updated factors' product U Vᵀ could overflow float64 (its "
                f"entries are bounded only by {largest:.3g}); the layer is left unchanged"
            )
        self.U[:, :k], self.V[:, :k] = new_u, new_v

    def _apply(self, updates):
        """:meth:`apply` unchecked, for the training loops (their inputs are sound)."""
        k = self.active
        self.U[:, :k] += updates[0]
        self.V[:, :k] += updates[1]

    def param_keys(self):
        """``[(name, shape of the optimizer state, active columns)]`` for ``U``, ``V``."""
        return [("U", self.U.shape, self.active), ("V", self.V.shape, self.active)]

    def update(self):
        """The low-rank update ``U_k V_kᵀ``, shape ``(m, n)``."""
        k = self.active
        return _checked_result(lambda: self.U[:, :k] @ self.V[:, :k].T, "U, V")

    def update_singular_values(self):
        """Singular values of ``U_k V_kᵀ`` from two thin QRs: ``O((m + n) k²)``."""
        xp = backend.array_namespace(self.U)
        k = self.active
        ru = triangular_factor(self.U[:, :k])
        rv = triangular_factor(self.V[:, :k])
        return xp.linalg.svd(ru @ rv.T, compute_uv=False)

    def dense(self):
        """The weight ``W0 + U_k V_kᵀ`` (or ``U_k V_kᵀ`` without a base)."""
        if self.base is None:
            return self.update()
        return _checked_result(lambda: self.base + self.update(), "base, U, V")
