r"""A small decoder-only GPT-2-style transformer in NumPy, with a hand-written backward pass.

The model (Radford et al., 2019), for token ids ``x_1..x_T``:

.. code-block:: text

    h⁰ = E[x] + P[0:T]                                   token + position embeddings
    for each block l:
        a  = h + W_o · attn(W_qkv · LN₁(h) + b_qkv) + b_o   pre-LayerNorm, causal attention
        h  = a + W_2 · gelu(W_1 · LN₂(a) + b_1) + b_2       pre-LayerNorm, GELU MLP
    logits = LN_f(h) · Eᵀ  (tied)   or   LN_f(h) · W_headᵀ (untied)

Each of the four matrices of a block (``qkv``, ``attn_proj``, ``fc``, ``mlp_proj``) is a
layer of :mod:`refimpl.inrank.layers`: a :class:`~refimpl.inrank.layers.DenseLayer` or
InRank's :class:`~refimpl.inrank.layers.LowRankUpdateLayer` ``W0 + U_k V_kᵀ``. The
official InRank code replaces the two MLP matrices of every GPT-2 block (optionally
keeping the first block dense) and leaves the attention projections, embeddings and
LayerNorms dense; :meth:`Transformer.to_inrank` does the same by default, and any
other set of linear layers can be named. Biases, gains and embeddings stay dense.

Layers of :mod:`refimpl.inrank.layers` map columns (``Z = W A``, ``A`` of shape
``(n, samples)``); activations here are rows ``(batch, time, d)``, so each linear
layer sees the transpose of the flattened activations (a view, no copy).

Why this module is long: the whole model's forward and backward passes are one
reading unit (the backward pass walks the forward pass in reverse), so they stay
together rather than being split across files.

References
----------
.. [1] A. Radford, J. Wu, R. Child, D. Luan, D. Amodei, I. Sutskever, "Language Models
   are Unsupervised Multitask Learners", 2019 (GPT-2).
.. [2] J. Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5.

Examples
--------
>>> import numpy as np
>>> model = Transformer(11, d_model=8, n_heads=2, n_layers=1, context=5, rng=0)
>>> tokens = np.random.default_rng(1).integers(0, 11, size=(2, 6))
>>> value, grads = model.loss_and_gradients(tokens)
>>> bool(abs(value - np.log(11)) < 0.1), grads["wte"].shape
(True, (11, 8))
"""

from __future__ import annotations

import math

import numpy as np

from refimpl import backend
from refimpl.inrank.attention import (
    causal_attention_backward_unchecked,
    causal_attention_forward,
    gelu_backward_unchecked,
    gelu_forward,
    layer_norm_backward_unchecked,
    layer_norm_forward,
)
from refimpl.inrank.layers import DenseLayer, LowRankUpdateLayer
from refimpl.validation import (
    as_generator,
    check_array_size,
    check_integer,
    check_positive,
    finite_or_overflow,
)

__all__ = ["Transformer", "MLP_LAYERS"]

MLP_LAYERS = ("fc", "mlp_proj")  # the matrices the official code replaces

# What a public method says when its result overflows: the tokens are checked, so the
# weights (trained with too large a step, or set by hand) are to blame.
_DIVERGED = "the result overflows for this model's weights (have they diverged?)"

# Python objects per block beyond its weights (array headers, layer objects, dict
# entries): measured about 3 kB, counted as 4 kB in the memory estimate.
_BLOCK_OBJECT_BYTES = 4096


def _float_dtype(dtype):
    """``dtype`` as float32 or float64, or ValueError naming ``dtype``.

    Only a real floating type can hold the weights: an integer type would round every
    N(0, 0.02²) entry to zero, a complex one has no order for the softmax.
    """
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        resolved = None
    if resolved is None or resolved.type not in (np.float32, np.float64):
        raise ValueError(f"dtype: expected float32 or float64, received {dtype!r}")
    return resolved


