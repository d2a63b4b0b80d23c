r"""The one training loop of :mod:`refimpl.inrank`.

:func:`refimpl.inrank.train` (the tracked deep linear network),
:func:`refimpl.inrank.algorithm.full_rank_train` and InRank (both stages of the
efficient variant too) all run :func:`run_training`: a list of layers
(:mod:`refimpl.inrank.layers`), mini-batches, an optimizer, and two hooks, one called
before every step (InRank's rank rule) and one at every record (what each caller
tracks). Records are taken at step 0, every ``record_every`` steps and at the last
step, with the full-data loss; a non-finite loss stops the run with a
:class:`~refimpl.validation.DivergenceError` naming the first step where it occurred.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.layers import DenseLayer
>>> from refimpl.inrank.loop import run_training
>>> log = run_training([DenseLayer(np.zeros((1, 1)))], np.ones((1, 4)), np.ones((1, 4)),
...                    lr=0.5, steps=4, record_every=2)
>>> log.steps, [round(v, 4) for v in log.loss]
([0, 2, 4], [0.5, 0.0312, 0.002])
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from refimpl import backend
from refimpl.inrank.backprop import check_layers, forward_backward_unchecked, predict_unchecked
from refimpl.inrank.optim import MiniBatches, make_optimizer
from refimpl.validation import (
    as_generator,
    check_array_size,
    check_divergence,
    check_integer,
    check_positive,
)

__all__ = ["TrainingLog", "check_loss", "full_loss", "run_training"]


@dataclasses.dataclass
class TrainingLog:
    """What :func:`run_training` recorded; a later stage appends to the same log.

    Attributes
    ----------
    steps, loss, ranks, active, wall_time : list
        Per record: the step, the full-data loss, every layer's ``rank`` and ``active``
        columns, and the seconds spent training (not recording) so far.
    clock : float
        Seconds spent training so far.
    batch_size : int or None
        The mini-batch size of the last stage.
    """

    steps: list = dataclasses.field(default_factory=list)
    loss: list = dataclasses.field(default_factory=list)
    ranks: list = dataclasses.field(default_factory=list)
    active: list = dataclasses.field(default_factory=list)
    wall_time: list = dataclasses.field(default_factory=list)
    clock: float = 0.0
    batch_size: int | None = None

    def record(self, step, value, layers):
        """Append one record (unless ``step`` is already the last one recorded)."""
        if self.steps and self.steps[-1] == step:
            return False
        self.steps.append(step)
        self.loss.append(value)
        self.ranks.append([layer.rank for layer in layers])
        self.active.append([layer.active for layer in layers])
        self.wall_time.append(self.clock)
        return True


def full_loss(layers, X, Y, activation="linear"):
    """Full-data loss ``½‖f(X) − Y‖²_F / n_samples`` as a Python float."""
    xp = backend.array_namespace(X)
    residual = predict_unchecked(layers, X, activation) - Y
    return 0.5 * float(xp.sum(residual * residual)) / X.shape[1]


def check_loss(value, step, hint):
    """DivergenceError for a non-finite loss after ``step ≥ 1`` updates; at 0, bad input."""
    if step == 0 and not math.isfinite(value):
        raise ValueError("weights, X, Y: the initial loss overflows float64 (rescale the data)")
    if step > 0:
        check_divergence(value, step, hint=hint)


def run_training(
    layers,
    X,
    Y,
    lr,
    steps,
    *,
    optimizer="gd",
    activation="linear",
    batch_size=None,
    rng=None,
    adam_options=None,
    record_every=1,
    before_step=None,
    on_record=None,
    step_offset=0,
    log=None,
):
    r"""Train ``layers`` in place for ``steps`` optimizer steps and record the loss.

    Parameters
    ----------
    layers : list of DenseLayer or LowRankUpdateLayer
        Trained in place.
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)
    lr : float
        Learning rate ``> 0``.
    steps : int
        Number of steps ``≥ 0``.
    optimizer : {"gd", "sgd", "adam"}
    activation : {"linear", "relu"}
    batch_size : int, optional
        As in :class:`~refimpl.inrank.optim.MiniBatches`.
    rng : numpy.random.Generator or int, optional
        Mini-batch order.
    adam_options : dict, optional
        ``beta1``, ``beta2``, ``eps`` (only with "adam").
    record_every : int
    before_step : callable, optional
        ``before_step(step, layers)`` before the update that produces ``step``
        (InRank's rank rule).
    on_record : callable, optional
        ``on_record(step, layers)`` after each new record.
    step_offset : int
        Number of the first step (a second stage continues the first's count).
    log : TrainingLog, optional
        Appended to (a record at ``step_offset`` already there is not repeated).

    Returns
    -------
    TrainingLog

    Notes
    -----
    .. math:: \theta_{k+1} = \theta_k + \mathrm{optimizer}(\nabla_\theta \mathcal L_{B_k})

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024, Algorithm 1.
    """
    X, Y = check_layers(layers, X, Y)
    lr = check_positive("lr", lr)
    steps = check_integer("steps", steps, minimum=0)
    record_every = check_integer("record_every", record_every, minimum=1)
    # every record keeps the loss, the step and each layer's rank: refuse what cannot fit
    check_array_size("steps, record_every", (steps // record_every + 2, 2 + len(layers)))
    opt = make_optimizer(optimizer, lr, adam_options)
    batches = MiniBatches(X.shape[1], batch_size, as_generator(rng), optimizer)
    log = TrainingLog() if log is None else log
    log.batch_size = batches.batch_size
    hint = f"try a smaller learning rate than lr={lr}"
    # Overflow is reported by check_divergence as a DivergenceError, not as warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for local in range(steps + 1):
            step = step_offset + local
            if local == steps or local % record_every == 0:
                value = full_loss(layers, X, Y, activation)
                check_loss(value, step, hint)
                if log.record(step, value, layers) and on_record is not None:
                    on_record(step, layers)
            if local == steps:
                break
            started = time.perf_counter()  # the clock counts training, not the records
            if before_step is not None:
                before_step(step + 1, layers)
            Xb, Yb = batches._next(X, Y)  # unchecked: X, Y were checked once
            value, grads = forward_backward_unchecked(layers, Xb, Yb, activation)
            check_loss(value, step, hint)  # the mini-batch loss of the iterate at `step`
            opt.begin_step()
            for i, (layer, g) in enumerate(zip(layers, grads, strict=True)):
                updates = [
                    opt._update((i, name), gi, shape=shape, cols=cols)
                    for (name, shape, cols), gi in zip(layer.param_keys(), g, strict=True)
                ]
                layer._apply(updates)
            log.clock += time.perf_counter() - started
    return log
