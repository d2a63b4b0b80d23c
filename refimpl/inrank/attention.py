r"""The pieces of a GPT-2 block with hand-written backward passes: LayerNorm, GELU, attention.

Every function works on activations of shape ``(batch, time, features)`` (rows are
tokens) and through :mod:`refimpl.backend`, so CuPy arrays work. A ``*_forward``
function returns its output and a cache; the matching ``*_backward`` takes the error
``∂L/∂output`` and the cache and returns ``∂L/∂input`` (and parameter gradients); it
checks both, and the transformer's backward pass calls its unchecked core,
``*_backward_unchecked``, with the caches its own forward pass made.
The derivations are in ``docs/derivations/transformer.md``.

Why this module is long: the three pieces of one block (LayerNorm, GELU, attention)
each come as a forward/backward pair with its input checks; keeping the pairs in one
file lets a student read every backward pass of the block next to its forward pass.

References
----------
.. [1] J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer Normalization", arXiv:1607.06450.
.. [2] D. Hendrycks, K. Gimpel, "Gaussian Error Linear Units", arXiv:1606.08415.
.. [3] A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017.

Examples
--------
>>> import numpy as np
>>> y, cache = layer_norm_forward(np.array([[[1.0, 2.0, 3.0]]]), np.ones(3), np.zeros(3))
>>> np.round(y, 4).tolist()
[[[-1.2247, 0.0, 1.2247]]]
"""

from __future__ import annotations

import math

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    check_array_size,
    check_integer,
    check_positive,
    finite_or_overflow,
)

__all__ = [
    "layer_norm_forward",
    "layer_norm_backward",
    "gelu_forward",
    "gelu_backward",
    "causal_attention_forward",
    "causal_attention_backward",
]

LAYER_NORM_EPS = 1e-5  # GPT-2's
_GELU_C = math.sqrt(2.0 / math.pi)
# What finite_or_overflow says when a forward pass overflows: the named input was too large.
_OVERFLOW = "entries too large, the result overflows"


def _shaped(name, x, shape, like):
    """``x`` as a finite float array of exactly ``shape``, or ValueError naming ``name``."""
    x = as_float_array(name, x, like=like)
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, received {x.shape}")
    return x


def _cache(cache, count, forward):
    """The ``count`` finite arrays of a ``forward`` cache, or ValueError naming ``cache``."""
    if not isinstance(cache, tuple | list) or len(cache) != count:
        raise ValueError(
            f"cache: expected the tuple of {count} arrays that {forward} returns, "
            f"received {type(cache).__name__}"
            + (f" of length {len(cache)}" if isinstance(cache, tuple | list) else "")
        )
    return [as_float_array("cache", part) for part in cache]


def _error_signal(dy, shape, like):
    """``dy`` as a finite float array of the forward output's ``shape`` (from the cache)."""
    dy = as_float_array("dy", dy, like=like)
    if tuple(dy.shape) != tuple(shape):
        raise ValueError(
            f"dy: expected shape {tuple(shape)}, the output's in the cache, received {dy.shape}"
        )
    return dy


def _bad_cache(forward, arrays):
    shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
    return ValueError(f"cache: expected what {forward} returns, received arrays of shapes {shapes}")


