r"""Training the NumPy transformer: full rank, InRank, and efficient InRank, on one loop.

:func:`train_transformer` runs mini-batch SGD or Adam on random windows of a token
sequence and records, at every ``record_every`` steps, the training loss of the step,
the validation loss on fixed windows, the rank and active columns of every InRank
layer, the seconds spent training, and (``track=True``) the singular values of every
linear layer's cumulative update ``W_t − W_0``.

InRank (``inrank=dict(...)``) replaces the named layers by ``W0 + U_k V_kᵀ``
(:meth:`~refimpl.inrank.transformer.Transformer.to_inrank`) and applies the rank rule of
the official code (:func:`refimpl.inrank.rank.select_rank`) after ``warmup`` steps, every
``gap`` steps, with the variance ratio taken over all ``min(m, n)`` singular values.
With ``adapt_steps`` it is the efficient variant: at that step each InRank layer is
truncated to its rank (:func:`refimpl.inrank.efficient.truncate_layer`, "weight": the
rank-``r`` SVD of ``W0 + U_kV_kᵀ``, no base afterwards) and trained at fixed rank.

References
----------
.. [1] J. Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Algorithm 1
   and Section 5.

Examples
--------
>>> from refimpl.inrank.corpus import grammar_corpus
>>> from refimpl.inrank.transformer import Transformer
>>> c = grammar_corpus(3000, rng=0)
>>> m = Transformer(c.vocab_size, 16, 2, 1, 8, rng=0)
>>> log = train_transformer(m, c.train, c.validation, steps=20, lr=3e-3, record_every=10, rng=0)
>>> log["steps"], bool(log["val_loss"][-1] < log["val_loss"][0])
([0, 10, 20], True)
"""

from __future__ import annotations

import time

import numpy as np

from refimpl import backend
from refimpl.inrank.algorithm import rank_rule
from refimpl.inrank.corpus import check_token_ids, sample_windows, validation_windows
from refimpl.inrank.efficient import truncate_layer
from refimpl.inrank.layers import LowRankUpdateLayer
from refimpl.inrank.optim import make_optimizer
from refimpl.inrank.rank import RATIO_KINDS
from refimpl.inrank.transformer import Transformer, activation_shape
from refimpl.validation import (
    DivergenceError,
    as_generator,
    check_array_size,
    check_choice,
    check_divergence,
    check_in_interval,
    check_integer,
    check_options,
)

__all__ = ["train_transformer", "INRANK_DEFAULTS"]

#: The official defaults (threshold 0.9, initial rank 2, warm-up 200, gap 25) and the
#: layers it replaces; the buffer (official 100) is scaled to the layer in ``to_inrank``.
INRANK_DEFAULTS = {
    "threshold": 0.9,
    "ratio": "variance",
    "initial_rank": 2,
    "buffer": None,
    "cap": None,
    "warmup": 200,
    "gap": 25,
    "names": None,
    "init_scale": 1e-2,
    "skip_first_block": False,
    "adapt_steps": None,
}


def _rank_check(model, options, step):
    """InRank's rank rule (:func:`refimpl.inrank.algorithm.rank_rule`) on the model's layers."""
    rule = rank_rule(options["warmup"], options["gap"], options["threshold"], options["ratio"])
    rule(step, [layer for layer in model.layers.values() if isinstance(layer, LowRankUpdateLayer)])


def _step(model, opt, tokens, stage):
    # loss_and_gradients checks its result once; the updates then run unchecked.
    value, grads = model.loss_and_gradients(tokens)
    opt.begin_step()
    for key, g in grads.items():
        if key in model.params:
            model.params[key] = model.params[key] + opt._update(key, g)
            continue
        layer = model.layers[key]
        updates = [
            opt._update((stage, key, name), gi, shape, cols)
            for (name, shape, cols), gi in zip(layer.param_keys(), g, strict=True)
        ]
        layer._apply(updates)
    return value