def _check_model_size(V, d, L, context, tied, dtype):
    """ValueError naming the size argument that makes the parameters exceed the memory.

    Every parameter is counted before any is allocated: the token embedding (and an
    untied head) ``V d``, the position table ``context · d``, ``L`` blocks of
    ``12 d² + 13 d`` and the final LayerNorm ``2 d``; plus the float64 draw of the
    largest matrix and the Python objects of every block. The largest of the three
    terms names the argument to blame (its larger factor).
    """
    block = 12 * d * d + 13 * d
    terms = [
        ("vocab_size" if V >= d else "d_model", (1 if tied else 2) * V * d),
        ("context" if context >= d else "d_model", context * d),
        ("n_layers" if L >= block else "d_model", L * block),
    ]
    blame = max(terms, key=lambda term: term[1])[0]
    largest = max(V * d, context * d, 4 * d * d)
    overhead = -(-(8 * largest + L * _BLOCK_OBJECT_BYTES) // dtype.itemsize)  # ceil
    count = sum(n for _, n in terms) + 2 * d
    check_array_size(blame, (count + overhead,), dtype.itemsize)


def _linear(layer, x, bias):
    """``x Wᵀ + b`` for rows ``x`` of shape (..., n), through a column-convention layer."""
    flat = x.reshape(-1, x.shape[-1])  # (N, n)
    z, cache = layer._forward(flat.T)  # (m, N); unchecked: the model made x
    return z.T.reshape(*x.shape[:-1], -1) + bias, (flat, cache)


def _linear_backward(layer, dz, cache):
    """Parameter gradients, input error and bias gradient of :func:`_linear`."""
    flat, inner = cache
    dflat = dz.reshape(-1, dz.shape[-1])  # (N, m)
    grads, dx = layer._backward(dflat.T, flat.T, inner, True)  # unchecked, as _linear
    return grads, dx.T.reshape(*dz.shape[:-1], -1), dflat.sum(axis=0)


class Transformer:
    r"""A decoder-only transformer (GPT-2 block) trained on next-token cross-entropy.

    Parameters
    ----------
    vocab_size : int
        Number of token ids ``V ≥ 2``.
    d_model : int
        Width ``d``, divisible by ``n_heads``.
    n_heads, n_layers : int
        Heads per attention and number of blocks.
    context : int
        Longest input ``T_max`` (rows of the position embedding).
    tied : bool
        Whether the output layer is the token embedding (GPT-2) or its own matrix.
    rng : numpy.random.Generator or int, optional
        Seeds GPT-2's initialization: entries N(0, 0.02²), residual projections
        (``attn_proj``, ``mlp_proj``) N(0, (0.02/√(2 L))²), biases 0, gains 1.
    dtype : {numpy.float64, numpy.float32}
        Of every parameter.

    Attributes
    ----------
    params : dict of str to ndarray
        Embeddings, LayerNorm gains/biases, linear biases (all dense).
    layers : dict of str to layer
        ``"h{l}.{qkv|attn_proj|fc|mlp_proj}"``: the linear maps.

    Notes
    -----
    The loss is the mean next-token cross-entropy over all ``B T`` positions,

    .. math:: \mathcal L = -\frac{1}{BT}\sum_{b,t}\log\mathrm{softmax}(\text{logits}_{b,t})
              _{x_{b,t+1}},\qquad \frac{\partial\mathcal L}{\partial\,\text{logits}}
              = \frac{\mathrm{softmax} - \mathrm{onehot}}{BT}.

    References
    ----------
    Radford et al. (2019); Zhao et al., InRank (TMLR 2024).

    Examples
    --------
    >>> import numpy as np
    >>> m = Transformer(7, 8, 2, 2, 4, rng=0)
    >>> sorted(m.layers)[:4]
    ['h0.attn_proj', 'h0.fc', 'h0.mlp_proj', 'h0.qkv']
    >>> m.count_parameters()["trainable"]
    1848
    """

    def __init__(
        self, vocab_size, d_model, n_heads, n_layers, context, tied=True, rng=None, dtype=np.float64
    ):
        self.vocab_size = check_integer("vocab_size", vocab_size, minimum=2)
        d = self.d_model = check_integer("d_model", d_model, minimum=1)
        self.n_heads = check_integer("n_heads", n_heads, minimum=1)
        if d % self.n_heads:
            raise ValueError(f"n_heads: expected a divisor of d_model={d}, received {n_heads}")
        self.n_layers = check_integer("n_layers", n_layers, minimum=1)
        self.context = check_integer("context", context, minimum=1)
        if not isinstance(tied, bool | np.bool_):
            raise ValueError(f"tied: expected True or False, received {tied!r}")
        self.tied = bool(tied)
        dtype = _float_dtype(dtype)
        V, L = self.vocab_size, self.n_layers
        _check_model_size(V, d, L, self.context, self.tied, dtype)
        rng = as_generator(rng)

        # Parameters are created from nothing, so on the default backend (refimpl.backend);
        # the draws come from the host generator, the same values on every backend.
        xp = backend.default_namespace()

        def normal(shape, std=0.02):
            x = rng.standard_normal(shape)
            x *= std  # in place: one float64 array at a time, the same values as std * x
            return backend.asarray(x.astype(dtype, copy=False))  # to the default's device

        p = {"wte": normal((V, d)), "wpe": normal((self.context, d))}
        self.layers = {}
        resid = 0.02 / math.sqrt(2 * L)
        for l in range(L):
            for ln in ("ln1", "ln2"):
                p[f"h{l}.{ln}_g"], p[f"h{l}.{ln}_b"] = xp.ones(d, dtype), xp.zeros(d, dtype)
            for name, (m, n), std in (
                ("qkv", (3 * d, d), 0.02),
                ("attn_proj", (d, d), resid),
                ("fc", (4 * d, d), 0.02),
                ("mlp_proj", (d, 4 * d), resid),
            ):
                self.layers[f"h{l}.{name}"] = DenseLayer(normal((m, n), std))
                p[f"h{l}.{name}_b"] = xp.zeros(m, dtype)
        p["lnf_g"], p["lnf_b"] = xp.ones(d, dtype), xp.zeros(d, dtype)
        if not self.tied:
            p["head"] = normal((V, d))
        self.params = p

    # ---------------------------------------------------------------- forward / backward
    def _check_tokens(self, tokens, shift=1):
        if backend.is_foreign_array(tokens):
            raise ValueError(f"tokens: expected a NumPy or CuPy array, received {type(tokens)}")
        xp = backend.array_namespace(self.params["wte"])
        if backend.is_device_array(tokens) and backend.array_namespace(tokens) is not xp:
            raise ValueError(
                f"tokens: expected a NumPy array or one on the parameters' backend "
                f"({xp.__name__}), received {type(tokens).__module__}.{type(tokens).__name__}"
            )
        arr = xp.asarray(tokens)  # host tokens go to the parameters' device: their one transfer
        if (
            arr.dtype.kind not in "iu"
            or arr.ndim != 2
            or min(arr.shape) < 1
            or arr.shape[1] <= shift
        ):
            raise ValueError(
                f"tokens: expected integer ids of shape (batch, time + {shift}), time >= 1, "
                f"received dtype {arr.dtype} shape {arr.shape}"
            )
        if arr.shape[1] - shift > self.context:
            raise ValueError(
                f"tokens: expected at most {self.context + shift} columns, received {arr.shape}"
            )
        if int(arr.min()) < 0 or int(arr.max()) >= self.vocab_size:
            raise ValueError(f"tokens: expected ids in [0, {self.vocab_size}), received outside")
        check_array_size("tokens", activation_shape(self, arr.shape[0], arr.shape[1] - shift))
        return arr

    def logits(self, tokens):
        r"""Next-token logits for inputs of shape (batch, time).

        Parameters
        ----------
        tokens : ndarray of int, shape (batch, time)

        Returns
        -------
        ndarray, shape (batch, time, vocab_size)
        """
        tokens = self._check_tokens(tokens, shift=0)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, once
            logits = self._forward(tokens)[0]
        return finite_or_overflow(logits, "tokens", message=_DIVERGED)

    def _forward(self, x):
        p = self.params
        t = x.shape[1]
        h = p["wte"][x] + p["wpe"][:t]  # (b, t, d)
        caches = []
        for l in range(self.n_layers):
            c = {}
            z, c["ln1"] = layer_norm_forward(h, p[f"h{l}.ln1_g"], p[f"h{l}.ln1_b"])
            qkv, c["qkv"] = _linear(self.layers[f"h{l}.qkv"], z, p[f"h{l}.qkv_b"])  # (b, t, 3d)
            y, c["attn"] = causal_attention_forward(qkv, self.n_heads)  # (b, t, d)
            o, c["attn_proj"] = _linear(self.layers[f"h{l}.attn_proj"], y, p[f"h{l}.attn_proj_b"])
            h = h + o
            z, c["ln2"] = layer_norm_forward(h, p[f"h{l}.ln2_g"], p[f"h{l}.ln2_b"])
            u, c["fc"] = _linear(self.layers[f"h{l}.fc"], z, p[f"h{l}.fc_b"])  # (b, t, 4d)
            g, c["gelu"] = gelu_forward(u)
            o, c["mlp_proj"] = _linear(self.layers[f"h{l}.mlp_proj"], g, p[f"h{l}.mlp_proj_b"])
            h = h + o
            caches.append(c)
        z, cf = layer_norm_forward(h, p["lnf_g"], p["lnf_b"])  # (b, t, d)
        head = p["wte"] if self.tied else p["head"]  # (V, d)
        logits = z @ head.T  # (b, t, V)
        return logits, (x, caches, cf, z)

    def loss(self, tokens):
        r"""Mean next-token cross-entropy of ``tokens`` (batch, time + 1) (no gradients).

        Parameters
        ----------
        tokens : ndarray of int, shape (batch, time + 1)

        Returns
        -------
        float
        """
        tokens = self._check_tokens(tokens)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, once
            value = float(_cross_entropy(self._forward(tokens[:, :-1])[0], tokens[:, 1:])[0])
        return finite_or_overflow(value, "tokens", message=_DIVERGED)

    def loss_and_gradients(self, tokens):
        r"""Loss and the gradient of every parameter, by the hand-written backward pass.

        Parameters
        ----------
        tokens : ndarray of int, shape (batch, time + 1)
            Inputs are ``tokens[:, :-1]``, targets ``tokens[:, 1:]``.

        Returns
        -------
        loss : float
        grads : dict
            ``params`` names to arrays; ``layers`` names to the list a layer's
            ``backward`` returns (``[∇W]`` or ``[∇U_k, ∇V_k]``).
        """
        tokens = self._check_tokens(tokens)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, once
            value, grads = self._loss_and_gradients(tokens)
        arrays = [
            g for grad in grads.values() for g in (grad if isinstance(grad, list) else [grad])
        ]
        finite_or_overflow([value, *arrays], "tokens", message=_DIVERGED)
        return value, grads

    def _loss_and_gradients(self, tokens):
        """:meth:`loss_and_gradients` unchecked: the backward pass runs without checks."""
        p = self.params
        xp = backend.array_namespace(p["wte"])
        x = tokens[:, :-1]
        logits, (x, caches, cf, z) = self._forward(x)
        value, dlogits = _cross_entropy(logits, tokens[:, 1:])  # (b, t, V)
        head = p["wte"] if self.tied else p["head"]
        grads = {k: None for k in p}
        dhead = dlogits.reshape(-1, self.vocab_size).T @ z.reshape(-1, self.d_model)  # (V, d)
        dh, grads["lnf_g"], grads["lnf_b"] = layer_norm_backward_unchecked(dlogits @ head, cf)
        for l in reversed(range(self.n_layers)):
            c = caches[l]
            grads[f"h{l}.mlp_proj"], dg, grads[f"h{l}.mlp_proj_b"] = _linear_backward(
                self.layers[f"h{l}.mlp_proj"], dh, c["mlp_proj"]
            )
            du = gelu_backward_unchecked(dg, c["gelu"])
            grads[f"h{l}.fc"], dz, grads[f"h{l}.fc_b"] = _linear_backward(
                self.layers[f"h{l}.fc"], du, c["fc"]
            )
            dx, grads[f"h{l}.ln2_g"], grads[f"h{l}.ln2_b"] = layer_norm_backward_unchecked(
                dz, c["ln2"]
            )
            dh = dh + dx
            grads[f"h{l}.attn_proj"], dy, grads[f"h{l}.attn_proj_b"] = _linear_backward(
                self.layers[f"h{l}.attn_proj"], dh, c["attn_proj"]
            )
            dqkv = causal_attention_backward_unchecked(dy, c["attn"])
            grads[f"h{l}.qkv"], dz, grads[f"h{l}.qkv_b"] = _linear_backward(
                self.layers[f"h{l}.qkv"], dqkv, c["qkv"]
            )
            dx, grads[f"h{l}.ln1_g"], grads[f"h{l}.ln1_b"] = layer_norm_backward_unchecked(
                dz, c["ln1"]
            )
            dh = dh + dx
        t = x.shape[1]
        grads["wpe"] = xp.zeros_like(p["wpe"])
        grads["wpe"][:t] = dh.sum(axis=0)
        dwte = xp.zeros_like(p["wte"])
        if backend.is_device_array(dwte):
            xp.add.at(dwte, x.ravel(), dh.reshape(-1, self.d_model))
        else:
            np.add.at(dwte, x.ravel(), dh.reshape(-1, self.d_model))
        if self.tied:
            grads["wte"] = dwte + dhead
        else:
            grads["wte"], grads["head"] = dwte, dhead
        return value, grads

    # ---------------------------------------------------------------- InRank
    def to_inrank(
        self,
        names=None,
        initial_rank=2,
        buffer=None,
        cap=None,
        init_scale=1e-2,
        rng=None,
        skip_first_block=False,
    ):
        r"""Replace linear layers by InRank's ``W0 + U_k V_kᵀ`` (in place).

        Parameters
        ----------
        names : sequence of str, optional
            Layer kinds (``"fc"``, ``"mlp_proj"``, ``"qkv"``, ``"attn_proj"``) or full names
            (``"h0.fc"``); default the MLP layers of every block, as the official code.
        initial_rank, buffer, cap : int
            Rank state of each new layer; ``cap`` defaults to ``min(m, n) // 2`` and
            ``buffer`` to ``min(100, max(1, cap // 4))`` (the official 100, scaled).
        init_scale : float
            Std of the entries of ``U``; ``V`` starts at 0, so the model is unchanged.
        rng : numpy.random.Generator or int, optional
        skip_first_block : bool
            Keep block 0 dense (an option of the official code).

        Returns
        -------
        list of str
            The names of the replaced layers.
        """
        rng = as_generator(rng)
        init_scale = check_positive("init_scale", init_scale)
        kinds = MLP_LAYERS if names is None else names
        if not isinstance(skip_first_block, bool | np.bool_):
            raise ValueError(
                f"skip_first_block: expected True or False, received {skip_first_block!r}"
            )
        if not isinstance(kinds, list | tuple) or not all(isinstance(k, str) for k in kinds):
            raise ValueError(f"names: expected a sequence of layer names, received {names!r}")
        chosen = [
            key
            for key in self.layers
            if (key in kinds or key.split(".")[1] in kinds)
            and not (skip_first_block and key.startswith("h0."))
        ]
        unknown = [
            k
            for k in kinds
            if k not in self.layers and k not in ("qkv", "attn_proj", "fc", "mlp_proj")
        ]
        if unknown:
            raise ValueError(f"names: unknown layers {unknown}; known: {sorted(self.layers)}")
        replaced = {}  # all layers first: a failure leaves the model as it was
        for key in chosen:
            layer = self.layers[key]
            W = layer.dense()
            m, n = W.shape
            c = max(1, min(m, n) // 2) if cap is None else check_integer("cap", cap, 1, min(m, n))
            r = check_integer("initial_rank", initial_rank, minimum=1, maximum=c)
            b = min(100, max(1, c // 4)) if buffer is None else check_integer("buffer", buffer, 0)
            k = min(c + b, min(m, n))
            with np.errstate(over="ignore"):  # reported below, naming init_scale
                U = (init_scale * rng.standard_normal((m, k))).astype(W.dtype)  # (m, k) host
            U = backend.asarray(finite_or_overflow(U, "init_scale", "lower init_scale"), like=W)
            V = backend.array_namespace(W).zeros((n, k), dtype=W.dtype)
            replaced[key] = LowRankUpdateLayer(W.copy(), U, V, rank=r, buffer=b, cap=c)
        self.layers.update(replaced)
        return chosen

    def count_parameters(self):
        r"""Trainable and stored parameter counts.

        Returns
        -------
        dict
            ``trainable`` (what the optimizer updates: for an InRank layer the active
            factor columns) and ``stored`` (everything kept, a frozen ``W0`` included).
        """
        dense = sum(int(v.size) for v in self.params.values())
        trainable = stored = dense
        for layer in self.layers.values():
            m, n = layer.shape
            if isinstance(layer, DenseLayer):
                trainable += m * n
                stored += m * n
            else:
                trainable += (m + n) * layer.active
                stored += (m + n) * layer.active + (0 if layer.base is None else m * n)
        return {"trainable": trainable, "stored": stored}


def activation_shape(model, batch, time):
    r"""``(batch, entries per window)`` that a forward and backward pass of ``model`` hold.

    Counted before the pass runs, so that a size check names the caller's argument
    instead of a ``MemoryError`` deep inside. Per block and position: LayerNorms
    ``2 · 2d``, qkv ``3d``, attention output, projections and residuals ``4d``, the
    MLP's ``4d``-wide input, tanh and output ``12d`` (``21 d`` in all, with temporaries
    under ``32 d``), and two rows of ``H t`` attention scores; then the logits, their
    shift, exponential, log-softmax and gradient, ``5 V`` per position.

    .. math:: \text{entries} = B\,\bigl(L\,T\,(2 H T + 32 d) + 5\,T\,V\bigr)
    """
    per_window = model.n_layers * time * (2 * model.n_heads * time + 32 * model.d_model)
    return (batch, per_window + 5 * time * model.vocab_size)


def _cross_entropy(logits, targets):
    """Mean cross-entropy and its gradient with respect to the logits."""
    xp = backend.array_namespace(logits)
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))  # (b, t, V)
    count = targets.size
    picked = xp.take_along_axis(logp, targets[..., None], axis=-1)
    value = -float(xp.sum(picked)) / count
    grad = xp.exp(logp)  # (b, t, V), softmax
    flat = grad.reshape(-1, grad.shape[-1])  # a view: grad is contiguous
    flat[xp.arange(count), targets.ravel()] -= 1.0
    return value, grad / count