def layer_norm_forward(x, gain, bias, eps=LAYER_NORM_EPS):
    r"""LayerNorm over the last axis: ``y = gain · (x − μ)/√(σ² + ε) + bias``.

    Parameters
    ----------
    x : ndarray, shape (..., d)
    gain, bias : ndarray, shape (d,)
    eps : float

    Returns
    -------
    y : ndarray, shape (..., d)
    cache : tuple
        ``(x̂, 1/√(σ² + ε), gain)`` for :func:`layer_norm_backward`.

    Notes
    -----
    .. math:: \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}},\qquad y = g\odot\hat x + b

    References
    ----------
    Ba, Kiros & Hinton (2016).

    Examples
    --------
    >>> import numpy as np
    >>> y, _ = layer_norm_forward(np.array([[0.0, 2.0]]), np.array([2.0, 2.0]), np.zeros(2))
    >>> np.round(y, 3).tolist()
    [[-2.0, 2.0]]
    """
    x = as_float_array("x", x)
    eps = check_positive("eps", eps)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"x: expected shape (..., d) with d >= 1, received {x.shape}")
    gain = _shaped("gain", gain, (x.shape[-1],), x)
    bias = _shaped("bias", bias, (x.shape[-1],), x)
    xp = backend.array_namespace(x)
    mu = xp.mean(x, axis=-1, keepdims=True)  # (..., 1)
    centred = x - mu
    rstd = 1.0 / xp.sqrt(xp.mean(centred * centred, axis=-1, keepdims=True) + eps)  # (..., 1)
    xhat = centred * rstd  # (..., d)
    return finite_or_overflow(xhat * gain + bias, "x", message=_OVERFLOW), (xhat, rstd, gain)


def layer_norm_backward(dy, cache):
    r"""Backward pass of :func:`layer_norm_forward`.

    Parameters
    ----------
    dy : ndarray, shape (..., d)
        ``∂L/∂y``.
    cache : tuple
        From the forward pass.

    Returns
    -------
    dx : ndarray, shape (..., d)
    dgain, dbias : ndarray, shape (d,)

    Notes
    -----
    With :math:`\hat g = g\odot\partial L/\partial y` and means over the feature axis,

    .. math:: \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2+\epsilon}}
              \left(\hat g - \overline{\hat g} - \hat x\,\overline{\hat g\odot\hat x}\right)

    References
    ----------
    Ba, Kiros & Hinton (2016); derivation in ``docs/derivations/transformer.md``.

    Examples
    --------
    >>> import numpy as np
    >>> _, c = layer_norm_forward(np.array([[1.0, 2.0, 4.0]]), np.ones(3), np.zeros(3))
    >>> dx, dg, db = layer_norm_backward(np.ones((1, 3)), c)
    >>> np.allclose(dx, 0.0)  # a uniform shift of y has no pre-image
    True
    """
    xhat, rstd, gain = parts = _cache(cache, 3, "layer_norm_forward")
    xp = backend.array_namespace(xhat)
    if (
        xhat.ndim < 1
        or xhat.shape[-1] == 0
        or rstd.shape != (*xhat.shape[:-1], 1)
        or gain.shape != xhat.shape[-1:]
        or not bool(xp.all(rstd > 0))
    ):
        raise _bad_cache("layer_norm_forward (x̂, 1/σ > 0, gain)", parts)
    dy = _error_signal(dy, xhat.shape, xhat)
    hint = "expected an error signal of moderate size"
    grads = layer_norm_backward_unchecked(dy, (xhat, rstd, gain))
    return finite_or_overflow(grads, "dy, cache", hint=hint, message="the gradients overflow")


def layer_norm_backward_unchecked(dy, cache):
    """:func:`layer_norm_backward` unchecked, for the transformer's backward pass."""
    xhat, rstd, gain = cache
    xp = backend.array_namespace(dy)
    axes = tuple(range(dy.ndim - 1))
    dgain = xp.sum(dy * xhat, axis=axes)  # (d,)
    dbias = xp.sum(dy, axis=axes)  # (d,)
    g = dy * gain  # (..., d)
    dx = rstd * (
        g - xp.mean(g, axis=-1, keepdims=True) - xhat * xp.mean(g * xhat, axis=-1, keepdims=True)
    )
    return dx, dgain, dbias


