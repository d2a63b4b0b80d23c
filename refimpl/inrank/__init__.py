"""Incremental low-rank learning: three-layer linear networks, mode dynamics, and InRank.

Zhao, Zhang, Chen, Schäfer & Anandkumar, "InRank: Incremental Low-Rank Learning"
(TMLR 2024) observe that the cumulative weight updates ``W_t − W_0`` of a deep
network trained from an orthogonal init learn the target's singular directions one at
a time, largest first, and exploit it by training ``W = W0 + U Vᵀ`` with a growing rank.

Modules
-------
core
    Start here: the network, the mode dynamics' closed forms, the rank rule, one InRank
    step and the training loop as plain array code (a readable core, not public API).
network
    The linear network ``W_L⋯W_1 x``, loss and hand-written gradients.
init
    Orthogonal, aligned ("spectral") and small Gaussian initializations.
data
    Teacher data with chosen singular values, whitened or correlated inputs, noise.
optim
    Gradient descent / SGD and Adam, and the mini-batch schedule.
layers, backprop
    Dense and low-rank-update layers (which keep InRank's rank state) and the one
    forward/backward pass through a list of them.
loop
    The one training loop behind :func:`train`, full-rank training and InRank.
train
    :func:`train` with tracking of cumulative updates, effective ranks, learned steps.
rank
    Energy- and variance-based explained ratios, effective rank, InRank's rank rule.
dynamics
    Mode dynamics (Saxe et al.): the mode ODE, null modes, the closed forms of the
    readable core behind the contract (strength, the depth-3 time ``F``, learning times)
    and the SciPy references (LSODA integration, quadrature) for other depths.
algorithm, efficient, truncation, cost, results
    The InRank algorithm; its efficient variant (adapt, truncate, train at fixed rank);
    truncation through the factors; parameter and multiply-add counts; the result.
mlp, mlp_task
    A two-layer ReLU MLP with hand-written backprop and a synthetic nonlinear teacher.
experiments
    The runs behind the figures and the tutorial (staircase, MLP comparison).
attention, transformer, corpus, heldout, transformer_train, transformer_experiments
    A small NumPy transformer (attention with hand-written backward passes), its
    character corpus and held-out split, its training loop (dense or InRank layers),
    and the runs behind the transformer figure.

Derivations: ``docs/derivations/inrank.md``.

Conventions: ``X`` has shape ``(n_in, n_samples)`` (columns are samples); the loss is
``½‖f(X) − Y‖²_F / n_samples``; with whitened inputs gradient descent with learning
rate ``η`` has time scale ``τ = 1/η``.
"""

from refimpl.inrank import (
    algorithm,
    attention,
    backprop,
    corpus,
    cost,
    dynamics,
    experiments,
    heldout,
    layers,
    mlp,
    mlp_task,
    optim,
    rank,
    transformer,
    transformer_experiments,
    transformer_train,
    truncation,
)
from refimpl.inrank.algorithm import full_rank_train, inrank
from refimpl.inrank.data import Teacher, teacher, teacher_data, whiten
from refimpl.inrank.efficient import inrank_efficient
from refimpl.inrank.init import (
    aligned_init,
    orthogonal_init,
    random_orthogonal,
    small_gaussian_init,
)
from refimpl.inrank.network import end_to_end, forward, gradients, loss
from refimpl.inrank.rank import effective_rank, explained_ratio
from refimpl.inrank.results import InRankResult
from refimpl.inrank.train import TrainResult, train

__all__ = [
    "inrank",
    "inrank_efficient",
    "full_rank_train",
    "InRankResult",
    "attention",
    "backprop",
    "corpus",
    "heldout",
    "transformer",
    "transformer_experiments",
    "transformer_train",
    "algorithm",
    "cost",
    "truncation",
    "experiments",
    "layers",
    "mlp",
    "mlp_task",
    "optim",
    "rank",
    "Teacher",
    "TrainResult",
    "aligned_init",
    "dynamics",
    "effective_rank",
    "end_to_end",
    "explained_ratio",
    "forward",
    "gradients",
    "loss",
    "orthogonal_init",
    "random_orthogonal",
    "small_gaussian_init",
    "teacher",
    "teacher_data",
    "train",
    "whiten",
]
