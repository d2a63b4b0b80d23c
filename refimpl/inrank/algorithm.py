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

Defaults follow the official code: threshold 0.9, initial rank 2, buffer 100 (here
``min(100, max(1, cap // 4))`` unless given, so that small problems keep a buffer below
their size), warm-up 200, gap 25, cap ``min(m, n) // 2``.

Differences from the official code (github.com/jiaweizzhao/InRank,
``InRankEfficient``):

* The code parameterizes the *whole* weight as ``B·A`` from a Kaiming init, with no
  ``W0``. Here the paper's form ``W0 + U Vᵀ`` is used: ``U`` starts small and random,
  ``V`` at zero, so training starts exactly at ``W0``.
* The code's search loop stops one short (it tries ``k < min(rank + buffer, cap −
  buffer)``) and bounds the rank by ``cap − buffer``; here the candidates include
  ``rank + buffer`` and the rank itself is bounded by ``cap``, with at most
  ``min(cap + buffer, min(m, n))`` columns allocated.

The efficient two-stage variant (:func:`~refimpl.inrank.efficient.inrank_efficient`)
is :func:`inrank` for the adaptive stage, a truncation
(:mod:`refimpl.inrank.truncation`) and fixed-rank training. The rank rule
(:func:`~refimpl.inrank.rank.select_rank`) lives with the rank measures, the cost
model (:func:`~refimpl.inrank.cost.cost_model`) in its own module, and one training
loop (:func:`~refimpl.inrank.loop.run_training`) serves :func:`inrank`,
:func:`full_rank_train` and :func:`refimpl.inrank.train`. Each layer keeps its own rank
state (:class:`~refimpl.inrank.layers.LowRankUpdateLayer`). The derivation of the
rank rule and of the variance ratio is in ``docs/derivations/inrank.md``.

References
----------
.. [1] J. Zhao, Y. Zhang, B. Chen, F. Schäfer, A. Anandkumar, "InRank: Incremental
   Low-Rank Learning", TMLR 2024, arXiv:2306.11250, Algorithm 1 and Section 5.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.algorithm import inrank
>>> X = np.eye(4) * 2.0; Y = np.diag([3.0, 0, 0, 0]) @ X
>>> res = inrank([np.zeros((4, 4))], X, Y, 0.1, 100, warmup=10, gap=10, initial_rank=1, rng=0)
>>> res.ranks[-1].tolist(), res.active[-1].tolist(), bool(res.loss[-1] < 1e-20)
([1], [2], True)
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.inrank.backprop import ACTIVATIONS
from refimpl.inrank.layers import DenseLayer, LowRankUpdateLayer
from refimpl.inrank.loop import run_training
from refimpl.inrank.network import check_network
from refimpl.inrank.optim import OPTIMIZERS
from refimpl.inrank.rank import RATIO_KINDS, select_rank
from refimpl.inrank.results import build_result
from refimpl.validation import (
    as_generator,
    check_array_size,
    check_choice,
    check_divergence,
    check_in_interval,
    check_integer,
    check_positive,
    finite_or_overflow,
)

