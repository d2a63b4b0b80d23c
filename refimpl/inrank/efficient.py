r"""Efficient two-stage InRank: adapt the rank, truncate, then train at fixed rank.

:func:`inrank_efficient` is a composition of three steps, each of which lives in its
own module:

1. :func:`refimpl.inrank.algorithm.inrank` for ``adapt_steps`` steps (the rank grows);
2. a truncation of every layer to its adapted rank ``r``
   (:mod:`refimpl.inrank.truncation`), either of the whole weight ``W0 + U Vᵀ`` (as the
   official code's ``resize`` does with its ``B·A``: no ``W0`` afterwards, hence the
   speed-up) or of the update ``U Vᵀ`` alone (``W0`` stays);
3. fixed-rank training of the truncated factors by the same training loop
   (:func:`refimpl.inrank.loop.run_training`), its step count continuing the first's.

Neither truncation forms an SVD of an ``m × n`` weight: the update is truncated
through thin QRs of its factors in ``O((m + n) k²)``, the whole weight by randomized
subspace iteration in ``O(m n r)``.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank import orthogonal_init, teacher, teacher_data
>>> from refimpl.inrank.efficient import inrank_efficient
>>> t = teacher([3.0, 2.0], 8, 8, rng=0)
>>> X, Y = teacher_data(t.target, 16, rng=1)
>>> res = inrank_efficient(orthogonal_init((8, 8, 8), 0.5, rng=2), X, Y, 0.05, 200, 100,
...                        truncate="update", warmup=20, record_every=50, rng=3)
>>> res.stage2_step, res.steps.tolist()
(100, [0, 50, 100, 150, 200])
"""

from __future__ import annotations

import inspect
import time

from refimpl.inrank.algorithm import inrank
from refimpl.inrank.backprop import check_layers
from refimpl.inrank.layers import LowRankUpdateLayer
from refimpl.inrank.loop import TrainingLog, check_loss, full_loss, run_training
from refimpl.inrank.results import build_result
from refimpl.inrank.truncation import truncate_update, truncate_weight
from refimpl.validation import as_generator, check_choice, check_integer

__all__ = ["TRUNCATIONS", "inrank_efficient", "truncate_layer"]

TRUNCATIONS = ("weight", "update")

#: The keyword arguments of :func:`inrank` that the fixed-rank stage uses too.
_SHARED = ("activation", "optimizer", "batch_size", "record_every", "adam_options")


def truncate_layer(layer, truncate="weight", rng=None):
    r"""The layer truncated to its rank ``r``: ``P Qᵀ`` (or ``W0 + P Qᵀ``) with ``r`` columns.

    Parameters
    ----------
    layer : LowRankUpdateLayer
        An adapted layer ``W0 + U_k V_kᵀ`` with ``rank = r``.
    truncate : {"weight", "update"}
        "weight": rank-``r`` approximation of the whole weight, no base afterwards;
        "update": keep ``W0`` and truncate ``U_k V_kᵀ`` (exact, through the factors).
    rng : numpy.random.Generator or int, optional
        Test matrix of the randomized "weight" truncation.

    Returns
    -------
    LowRankUpdateLayer
        ``rank = active = cap = r``, ``buffer = 0``, balanced factors.

    Notes
    -----
    .. math:: W \approx \mathrm{svd}_r(W_0 + U_kV_k^\top) = P Q^\top,\qquad
              P = A_r\Sigma_r^{1/2},\ Q = B_r\Sigma_r^{1/2}

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5;
    Halko, Martinsson & Tropp, SIAM Review 2011.

    Examples
    --------
    >>> import numpy as np
    >>> layer = LowRankUpdateLayer(np.eye(3), np.ones((3, 2)), np.ones((3, 2)), rank=1)
    >>> truncate_layer(layer, "update").dense().round(12).tolist()  # U₁V₁ᵀ has rank 1
    [[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]
    """
    if not isinstance(layer, LowRankUpdateLayer):
        raise ValueError(f"layer: expected a LowRankUpdateLayer, received {layer!r}")
    check_choice("truncate", truncate, TRUNCATIONS)
    k, r = layer.active, layer.rank
    U, V = layer.U[:, :k], layer.V[:, :k]
    if truncate == "update" or layer.base is None:
        P, Q = truncate_update(U, V, r)
    else:
        P, Q = truncate_weight(layer.base, U, V, r, rng=rng)
    return layer.with_factors(P, Q, keep_base=truncate == "update")


