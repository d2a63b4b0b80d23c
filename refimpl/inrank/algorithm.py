r"""The InRank algorithm: train the cumulative update as low-rank factors of growing rank.

Each weight is parameterized as in the paper,

.. math:: W = W_0 + U V^\top,

with ``W0`` the frozen initialization and ``U``, ``V`` trained. Of the preallocated
factor columns, ``rank + buffer`` are active. After a warm-up of ``warmup`` steps, every
``gap`` steps the rank is re-determined from the singular values ``s`` of the current
``U_k V_kᵀ`` (``k = rank + buffer``): the new rank is the smallest ``k'`` in
``[rank, min(rank + buffer, cap)]`` whose explained ratio (:mod:`refimpl.inrank.rank`,
"variance" as in the official code, or "energy") exceeds ``threshold``, and the largest
candidate if none does. As in the official code, the variance ratio is taken over all
``min(m, n)`` singular values of the ``m × n`` update, the zeros beyond ``k`` included.
The rank never decreases and never exceeds ``cap``.

Defaults follow the official code (papers.md, section 1): threshold 0.9, initial rank
2, buffer 100 (here ``min(100, max(1, cap // 4))`` unless given, so that small problems
keep a buffer below their size), warm-up 200, gap 25, cap ``min(m, n) // 2``.

Differences from the official code (github.com/jiaweizzhao/InRank,
``InRankEfficient``):

* The code parameterizes the *whole* weight as ``B·A`` from a Kaiming init, with no
  ``W0``. Here the paper's form ``W0 + U Vᵀ`` is used: ``U`` starts small and random,
  ``V`` at zero, so training starts exactly at ``W0``.
* The code's search loop stops one short (it tries ``k < min(rank + buffer, cap −
  buffer)``) and bounds the rank by ``cap − buffer``; here the candidates include
  ``rank + buffer`` and the rank itself is bounded by ``cap``, with at most
  ``min(cap + buffer, min(m, n))`` columns allocated.

The efficient two-stage variant (:func:`inrank_efficient`) adapts the rank for
``adapt_steps`` steps, truncates by SVD to the adapted rank, and then trains at that
fixed rank. By default it truncates the whole weight ``W0 + U Vᵀ`` (as the code's
``resize`` does with ``B·A``), which drops ``W0`` from the forward pass and gives the
speed-up; ``truncate="update"`` keeps ``W0`` and truncates only ``U Vᵀ``.

References
----------
.. [1] J. Zhao, Y. Zhang, B. Chen, F. Schäfer, A. Anandkumar, "InRank: Incremental
   Low-Rank Learning", TMLR 2024, arXiv:2306.11250, Algorithm 1 and Section 5.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank import orthogonal_init, teacher, teacher_data
>>> from refimpl.inrank.algorithm import inrank
>>> t = teacher([3.0, 2.0, 1.0], 16, 16, rng=0)
>>> X, Y = teacher_data(t.target, 64, rng=1)
>>> res = inrank(orthogonal_init((16, 16, 16, 16), 0.5, rng=2), X, Y, lr=0.05, steps=600,
...              warmup=100, gap=25, initial_rank=1, buffer=2, rng=3, record_every=100)
>>> bool(res.loss[-1] < 0.02 * res.loss[0])  # the rest: W0's product outside rank 3
True
>>> res.ranks[-1].tolist(), res.active[-1].tolist()  # active = rank + buffer columns
([3, 2, 2], [5, 4, 4])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.inrank.layers import (
    ACTIVATIONS,
    DenseLayer,
    LowRankUpdateLayer,
    forward_backward,
    predict,
)
from refimpl.inrank.network import check_network
from refimpl.inrank.optim import OPTIMIZERS, MiniBatches, make_optimizer
from refimpl.inrank.rank import RATIO_KINDS, explained_ratio
from refimpl.inrank.train import check_divergence
from refimpl.validation import (
    as_generator,
    check_choice,
    check_in_interval,
    check_integer,
    check_positive,
)

__all__ = [
    "InRankResult",
    "select_rank",
    "cost_model",
    "inrank",
    "inrank_efficient",
    "full_rank_train",
]


def select_rank(s, current_rank, buffer, cap, threshold=0.9, ratio="variance", length=None):
    r"""InRank's rank rule: the smallest sufficient rank among the buffered candidates.

    Parameters
    ----------
    s : ndarray, shape (k,)
        Singular values, descending, of the current ``U_k V_kᵀ`` with
        ``k = current_rank + buffer`` (or fewer where the allocation ends).
    current_rank : int
        The rank now, ``≥ 1``.
    buffer : int
        Extra directions ``b ≥ 0`` searched beyond the current rank.
    cap : int
        Rank cap, ``≥ current_rank``.
    threshold : float
        In ``(0, 1]``.
    ratio : {"variance", "energy"}
        Explained-ratio definition (:func:`refimpl.inrank.rank.explained_ratio`).
    length : int, optional
        Number of singular values of the whole ``m × n`` update, ``min(m, n)``; the
        ones beyond ``len(s)`` are zero. The official code takes the variance over all
        of them (``torch.linalg.svdvals`` of the full product), so :func:`inrank` passes
        ``min(m, n)``. Default ``len(s)``.

    Returns
    -------
    rank : int
        In ``[current_rank, min(current_rank + buffer, cap, len(s))]``: the rank never
        decreases and never exceeds ``cap``.

    Notes
    -----
    .. math::

        r_{\text{new}} = \min\{k \in [r, \min(r + b, \text{cap})] : \rho(k) > \text{threshold}\}

    and the largest candidate if the set is empty (so threshold 1 grows by ``b`` per
    check until the cap).

    References
    ----------
    Zhao et al. (2024), Algorithm 1; official code ``_matrx_svd_approximation_explained_variance``.

    Examples
    --------
    >>> import numpy as np
    >>> select_rank(np.array([5.0, 4.0, 0.1, 0.1, 0.0]), 1, 4, 10, 0.9, "energy")
    2
    >>> select_rank(np.array([5.0, 4.0, 0.1, 0.1, 0.0]), 1, 4, 10, 1.0, "energy")
    5
    >>> s = np.array([4.0, 2.0, 1.0, 0.5])
    >>> select_rank(s, 1, 3, 3, 0.92), select_rank(s, 1, 3, 3, 0.92, length=64)
    (3, 2)
    """
    current_rank = check_integer("current_rank", current_rank, minimum=1)
    buffer = check_integer("buffer", buffer, minimum=0)
    cap = check_integer("cap", cap, minimum=current_rank)
    threshold = check_in_interval("threshold", threshold, 0.0, 1.0, closed="right")
    check_choice("ratio", ratio, RATIO_KINDS)
    s = backend.to_numpy(s)
    rho = backend.to_numpy(explained_ratio(s, ratio, length))  # (len(s) + 1,)
    top = max(current_rank, min(current_rank + buffer, cap, s.size))
    for k in range(current_rank, top + 1):  # a handful of scalar comparisons
        if k < rho.size and rho[k] > threshold:
            return k
    return top


def cost_model(shapes, batch, ranks=None, base=False):
    r"""Parameter and multiply-add counts of one training step.

    Parameters
    ----------
    shapes : sequence of (int, int)
        ``(m, n)`` of every layer, first layer first.
    batch : int
        Samples per step.
    ranks : sequence of int, optional
        Trained columns ``k`` per layer; None means dense (full-rank) training.
    base : bool
        Whether a frozen ``W0`` is also applied (InRank's adaptive stage).

    Returns
    -------
    counts : dict
        ``trainable`` and ``stored`` parameter counts, ``macs_forward``,
        ``macs_backward`` and ``macs_step`` (their sum).

    Notes
    -----
    Per layer with input gradient (every layer but the first), dense:
    ``3 m n B``; factored: ``3 (m + n) k B``, plus ``2 m n B`` for a frozen base:

    .. math::

        \text{dense: } \underbrace{mnB}_{WA} + \underbrace{mnB}_{\delta A^\top}
        + \underbrace{mnB}_{W^\top\delta},\qquad
        \text{factored: } (m + n)kB + (2m + n)kB + nkB.

    Element-wise work (activations, the loss) is not counted.

    References
    ----------
    Zhao et al. (2024), Section 5 (efficiency).

    Examples
    --------
    >>> cost_model([(1024, 1024)], 1, ranks=[32])["trainable"]
    65536
    >>> c = cost_model([(64, 64), (64, 64)], 10)
    >>> c["macs_step"] == 5 * 64 * 64 * 10
    True
    """
    shapes = [
        (check_integer("shapes", m, minimum=1), check_integer("shapes", n, minimum=1))
        for m, n in shapes
    ]
    batch = check_integer("batch", batch, minimum=1)
    if ranks is not None and len(ranks) != len(shapes):
        raise ValueError(f"ranks: expected {len(shapes)} entries, received {len(ranks)}")
    trainable = stored = fwd = bwd = 0
    for i, (m, n) in enumerate(shapes):
        need_input = i > 0
        if ranks is None:
            trainable += m * n
            stored += m * n
            fwd += m * n * batch
            bwd += m * n * batch * (2 if need_input else 1)
            continue
        k = check_integer("ranks", ranks[i], minimum=1, maximum=min(m, n))
        trainable += (m + n) * k
        stored += (m + n) * k + (m * n if base else 0)
        fwd += (m + n) * k * batch + (m * n * batch if base else 0)
        bwd += (2 * m + n) * k * batch
        if need_input:
            bwd += n * k * batch + (m * n * batch if base else 0)
    return {
        "trainable": trainable,
        "stored": stored,
        "macs_forward": fwd,
        "macs_backward": bwd,
        "macs_step": fwd + bwd,
    }


@dataclass
class InRankResult:
    """What :func:`inrank`, :func:`inrank_efficient` and :func:`full_rank_train` recorded.

    Attributes
    ----------
    steps : ndarray of int, shape (R,)
        Recorded steps (0 is the initialization).
    loss : ndarray, shape (R,)
        Full-data loss ``½‖f(X) − Y‖²_F / n_samples``.
    ranks : ndarray of int, shape (R, n_layers)
        Rank of every layer's update (full rank ``min(m, n)`` for dense training).
    active : ndarray of int, shape (R, n_layers)
        Trained factor columns (rank + buffer in the adaptive stage).
    weights : list of ndarray
        Final dense weights ``W0 + U_k V_kᵀ``.
    layers : list
        Final layer objects (factors included).
    counts_full, counts_final : dict
        :func:`cost_model` of full-rank training and of the final low-rank
        configuration (per step, at the training batch size).
    wall_time : ndarray, shape (R,)
        Seconds spent training (steps, rank checks, truncation) up to each record; the
        loss evaluations of the records themselves are not counted.
    stage2_step : int or None
        First step of the fixed-rank stage (efficient variant).
    truncation_loss : tuple of float or None
        Loss just before and just after the SVD truncation.
    """

    steps: object
    loss: object
    ranks: object
    active: object
    weights: list
    layers: list
    counts_full: dict
    counts_final: dict
    wall_time: object = None
    stage2_step: int | None = None
    truncation_loss: tuple | None = None


def _full_loss(layers, X, Y, activation):
    xp = backend.array_namespace(X)
    out = predict(layers, X, activation)
    return 0.5 * float(xp.sum((out - Y) ** 2)) / X.shape[1]


def _layer_rank(layer):
    return getattr(layer, "rank", min(layer.shape))


def _run(
    layers,
    X,
    Y,
    lr,
    steps,
    activation,
    optimizer,
    schedule,
    record_every,
    adam_options,
    rule=None,
    step_offset=0,
    records=None,
):
    """The shared training loop; ``rule(step, layers)`` may grow ranks before a step."""
    opt = make_optimizer(optimizer, lr, adam_options)
    if records is None:
        records = {"steps": [], "loss": [], "ranks": [], "act": [], "time": [], "clock": 0.0}

    def record(step, value):
        records["time"].append(records["clock"])
        records["steps"].append(step)
        records["loss"].append(value)
        records["ranks"].append([_layer_rank(layer) for layer in layers])
        records["act"].append([getattr(layer, "active", min(layer.shape)) for layer in layers])

    # Overflow is reported by check_divergence as a DivergenceError, not as warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for local in range(steps + 1):
            step = step_offset + local
            if local == steps or local % record_every == 0:
                value = _full_loss(layers, X, Y, activation)
                check_divergence(value, step, lr)
                if not (records["steps"] and records["steps"][-1] == step):
                    record(step, value)
            if local == steps:
                break
            started = time.perf_counter()  # the clock counts training, not the records
            if rule is not None:
                rule(step + 1, layers)
            Xb, Yb = schedule.next(X, Y)
            value, grads = forward_backward(layers, Xb, Yb, activation)
            check_divergence(value, step, lr)  # mini-batch loss of the iterate after `step`
            opt.begin_step()
            for i, (layer, g) in enumerate(zip(layers, grads, strict=True)):
                keys = layer.param_keys()
                updates = [
                    opt.update((i, name), gi, shape=shape, cols=cols)
                    for (name, shape, cols), gi in zip(keys, g, strict=True)
                ]
                layer.apply(updates)
            records["clock"] += time.perf_counter() - started
    return records


def _result(records, layers, batch, stage2_step=None, truncation_loss=None, base=False):
    shapes = [layer.shape for layer in layers]
    active = [getattr(layer, "active", None) for layer in layers]
    low = None if any(a is None for a in active) else active
    final_base = base and all(getattr(layer, "base", None) is not None for layer in layers)
    return InRankResult(
        steps=np.asarray(records["steps"], dtype=int),
        loss=np.asarray(records["loss"], dtype=float),
        ranks=np.asarray(records["ranks"], dtype=int),
        active=np.asarray(records["act"], dtype=int),
        wall_time=np.asarray(records["time"], dtype=float),
        weights=[layer.dense() for layer in layers],
        layers=layers,
        counts_full=cost_model(shapes, batch),
        counts_final=cost_model(shapes, batch, low, base=final_base)
        if low
        else cost_model(shapes, batch),
        stage2_step=stage2_step,
        truncation_loss=truncation_loss,
    )


def full_rank_train(
    weights,
    X,
    Y,
    lr,
    steps,
    *,
    activation="linear",
    optimizer="gd",
    batch_size=None,
    record_every=1,
    rng=None,
    adam_options=None,
):
    """Dense (full-rank) training with the same loop as InRank, for comparisons.

    Parameters are as in :func:`inrank`. Returns an :class:`InRankResult` whose ranks
    are ``min(m, n)`` per layer.

    Examples
    --------
    >>> import numpy as np
    >>> res = full_rank_train([np.zeros((1, 1))], np.ones((1, 4)), np.ones((1, 4)), 0.5, 20)
    >>> bool(res.loss[-1] < 1e-10)
    True
    """
    check_choice("activation", activation, ACTIVATIONS)
    weights, X, Y = check_network(weights, X, Y)
    lr = check_positive("lr", lr)
    steps = check_integer("steps", steps, minimum=0)
    record_every = check_integer("record_every", record_every, minimum=1)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    rng = as_generator(rng)
    layers = [DenseLayer(w.copy()) for w in weights]
    schedule = MiniBatches(X.shape[1], batch_size, rng, optimizer)
    records = _run(
        layers, X, Y, lr, steps, activation, optimizer, schedule, record_every, adam_options
    )
    return _result(records, layers, schedule.batch_size)


def _make_inrank_layers(weights, initial_rank, buffer, rank_cap, init_scale, rng):
    layers = []
    if isinstance(rank_cap, list | tuple) and len(rank_cap) != len(weights):
        raise ValueError(
            f"rank_cap: expected one cap per layer ({len(weights)}), received {len(rank_cap)}"
        )
    for i, w in enumerate(weights):
        m, n = w.shape
        cap = rank_cap[i] if isinstance(rank_cap, list | tuple) else rank_cap
        cap = max(1, min(m, n) // 2) if cap is None else cap
        cap = check_integer(f"rank_cap (layer {i}, shape {w.shape})", cap, 1, min(m, n))
        r0 = check_integer(f"initial_rank (layer {i}, cap {cap})", initial_rank, 1, cap)
        b = min(100, max(1, cap // 4)) if buffer is None else buffer
        b = check_integer("buffer", b, minimum=0)
        alloc = min(cap + b, min(m, n))
        U = backend.asarray(init_scale * rng.standard_normal((m, alloc)), like=w)  # host draw
        V = backend.array_namespace(w).zeros((n, alloc), dtype=w.dtype)
        layer = LowRankUpdateLayer(w.copy(), U, V, active=min(r0 + b, alloc))
        layer.rank, layer.cap, layer.buffer = r0, cap, b
        layers.append(layer)
    return layers


def _rank_rule(warmup, gap, threshold, ratio):
    def rule(step, layers):
        if step <= warmup or step % gap != 0:
            return
        for layer in layers:
            if layer.rank >= layer.cap:
                continue
            s = layer.update_singular_values()  # the leading `active`; the rest are 0
            layer.rank = select_rank(
                s, layer.rank, layer.buffer, layer.cap, threshold, ratio, min(layer.shape)
            )
            layer.active = min(layer.rank + layer.buffer, layer.allocated)

    return rule


def _check_inrank_options(lr, steps, threshold, ratio, warmup, gap, init_scale, record_every):
    return (
        check_positive("lr", lr),
        check_integer("steps", steps, minimum=0),
        check_in_interval("threshold", threshold, 0.0, 1.0, closed="right"),
        check_choice("ratio", ratio, RATIO_KINDS),
        check_integer("warmup", warmup, minimum=0),
        check_integer("gap", gap, minimum=1),
        check_positive("init_scale", init_scale),
        check_integer("record_every", record_every, minimum=1),
    )


def inrank(
    weights,
    X,
    Y,
    lr,
    steps,
    *,
    activation="linear",
    optimizer="gd",
    threshold=0.9,
    ratio="variance",
    initial_rank=2,
    buffer=None,
    warmup=200,
    gap=25,
    rank_cap=None,
    init_scale=1e-2,
    batch_size=None,
    record_every=1,
    rng=None,
    adam_options=None,
):
    r"""InRank: train ``W = W0 + U Vᵀ`` for every layer with an incrementally growing rank.

    Parameters
    ----------
    weights : list of ndarray
        The initialization ``W0`` of every layer (frozen), e.g. from
        :func:`~refimpl.inrank.init.orthogonal_init` or :func:`~refimpl.inrank.mlp.mlp_init`.
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)
    lr : float
        Learning rate ``> 0``.
    steps : int
    activation : {"linear", "relu"}
        "linear": the deep linear network; "relu": the MLP (ReLU between layers).
    optimizer : {"gd", "sgd", "adam"}
    threshold : float
        Explained-ratio threshold in ``(0, 1]`` (default 0.9).
    ratio : {"variance", "energy"}
        Explained-ratio definition; "variance" is the official code's.
    initial_rank : int
        Starting rank, ``1 ≤ initial_rank ≤ cap``.
    buffer : int, optional
        Extra directions (default ``min(100, max(1, cap // 4))``).
    warmup, gap : int
        Rank checks happen at steps ``> warmup`` divisible by ``gap``.
    rank_cap : int or sequence of int, optional
        Cap on the rank, one for all layers or one per layer, ``1 ≤ cap ≤ min(m, n)``
        (out of range raises ValueError); default ``min(m, n) // 2`` per layer.
    init_scale : float
        Standard deviation ``> 0`` of the initial entries of ``U`` (``V`` starts at 0;
        ``U = V = 0`` would be a saddle point that never moves).
    batch_size : int, optional
        Mini-batch size; default ``max(1, n_samples // 8)`` for "sgd", else full batch.
    record_every : int
    rng : numpy.random.Generator or int, optional
    adam_options : dict, optional

    Returns
    -------
    InRankResult

    Raises
    ------
    ValueError
        Bad shapes or data, ``lr ≤ 0``, a threshold outside ``(0, 1]``, a rank cap or
        initial rank out of range.
    refimpl.validation.DivergenceError
        If the loss becomes non-finite.

    Notes
    -----
    .. math::

        W_l = W_{0,l} + U_l V_l^\top,\qquad
        r_l \leftarrow \min\{k \in [r_l, \min(r_l + b, \text{cap})] : \rho(k) > \text{threshold}\}

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Algorithm 1.
    """
    check_choice("activation", activation, ACTIVATIONS)
    weights, X, Y = check_network(weights, X, Y)
    lr, steps, threshold, ratio, warmup, gap, init_scale, record_every = _check_inrank_options(
        lr, steps, threshold, ratio, warmup, gap, init_scale, record_every
    )
    check_choice("optimizer", optimizer, OPTIMIZERS)
    rng = as_generator(rng)
    layers = _make_inrank_layers(weights, initial_rank, buffer, rank_cap, init_scale, rng)
    schedule = MiniBatches(X.shape[1], batch_size, rng, optimizer)
    records = _run(
        layers,
        X,
        Y,
        lr,
        steps,
        activation,
        optimizer,
        schedule,
        record_every,
        adam_options,
        rule=_rank_rule(warmup, gap, threshold, ratio),
    )
    return _result(records, layers, schedule.batch_size, base=True)


def _truncate(layer, truncate, xp):
    """SVD-truncate a layer to its adapted rank (balanced factors ``P √S``, ``Q √S``)."""
    r = layer.rank
    matrix = layer.dense() if truncate == "weight" else layer.update()
    u, s, vt = xp.linalg.svd(matrix, full_matrices=False)
    root = xp.sqrt(s[:r])
    base = None if truncate == "weight" else layer.base
    new = LowRankUpdateLayer(base, u[:, :r] * root, vt[:r].T * root, active=r)
    new.rank, new.cap, new.buffer = r, layer.cap, 0
    return new


def inrank_efficient(
    weights,
    X,
    Y,
    lr,
    steps,
    adapt_steps,
    *,
    truncate="weight",
    activation="linear",
    optimizer="gd",
    threshold=0.9,
    ratio="variance",
    initial_rank=2,
    buffer=None,
    warmup=200,
    gap=25,
    rank_cap=None,
    init_scale=1e-2,
    batch_size=None,
    record_every=1,
    rng=None,
    adam_options=None,
):
    r"""Efficient two-stage InRank: adapt the rank, truncate by SVD, train at fixed rank.

    Parameters
    ----------
    weights, X, Y, lr, steps
        As in :func:`inrank`; ``steps`` counts both stages.
    adapt_steps : int
        Length of the rank-adaptive stage (about one epoch in the paper),
        ``0 ≤ adapt_steps ≤ steps``.
    truncate : {"weight", "update"}
        "weight": replace ``W0 + U Vᵀ`` by its rank-``r`` truncation ``P Qᵀ`` (the
        official code's ``resize``; no ``W0`` afterwards, hence fast). "update": keep
        ``W0`` and truncate ``U Vᵀ`` to rank ``r`` (the paper's form; fewer trained
        parameters, but ``W0`` still costs a dense product).
    Other keyword arguments
        As in :func:`inrank`; the fixed-rank stage uses a fresh optimizer state.

    Returns
    -------
    InRankResult
        With ``stage2_step = adapt_steps`` and ``truncation_loss`` (before, after).

    Notes
    -----
    Stage 2 trains :math:`W = P Q^\top` (or :math:`W_0 + PQ^\top`) with
    :math:`P = U_r \Sigma_r^{1/2}`, :math:`Q = V_r \Sigma_r^{1/2}` from the SVD
    :math:`U \Sigma V^\top` of the truncated matrix.

    .. math:: W \approx \mathrm{svd}_r(W_0 + UV^\top)

    References
    ----------
    Zhao et al. (2024), Section 5 ("efficient InRank"); official code ``resize``.
    """
    check_choice("activation", activation, ACTIVATIONS)
    weights, X, Y = check_network(weights, X, Y)
    lr, steps, threshold, ratio, warmup, gap, init_scale, record_every = _check_inrank_options(
        lr, steps, threshold, ratio, warmup, gap, init_scale, record_every
    )
    adapt_steps = check_integer("adapt_steps", adapt_steps, minimum=0, maximum=steps)
    check_choice("truncate", truncate, ("weight", "update"))
    check_choice("optimizer", optimizer, OPTIMIZERS)
    rng = as_generator(rng)
    xp = backend.array_namespace(X)
    layers = _make_inrank_layers(weights, initial_rank, buffer, rank_cap, init_scale, rng)
    schedule = MiniBatches(X.shape[1], batch_size, rng, optimizer)
    records = _run(
        layers,
        X,
        Y,
        lr,
        adapt_steps,
        activation,
        optimizer,
        schedule,
        record_every,
        adam_options,
        rule=_rank_rule(warmup, gap, threshold, ratio),
    )
    before = _full_loss(layers, X, Y, activation)
    started = time.perf_counter()
    layers = [_truncate(layer, truncate, xp) for layer in layers]
    records["clock"] += time.perf_counter() - started
    after = _full_loss(layers, X, Y, activation)
    check_divergence(after, adapt_steps, lr)
    records = _run(
        layers,
        X,
        Y,
        lr,
        steps - adapt_steps,
        activation,
        optimizer,
        schedule,
        record_every,
        adam_options,
        step_offset=adapt_steps,
        records=records,
    )
    return _result(
        records,
        layers,
        schedule.batch_size,
        stage2_step=adapt_steps,
        truncation_loss=(before, after),
        base=truncate == "update",
    )