def _unless_diverged(step, updates, function, *args):
    """``function(*args)``; after ``updates > 0`` updates, a layer refusing overflowing
    entries (ValueError) means the weights diverged: DivergenceError at ``step``."""
    try:
        return function(*args)
    except ValueError as error:
        if updates == 0:  # the inputs are checked: the initial weights are to blame
            raise ValueError(f"model: its initial weights overflow ({error})") from error
        message = f"the activations overflowed at step {step} ({error}); lower lr"
        raise DivergenceError(message, step) from error


def _weight_norm(model):
    """Sum of squared entries of every parameter (non-finite once a step overflowed)."""
    arrays = list(model.params.values())
    for layer in model.layers.values():
        arrays += [layer.W] if hasattr(layer, "W") else [layer.U, layer.V]
    with np.errstate(over="ignore", invalid="ignore"):
        return float(sum(float((a * a).sum()) for a in arrays))


def train_transformer(
    model,
    train_ids,
    validation_ids,
    steps,
    lr,
    *,
    optimizer="adam",
    batch_size=16,
    length=None,
    record_every=50,
    track=False,
    inrank=None,
    rng=None,
    adam_options=None,
):
    r"""Train ``model`` (in place) and record losses, ranks, timings and update spectra.

    Parameters
    ----------
    model : Transformer
    train_ids, validation_ids : ndarray of int
        Token ids of the two splits (:class:`refimpl.inrank.corpus.Corpus`).
    steps : int
    lr : float
        Learning rate ``> 0``.
    optimizer : {"sgd", "adam"}
        ("gd" is accepted as a synonym of "sgd": every step is a mini-batch.)
    batch_size : int
    length : int, optional
        Window length ``T`` (default the model's context).
    record_every : int
    track : bool
        Record the singular values of every linear layer's ``W_t − W_0``.
    inrank : dict, optional
        Turn the model into InRank first; keys of :data:`INRANK_DEFAULTS`, unknown keys
        raise. ``adapt_steps`` makes it the efficient variant.
    rng : numpy.random.Generator or int, optional
        Draws the InRank factors, the windows and the truncation sketch.
    adam_options : dict, optional

    Returns
    -------
    dict
        ``steps``, ``train_loss`` (mean over the steps since the last record; at step 0
        the loss of the first batch), ``val_loss``, ``seconds`` (training time so far),
        ``ranks`` and ``active`` (dict layer → list over records, InRank layers only),
        ``spectra`` (dict layer → list of singular value arrays, with ``track``),
        ``parameters`` (:meth:`Transformer.count_parameters` at the end),
        ``seconds_per_step``.

    Raises
    ------
    refimpl.validation.DivergenceError
        If a loss or the weights become non-finite, or the activations overflow after
        an update (the step is where it happened).

    Notes
    -----
    InRank's rule at a check (``step > warmup``, ``step % gap = 0``), per layer:

    .. math:: r \leftarrow \min\{k\in[r, \min(r+b, \text{cap})] : \rho_V(k) > \text{threshold}\}

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Algorithm 1.

    Examples
    --------
    >>> from refimpl.inrank.corpus import grammar_corpus
    >>> c = grammar_corpus(3000, rng=0)
    >>> m = Transformer(c.vocab_size, 16, 2, 1, 8, rng=0)
    >>> log = train_transformer(m, c.train, c.validation, 30, 3e-3, record_every=30, rng=0,
    ...                         inrank=dict(warmup=10, gap=10, cap=8))
    >>> sorted(log["ranks"]), all(r >= 2 for r in log["ranks"]["h0.fc"])
    (['h0.fc', 'h0.mlp_proj'], True)
    """
    if not isinstance(model, Transformer):
        raise ValueError(f"model: expected a Transformer, received {type(model).__name__}")
    check_choice("optimizer", optimizer, ("gd", "sgd", "adam"))
    steps = check_integer("steps", steps, minimum=1, maximum=10**7)
    batch_size = check_integer("batch_size", batch_size, minimum=1, maximum=4096)
    length = model.context if length is None else length
    length = check_integer("length", length, minimum=1, maximum=model.context)
    record_every = check_integer("record_every", record_every, minimum=1)
    if not isinstance(track, bool | np.bool_):
        raise ValueError(f"track: expected True or False, received {track!r}")
    rng = as_generator(rng)
    opt = make_optimizer(optimizer, lr, adam_options)
    train_ids = check_token_ids("train_ids", train_ids, model.vocab_size)
    validation_ids = check_token_ids("validation_ids", validation_ids, model.vocab_size)
    for name, ids in (("train_ids", train_ids), ("validation_ids", validation_ids)):
        if ids.size <= length:
            raise ValueError(f"{name}: expected more than length={length} ids, got {ids.size}")
    # the largest pass: a training batch, or the (at most 64) validation windows
    check_array_size("batch_size, length", activation_shape(model, max(batch_size, 64), length))
    val = validation_windows(validation_ids, length)
    options = None
    if inrank is not None:
        options = {**INRANK_DEFAULTS, **check_options("inrank", inrank, INRANK_DEFAULTS)}
        options["threshold"] = check_in_interval(
            "threshold", options["threshold"], 0.0, 1.0, closed="right"
        )
        check_choice("ratio", options["ratio"], RATIO_KINDS)
        options["warmup"] = check_integer("warmup", options["warmup"], minimum=0)
        options["gap"] = check_integer("gap", options["gap"], minimum=1)
        if options["adapt_steps"] is not None:
            options["adapt_steps"] = check_integer("adapt_steps", options["adapt_steps"], 1, steps)
        model.to_inrank(
            options["names"],
            options["initial_rank"],
            options["buffer"],
            options["cap"],
            options["init_scale"],
            rng,
            options["skip_first_block"],
        )
    xp = backend.array_namespace(model.params["wte"])
    W0 = {k: backend.to_numpy(layer.dense()).copy() for k, layer in model.layers.items()}
    low = [k for k, layer in model.layers.items() if isinstance(layer, LowRankUpdateLayer)]
    log = {
        "steps": [],
        "train_loss": [],
        "val_loss": [],
        "seconds": [],
        "ranks": {k: [] for k in low},
        "active": {k: [] for k in low},
        "spectra": {k: [] for k in W0} if track else {},
    }
    clock, running, stage = 0.0, [], 0

    def record(step):
        log["steps"].append(step)
        log["train_loss"].append(float(np.mean(running)) if running else float("nan"))
        value = _unless_diverged(max(step, 1), step, model.loss, xp.asarray(val))
        check_divergence(value, max(step, 1), "the validation loss", "lower lr")
        log["val_loss"].append(value)
        log["seconds"].append(clock)
        for k in low:
            log["ranks"][k].append(int(model.layers[k].rank))
            log["active"][k].append(int(model.layers[k].active))
        for k in log["spectra"]:
            D = backend.to_numpy(model.layers[k].dense()) - W0[k]
            log["spectra"][k].append(np.linalg.svd(D, compute_uv=False))

    for step in range(steps + 1):
        if step % record_every == 0 or step == steps:
            if step == 0:
                first = xp.asarray(sample_windows(train_ids, batch_size, length, rng=rng))
                running = [_unless_diverged(1, 0, model.loss, first)]
            record(step)
            running = []
        if step == steps:
            break
        start = time.perf_counter()
        if options is not None:
            _rank_check(model, options, step)
            if options["adapt_steps"] == step:
                for k in low:
                    model.layers[k] = truncate_layer(model.layers[k], "weight", rng)
                stage = 1  # new factor shapes: fresh optimizer state
        tokens = xp.asarray(sample_windows(train_ids, batch_size, length, rng=rng))
        value = _unless_diverged(step + 1, step, _step, model, opt, tokens, stage)
        clock += time.perf_counter() - start
        check_divergence(value, step + 1, "the training loss", "lower lr")
        check_divergence(_weight_norm(model), step + 1, "the weights", "lower lr")
        running.append(value)
    log["parameters"] = model.count_parameters()
    log["seconds_per_step"] = clock / steps
    if track:
        log["spectra"] = {k: np.array(v) for k, v in log["spectra"].items()}
    return log