def inrank_efficient(weights, X, Y, lr, steps, adapt_steps, *, truncate="weight", **options):
    r"""Efficient two-stage InRank: :func:`inrank`, a truncation, then fixed-rank training.

    Parameters
    ----------
    weights, X, Y, lr
        As in :func:`refimpl.inrank.algorithm.inrank`.
    steps : int
        Steps of both stages together.
    adapt_steps : int
        Length of the rank-adaptive stage (about one epoch in the paper),
        ``0 ≤ adapt_steps ≤ steps``.
    truncate : {"weight", "update"}
        "weight": replace ``W0 + U Vᵀ`` by a rank-``r`` approximation ``P Qᵀ`` (the
        official code's ``resize``; no ``W0`` afterwards, hence fast). "update": keep
        ``W0`` and truncate ``U Vᵀ`` to rank ``r`` (the paper's form; fewer trained
        parameters, but ``W0`` still costs a dense product).
    **options
        Keyword arguments of :func:`~refimpl.inrank.algorithm.inrank` (``threshold``,
        ``warmup``, ``rng``, ...); an unknown one raises ValueError naming it.
        ``activation``, ``optimizer``, ``batch_size``, ``record_every`` and
        ``adam_options`` apply to both stages; the fixed-rank stage starts a fresh
        optimizer state, and ``rng`` also draws its mini-batches.

    Returns
    -------
    InRankResult
        With ``stage2_step = adapt_steps`` and ``truncation_loss`` (before, after).

    Notes
    -----
    Stage 2 trains :math:`W = P Q^\top` (or :math:`W_0 + PQ^\top`) from the balanced
    factors of the truncation (:func:`truncate_layer`):

    .. math:: W \approx \mathrm{svd}_r(W_0 + UV^\top)

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Section 5
    ("efficient InRank"); official code ``resize``.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.inrank import orthogonal_init
    >>> X = np.eye(6) * np.sqrt(6); Y = np.diag([3.0, 2, 1, 0, 0, 0]) @ X
    >>> res = inrank_efficient(orthogonal_init((6, 6, 6), 0.3, rng=0), X, Y, 0.05, 400, 200,
    ...                        warmup=50, gap=10, record_every=100, rng=1)
    >>> res.layers[0].base is None, res.ranks[-1].tolist() == res.active[-1].tolist()
    (True, True)
    """
    known = list(inspect.signature(inrank).parameters)[5:]  # the keyword-only options
    for key in options:
        if key not in known:
            raise ValueError(
                f"{key}: unknown option of inrank_efficient; expected keys among {known}"
            )
    check_choice("truncate", truncate, TRUNCATIONS)
    steps = check_integer("steps", steps, minimum=0)
    adapt_steps = check_integer("adapt_steps", adapt_steps, minimum=0)
    if adapt_steps > steps:
        raise ValueError(
            f"adapt_steps: expected at most steps = {steps} (both stages together), "
            f"received {adapt_steps}"
        )
    rng = as_generator(options.pop("rng", None))  # one stream for both stages
    first = inrank(weights, X, Y, lr, adapt_steps, rng=rng, **options)
    X, Y = check_layers(first.layers, X, Y)
    activation = options.get("activation", "linear")
    before = float(first.loss[-1])
    started = time.perf_counter()
    layers = [truncate_layer(layer, truncate, rng) for layer in first.layers]
    elapsed = time.perf_counter() - started
    after = full_loss(layers, X, Y, activation)
    check_loss(after, adapt_steps, hint=f"try a smaller learning rate than lr={lr}")
    log = TrainingLog(
        steps=list(first.steps), loss=list(first.loss), ranks=first.ranks.tolist(),
        active=first.active.tolist(), wall_time=list(first.wall_time),
        clock=float(first.wall_time[-1]) + elapsed,
    )  # fmt: skip
    shared = {key: options[key] for key in _SHARED if key in options}
    run_training(
        layers, X, Y, lr, steps - adapt_steps, rng=rng, step_offset=adapt_steps, log=log,
        **shared,
    )  # fmt: skip
    return build_result(log, layers, stage2_step=adapt_steps, truncation_loss=(before, after))
