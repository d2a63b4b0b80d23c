"""What a training run of :mod:`refimpl.inrank.algorithm` returns.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.algorithm import full_rank_train
>>> res = full_rank_train([np.eye(2)], np.eye(2), np.eye(2), 0.1, 3)
>>> res.counts_full["trainable"], res.ranks[-1].tolist()
(4, [2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl.inrank.cost import cost_model
from refimpl.inrank.layers import LowRankUpdateLayer

__all__ = ["InRankResult", "build_result"]


@dataclass
class InRankResult:
    r"""What :func:`inrank`, :func:`inrank_efficient` and :func:`full_rank_train` recorded.

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
        Final layer objects (factors and rank state included).
    counts_full, counts_final : dict
        :func:`~refimpl.inrank.cost.cost_model` of full-rank training and of the final
        configuration (per step, at the training batch size).
    wall_time : ndarray, shape (R,)
        Seconds spent training (steps, rank checks, truncation) up to each record; the
        loss evaluations of the records themselves are not counted.
    stage2_step : int or None
        First step of the fixed-rank stage (efficient variant).
    truncation_loss : tuple of float or None
        Loss just before and just after the truncation.

    Notes
    -----
    A container: :math:`\text{loss}_j = \mathcal L(W(\text{steps}_j))`.

    References
    ----------
    Zhao et al., "InRank: Incremental Low-Rank Learning", TMLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.inrank.algorithm import full_rank_train
    >>> res = full_rank_train([np.zeros((1, 1))], np.ones((1, 2)), np.ones((1, 2)), 0.5, 2)
    >>> res.steps.tolist(), res.ranks[:, 0].tolist()
    ([0, 1, 2], [1, 1, 1])
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


def build_result(log, layers, stage2_step=None, truncation_loss=None):
    """An :class:`InRankResult` from a :class:`~refimpl.inrank.loop.TrainingLog`."""
    shapes = [layer.shape for layer in layers]
    low_rank = all(isinstance(layer, LowRankUpdateLayer) for layer in layers)
    with_base = low_rank and all(layer.base is not None for layer in layers)
    ranks = [layer.active for layer in layers] if low_rank else None
    return InRankResult(
        steps=np.asarray(log.steps, dtype=int),
        loss=np.asarray(log.loss, dtype=float),
        ranks=np.asarray(log.ranks, dtype=int),
        active=np.asarray(log.active, dtype=int),
        wall_time=np.asarray(log.wall_time, dtype=float),
        weights=[layer.dense() for layer in layers],
        layers=layers,
        counts_full=cost_model(shapes, log.batch_size),
        counts_final=cost_model(shapes, log.batch_size, ranks, base=with_base),
        stage2_step=stage2_step,
        truncation_loss=truncation_loss,
    )