__all__ = ["inrank", "full_rank_train"]


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
    r"""Dense (full-rank) training with the same loop as InRank, for comparisons.

    Parameters
    ----------
    weights, X, Y, lr, steps
        As in :func:`inrank`; ``weights`` are copied, not modified.
    activation, optimizer, batch_size, record_every, rng, adam_options
        As in :func:`inrank`.

    Returns
    -------
    InRankResult
        Ranks ``min(m, n)`` per layer.

    Notes
    -----
    .. math:: W_l \leftarrow W_l - \eta\, \nabla_{W_l}\mathcal L \quad(\text{or Adam})

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5 (the
    full-rank baseline).

    Examples
    --------
    >>> import numpy as np
    >>> res = full_rank_train([np.zeros((1, 1))], np.ones((1, 4)), np.ones((1, 4)), 0.5, 20)
    >>> bool(res.loss[-1] < 1e-10)
    True
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    weights, X, Y = check_network(weights, X, Y, need="XY")
    layers = [DenseLayer(w.copy()) for w in weights]
    log = run_training(
        layers, X, Y, lr, steps, optimizer=optimizer, activation=activation,
        batch_size=batch_size, rng=rng, adam_options=adam_options, record_every=record_every,
    )  # fmt: skip
    return build_result(log, layers)


def make_inrank_layers(weights, initial_rank, buffer, rank_cap, init_scale, rng):
    """InRank's layers ``W0 + U Vᵀ``: ``U`` small and random, ``V = 0`` (see :func:`inrank`)."""
    if isinstance(rank_cap, list | tuple) and len(rank_cap) != len(weights):
        raise ValueError(
            f"rank_cap: expected one cap per layer ({len(weights)}), received {len(rank_cap)}"
        )
    if buffer is not None:
        buffer = check_integer("buffer", buffer, minimum=0)
    layers = []
    for i, w in enumerate(weights):
        m, n = w.shape
        cap = rank_cap[i] if isinstance(rank_cap, list | tuple) else rank_cap
        cap = max(1, min(m, n) // 2) if cap is None else cap
        cap = check_integer(f"rank_cap (layer {i}, shape {w.shape})", cap, 1, min(m, n))
        start = min(2, cap) if initial_rank is None else initial_rank  # official: 2
        rank = check_integer(f"initial_rank (layer {i}, cap {cap})", start, 1, cap)
        b = min(100, max(1, cap // 4)) if buffer is None else buffer
        allocated = min(cap + b, min(m, n))
        check_array_size("weights", (m + n, allocated))
        with np.errstate(over="ignore"):  # reported below, naming init_scale
            U = init_scale * rng.standard_normal((m, allocated))  # (m, allocated) on the host
        U = backend.asarray(finite_or_overflow(U, "init_scale", "lower init_scale"), like=w)
        V = backend.array_namespace(w).zeros((n, allocated), dtype=w.dtype)
        layers.append(LowRankUpdateLayer(w.copy(), U, V, rank=rank, buffer=b, cap=cap))
    return layers


def rank_rule(warmup, gap, threshold, ratio):
    """``before_step`` hook of the training loop: InRank's rank checks."""

    def rule(step, layers):
        if step <= warmup or step % gap != 0:
            return
        for layer in layers:
            if layer.rank < layer.cap:
                s = layer.update_singular_values()  # the leading `active`; the rest are 0
                check_divergence(s, step, "the update's singular values", "lower lr")
                layer.rank = select_rank(
                    s, layer.rank, layer.buffer, layer.cap, threshold, ratio, min(layer.shape)
                )

    return rule


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
    initial_rank=None,
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
    initial_rank : int, optional
        Starting rank, ``1 ≤ initial_rank ≤ cap``; by default ``min(2, cap)`` (the
        official code starts at 2, which a layer of cap 1 cannot hold).
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
        Draws the initial ``U``, then the mini-batch order.
    adam_options : dict, optional
        ``beta1``, ``beta2``, ``eps`` of Adam (only with "adam"; unknown keys raise).

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

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.inrank import orthogonal_init, teacher, teacher_data
    >>> t = teacher([3.0, 2.0, 1.0], 16, 16, rng=0)
    >>> X, Y = teacher_data(t.target, 64, rng=1)
    >>> res = inrank(orthogonal_init((16, 16, 16, 16), 0.5, rng=2), X, Y, lr=0.05, steps=600,
    ...              warmup=100, gap=25, initial_rank=1, buffer=2, rng=3, record_every=100)
    >>> res.ranks[-1].tolist(), res.active[-1].tolist()  # active = rank + buffer columns
    ([3, 2, 2], [5, 4, 4])
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("ratio", ratio, RATIO_KINDS)
    weights, X, Y = check_network(weights, X, Y, need="XY")
    threshold = check_in_interval("threshold", threshold, 0.0, 1.0, closed="right")
    warmup = check_integer("warmup", warmup, minimum=0)
    gap = check_integer("gap", gap, minimum=1)
    init_scale = check_positive("init_scale", init_scale)
    rng = as_generator(rng)
    layers = make_inrank_layers(weights, initial_rank, buffer, rank_cap, init_scale, rng)
    log = run_training(
        layers, X, Y, lr, steps, optimizer=optimizer, activation=activation,
        batch_size=batch_size, rng=rng, adam_options=adam_options, record_every=record_every,
        before_step=rank_rule(warmup, gap, threshold, ratio),
    )  # fmt: skip
    return build_result(log, layers)