def gelu_forward(x):
    r"""GELU, GPT-2's tanh approximation, element-wise.

    Parameters
    ----------
    x : ndarray

    Returns
    -------
    y : ndarray
    cache : tuple
        ``(x, tanh(·))`` for :func:`gelu_backward`.

    Notes
    -----
    .. math:: \mathrm{gelu}(x) = \tfrac12 x\left(1 + \tanh\!\left(\sqrt{2/\pi}
              \,(x + 0.044715\,x^3)\right)\right)

    References
    ----------
    Hendrycks & Gimpel (2016).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(gelu_forward(np.array([-1.0, 0.0, 1.0]))[0], 4).tolist()
    [-0.1588, 0.0, 0.8412]
    """
    x = as_float_array("x", x)
    xp = backend.array_namespace(x)
    t = xp.tanh(_GELU_C * (x + 0.044715 * (x * x * x)))
    return finite_or_overflow(0.5 * x * (1.0 + t), "x", message=_OVERFLOW), (x, t)


def gelu_backward(dy, cache):
    r"""Backward pass of :func:`gelu_forward`.

    Parameters
    ----------
    dy : ndarray
        ``∂L/∂y``, the shape of the input.
    cache : tuple

    Returns
    -------
    dx : ndarray

    Notes
    -----
    With :math:`t = \tanh(c(x + 0.044715x^3))`, :math:`c = \sqrt{2/\pi}`,

    .. math:: \mathrm{gelu}'(x) = \tfrac12(1 + t) + \tfrac12 x (1 - t^2)\,c\,(1 + 3\cdot
              0.044715\,x^2)

    References
    ----------
    Hendrycks & Gimpel (2016).

    Examples
    --------
    >>> import numpy as np
    >>> gelu_backward(np.ones(1), gelu_forward(np.zeros(1))[1]).tolist()
    [0.5]
    """
    x, t = _cache(cache, 2, "gelu_forward")
    xp = backend.array_namespace(x)
    if t.shape != x.shape or not bool(xp.all(xp.abs(t) <= 1.0)):
        raise _bad_cache("gelu_forward (x, tanh(·) in [-1, 1])", (x, t))
    dy = _error_signal(dy, x.shape, x)
    return finite_or_overflow(
        gelu_backward_unchecked(dy, (x, t)), "dy, cache", message="the gradient overflows"
    )


def gelu_backward_unchecked(dy, cache):
    """:func:`gelu_backward` unchecked, for the transformer's backward pass."""
    x, t = cache
    slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)
    return dy * slope


def causal_attention_forward(qkv, n_heads):
    r"""Causal multi-head scaled dot-product attention.

    Parameters
    ----------
    qkv : ndarray, shape (batch, time, 3 d)
        Queries, keys and values side by side (the output of the ``qkv`` projection).
    n_heads : int
        Number of heads ``H``; ``d`` must be divisible by it.

    Returns
    -------
    y : ndarray, shape (batch, time, d)
        The heads' outputs, concatenated (before the output projection).
    cache : tuple
        ``(q, k, v, P)`` with the attention weights ``P`` of shape
        ``(batch, H, time, time)``.

    Notes
    -----
    Per head, with :math:`d_h = d/H` and the mask :math:`M_{ij} = 0` for :math:`j \le i`,
    :math:`-\infty` otherwise,

    .. math:: P = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_h}} + M\right),\qquad
              Y = P V

    Row :math:`i` of :math:`P` is zero beyond :math:`i`, so output :math:`i` never sees a
    later token.

    References
    ----------
    Vaswani et al. (2017); Radford et al., "Language Models are Unsupervised Multitask
    Learners" (GPT-2), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> y, (q, k, v, P) = causal_attention_forward(np.ones((1, 3, 6)), 1)
    >>> np.round(P[0, 0], 3).tolist()
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.333, 0.333, 0.333]]
    """
    qkv = as_float_array("qkv", qkv, ndim=3)
    b, t, three_d = qkv.shape
    n_heads = check_integer("n_heads", n_heads, minimum=1)
    if three_d == 0 or three_d % (3 * n_heads) != 0:
        raise ValueError(
            f"qkv: expected a last axis 3 d with d divisible by n_heads={n_heads}, "
            f"received shape {qkv.shape}"
        )
    check_array_size("qkv", (b, n_heads, t, t), qkv.dtype.itemsize)  # the weights P
    xp = backend.array_namespace(qkv)
    d = three_d // 3
    dh = d // n_heads

    def heads(z):  # (b, t, d) -> (b, H, t, dh)
        return z.reshape(b, t, n_heads, dh).transpose(0, 2, 1, 3)

    q, k, v = heads(qkv[..., :d]), heads(qkv[..., d : 2 * d]), heads(qkv[..., 2 * d :])
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)  # (b, H, t, t)
    future = xp.triu(xp.ones((t, t), dtype=bool), k=1)
    scores = xp.where(future, -xp.inf, scores)
    scores = scores - xp.max(scores, axis=-1, keepdims=True)
    P = xp.exp(scores)
    P = P / xp.sum(P, axis=-1, keepdims=True)  # (b, H, t, t)
    y = (P @ v).transpose(0, 2, 1, 3).reshape(b, t, d)  # (b, t, d)
    return finite_or_overflow(y, "qkv", message=_OVERFLOW), (q, k, v, P)


def causal_attention_backward(dy, cache):
    r"""Backward pass of :func:`causal_attention_forward`.

    Parameters
    ----------
    dy : ndarray, shape (batch, time, d)
    cache : tuple

    Returns
    -------
    dqkv : ndarray, shape (batch, time, 3 d)

    Notes
    -----
    With :math:`S = QK^\top/\sqrt{d_h} + M` and :math:`P = \mathrm{softmax}(S)` row-wise,

    .. math::

        \bar V = P^\top\bar Y,\quad \bar P = \bar Y V^\top,\quad
        \bar S = P\odot\left(\bar P - \mathrm{rowsum}(\bar P\odot P)\right),\quad
        \bar Q = \bar S K/\sqrt{d_h},\quad \bar K = \bar S^\top Q/\sqrt{d_h}

    (masked entries have :math:`P = 0`, so they receive no gradient).

    References
    ----------
    Vaswani et al. (2017); derivation in ``docs/derivations/transformer.md``.

    Examples
    --------
    >>> import numpy as np
    >>> y, c = causal_attention_forward(np.ones((1, 2, 3)), 1)
    >>> causal_attention_backward(np.ones((1, 2, 1)), c).shape
    (1, 2, 3)
    """
    q, k, v, P = parts = _cache(cache, 4, "causal_attention_forward")
    if q.ndim != 4 or min(q.shape) == 0 or not k.shape == v.shape == q.shape:
        raise _bad_cache("causal_attention_forward (q, k, v of one shape, P)", parts)
    b, n_heads, t, dh = q.shape
    if P.shape != (b, n_heads, t, t):
        raise _bad_cache("causal_attention_forward (q, k, v, P of shape (b, H, t, t))", parts)
    dy = _error_signal(dy, (b, t, n_heads * dh), q)
    dqkv = causal_attention_backward_unchecked(dy, (q, k, v, P))
    return finite_or_overflow(dqkv, "dy, cache", message="the gradient overflows")


def causal_attention_backward_unchecked(dy, cache):
    """:func:`causal_attention_backward` unchecked, for the transformer's backward pass."""
    q, k, v, P = cache
    b, n_heads, t, dh = q.shape
    xp = backend.array_namespace(dy)
    dyh = dy.reshape(b, t, n_heads, dh).transpose(0, 2, 1, 3)  # (b, H, t, dh)
    dv = P.transpose(0, 1, 3, 2) @ dyh  # (b, H, t, dh)
    dP = dyh @ v.transpose(0, 1, 3, 2)  # (b, H, t, t)
    dS = P * (dP - xp.sum(dP * P, axis=-1, keepdims=True)) / math.sqrt(dh)
    dq = dS @ k  # (b, H, t, dh)
    dk = dS.transpose(0, 1, 3, 2) @ q

    def merge(z):  # (b, H, t, dh) -> (b, t, d)
        return z.transpose(0, 2, 1, 3).reshape(b, t, n_heads * dh)

    return xp.concatenate([merge(dq), merge(dk), merge(dv)], axis=-1)
