"""Contract specs for ``refimpl.inrank``: every public name of the subpackage and its
public submodules, the public methods that take user input, and unknown options.

Every valid call is tiny (widths of 3–6, a handful of steps), so the whole sweep of
the subpackage stays within a minute.
"""

import dataclasses

import numpy as np
from contract import Spec, UnknownOption

from refimpl import inrank
from refimpl.inrank import (
    algorithm,
    backprop,
    cost,
    dynamics,
    experiments,
    layers,
    mlp,
    mlp_task,
    optim,
    rank,
    truncation,
)

# Mutations these functions accept by design: a network with one layer fewer is still a
# network ("one short" of square weights); a shorter spectrum, matrix or list of times is
# still one ("one row short"); None selects the documented default; the dynamics
# broadcast array_like inputs ("array", "extra axis", "empty", "0-d"); spectra may be
# batched along leading axes ("extra axis").
ONE_FEWER_LAYER = {"weights": {"one short"}}
SPECTRUM = {"s": {"extra axis", "one row short"}, "length": {"None"}}

RNG = np.random.default_rng(0)
TEACHER = inrank.teacher([2.0, 1.0], 4, 4, rng=0)
X, Y = inrank.teacher_data(TEACHER.target, 8, rng=1)
WEIGHTS = inrank.orthogonal_init((4, 4, 4, 4), 0.5, rng=2)
TASK = mlp_task.relu_teacher(4, 2, 8, rng=3, teacher_hidden=2)
MLP_WEIGHTS = mlp.mlp_init(4, 6, 2, rng=4)
U = RNG.standard_normal((5, 3))
V = RNG.standard_normal((4, 3))
BASE = RNG.standard_normal((5, 4))
TRAIN_RESULT = inrank.train(WEIGHTS, X, Y, 0.05, 4)


def _weights():
    return [w.copy() for w in WEIGHTS]


def _layers():
    return [layers.DenseLayer(w.copy()) for w in WEIGHTS]


INRANK_CALL = {"lr": 0.05, "steps": 6, "warmup": 2, "gap": 2, "initial_rank": 1, "rng": 5}
SPECS = [
    # --- top level
    Spec(
        "inrank.aligned_init",
        inrank.aligned_init,
        lambda: {"target": TEACHER.target.copy(), "scale": 0.5, "rng": 0},
        accepts={"target": {"one row short"}},
    ),
    Spec(
        "inrank.orthogonal_init",
        inrank.orthogonal_init,
        lambda: {"widths": (3, 4, 2), "scale": 0.5, "rng": 0},
        kinds={"widths": "object"},
    ),
    Spec(
        "inrank.random_orthogonal",
        inrank.random_orthogonal,
        lambda: {"rows": 3, "cols": 4, "rng": 0},
        kinds={"rows": "size", "cols": "size"},
    ),
    Spec(
        "inrank.small_gaussian_init",
        inrank.small_gaussian_init,
        lambda: {"widths": (3, 4, 2), "std": 0.1, "rng": 0},
        kinds={"widths": "object"},
    ),
    Spec(
        "inrank.teacher",
        inrank.teacher,
        lambda: {"singular_values": np.array([2.0, 1.0]), "n_out": 3, "n_in": 4, "rng": 0},
        kinds={"n_out": "size", "n_in": "size"},
        accepts={"singular_values": {"one row short"}},
    ),
    Spec(
        "inrank.teacher_data",
        inrank.teacher_data,
        lambda: {
            "target": TEACHER.target.copy(),
            "n_samples": 6,
            "rng": 0,
            "input_spectrum": np.array([2.0, 1.0, 1.0, 0.5]),
            "noise": 0.1,
        },
        kinds={"n_samples": "size"},
        accepts={"target": {"one row short"}, "input_spectrum": {"None"}},
    ),
    Spec(
        "inrank.whiten",
        inrank.whiten,
        lambda: {"Z": RNG.standard_normal((3, 6))},
        accepts={"Z": {"one row short"}},
    ),
    Spec(
        "inrank.end_to_end",
        inrank.end_to_end,
        lambda: {"weights": _weights()},
        accepts=ONE_FEWER_LAYER,
    ),
    Spec(
        "inrank.forward",
        inrank.forward,
        lambda: {"weights": _weights(), "X": X.copy()},
        accepts=ONE_FEWER_LAYER,
    ),
    Spec(
        "inrank.loss",
        inrank.loss,
        lambda: {"weights": _weights(), "X": X.copy(), "Y": Y.copy()},
        accepts=ONE_FEWER_LAYER,
    ),
    Spec(
        "inrank.gradients",
        inrank.gradients,
        lambda: {"weights": _weights(), "X": X.copy(), "Y": Y.copy()},
        accepts=ONE_FEWER_LAYER,
    ),
    Spec(
        "inrank.train",
        inrank.train,
        lambda: {
            "weights": _weights(),
            "X": X.copy(),
            "Y": Y.copy(),
            "lr": 0.05,
            "steps": 4,
            "optimizer": "adam",
            "record_every": 2,
            "rng": 0,
            "target": TEACHER.target.copy(),
            "rank_threshold": 0.9,
            "adam_options": {"beta1": 0.9},
            "record_updates": False,
        },
        accepts={"weights": {"one short"}, "target": {"None"}},
    ),
    Spec(
        "inrank.TrainResult.learned_steps",
        lambda fraction: TRAIN_RESULT.learned_steps(fraction),
        lambda: {"fraction": 0.5},
    ),
    Spec(
        "inrank.explained_ratio",
        inrank.explained_ratio,
        lambda: {"s": np.array([3.0, 1.0, 0.5]), "kind": "variance", "length": 5},
        kinds={"length": "size"},
        accepts=SPECTRUM,
    ),
    Spec(
        "inrank.effective_rank",
        inrank.effective_rank,
        lambda: {"s": np.array([3.0, 1.0, 0.5]), "threshold": 0.9, "kind": "energy", "length": 5},
        kinds={"length": "size"},
        accepts=SPECTRUM,
    ),
    # --- rank
    Spec(
        "inrank.rank.check_spectrum",
        rank.check_spectrum,
        lambda: {"name": "s", "s": np.array([2.0, 1.0])},
        skip={"name": "the argument's name, any string is accepted"},
        accepts={"s": {"extra axis", "one row short"}},
    ),
    Spec(
        "inrank.rank.select_rank",
        rank.select_rank,
        lambda: {
            "s": np.array([4.0, 2.0, 1.0, 0.5]),
            "current_rank": 1,
            "buffer": 2,
            "cap": 3,
            "threshold": 0.9,
            "ratio": "variance",
            "length": 8,
        },
        kinds={"length": "size", "buffer": "size", "cap": "size"},
        accepts={"s": {"one row short"}, "length": {"None"}},
    ),
    # --- cost and truncation
    Spec(
        "inrank.cost.cost_model",
        cost.cost_model,
        lambda: {"shapes": [(8, 6), (4, 8)], "batch": 3, "ranks": [2, 2], "base": True},
        kinds={"shapes": "object", "ranks": "object", "batch": "size"},
        accepts={"ranks": {"None"}},
    ),
    Spec(
        "inrank.truncation.truncate_update",
        truncation.truncate_update,
        lambda: {"U": U.copy(), "V": V.copy(), "rank": 2},
        accepts={"U": {"one row short"}, "V": {"one row short"}},
    ),
    Spec(
        "inrank.truncation.truncate_weight",
        truncation.truncate_weight,
        lambda: {
            "base": BASE.copy(),
            "U": U.copy(),
            "V": V.copy(),
            "rank": 2,
            "rng": 0,
            "power_iterations": 1,
            "oversampling": 1,
        },
        accepts={"base": {"one row short"}},
    ),
    # --- dynamics
    Spec(
        "inrank.dynamics.mode_ode_rhs",
        dynamics.mode_ode_rhs,
        lambda: {"u": 0.5, "s": 2.0, "depth": 3, "tau": 1.0},
        accepts={"u": {"array"}, "s": {"array"}},
    ),
    Spec(
        "inrank.dynamics.mode_strength",
        dynamics.mode_strength,
        lambda: {"s": np.array([2.0, 1.0, 0.0]), "u0": 1e-3, "t": 5.0, "depth": 3, "tau": 2.0},
        accepts={
            "s": {"0-d", "empty", "extra axis", "one row short"},
            "u0": {"array"},
            "t": {"array"},
        },
    ),
    Spec(
        "inrank.dynamics.mode_strength[depth 2]",
        dynamics.mode_strength,
        lambda: {"s": 2.0, "u0": 1e-3, "t": 5.0, "depth": 2, "tau": 2.0},
        accepts={"s": {"array"}, "u0": {"array"}, "t": {"array"}},
    ),
    Spec(
        "inrank.dynamics.mode_time",
        dynamics.mode_time,
        lambda: {"s": 2.0, "u0": 1e-3, "u1": 1.0, "depth": 3, "tau": 2.0},
        accepts={"s": {"array"}, "u0": {"array"}, "u1": {"array"}},
    ),
    Spec(
        "inrank.dynamics.null_mode_strength",
        dynamics.null_mode_strength,
        lambda: {"u0": 0.1, "t": 3.0, "depth": 3, "tau": 1.0},
        accepts={"u0": {"array"}, "t": {"array"}},
    ),
    Spec(
        "inrank.dynamics.time_function_depth3",
        dynamics.time_function_depth3,
        lambda: {"a": 0.5, "s": 2.0},
        accepts={"a": {"array"}, "s": {"array"}},
    ),
    Spec(
        "inrank.dynamics.learning_time",
        dynamics.learning_time,
        lambda: {"s": np.array([4.0, 2.0]), "u0": 1e-3, "depth": 3, "fraction": 0.5, "tau": 1.0},
        names={"u0": ("u0, fraction",), "fraction": ("u0, fraction",)},
        accepts={"s": {"0-d", "empty", "extra axis", "one row short"}, "u0": {"array"}},
    ),
    Spec(
        "inrank.dynamics.learning_order",
        dynamics.learning_order,
        lambda: {"s": np.array([1.0, 3.0, 2.0])},
        accepts={"s": {"empty", "one row short"}},
    ),
    Spec(
        "inrank.dynamics.learning_time_asymptotic",
        dynamics.learning_time_asymptotic,
        lambda: {"s": 2.0, "a0": 0.01, "depth": 3, "tau": 1.0},
        accepts={"s": {"array"}, "a0": {"array"}},
    ),
    Spec(
        "inrank.dynamics.aligned_update_singular_values",
        dynamics.aligned_update_singular_values,
        lambda: {
            "s": np.array([2.0, 1.0]),
            "scale": 0.1,
            "t": np.array([0.0, 10.0]),
            "depth": 3,
            "tau": 1.0,
            "n_modes": 3,
        },
        kinds={"n_modes": "size"},
        accepts={"s": {"one row short"}, "t": {"empty", "one row short"}, "n_modes": {"None"}},
    ),
    # --- layers
    Spec(
        "inrank.layers.DenseLayer",
        layers.DenseLayer,
        lambda: {"W": BASE.copy()},
        accepts={"W": {"one row short"}},
    ),
    Spec(
        "inrank.layers.LowRankUpdateLayer",
        layers.LowRankUpdateLayer,
        lambda: {
            "base": BASE.copy(),
            "U": U.copy(),
            "V": V.copy(),
            "rank": 1,
            "buffer": 1,
            "cap": 3,
        },
        accepts={"base": {"None"}, "cap": {"None"}},
    ),
    Spec(
        "inrank.backprop.forward_backward",
        backprop.forward_backward,
        lambda: {"layers": _layers(), "X": X.copy(), "Y": Y.copy(), "activation": "relu"},
    ),
    Spec(
        "inrank.backprop.predict",
        backprop.predict,
        lambda: {"layers": _layers(), "X": X.copy(), "activation": "linear"},
    ),
    # --- optim
    Spec("inrank.optim.GradientDescent", optim.GradientDescent, lambda: {"lr": 0.1}),
    Spec(
        "inrank.optim.Adam",
        optim.Adam,
        lambda: {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8},
    ),
    Spec(
        "inrank.optim.make_optimizer",
        optim.make_optimizer,
        lambda: {"optimizer": "adam", "lr": 0.1, "adam_options": {"eps": 1e-6}},
    ),
    Spec(
        "inrank.optim.MiniBatches",
        optim.MiniBatches,
        lambda: {"n": 8, "batch_size": 2, "rng": 0, "optimizer": "sgd"},
        kinds={"n": "size"},
        accepts={"batch_size": {"None"}},
    ),
    Spec(
        "inrank.optim.Adam.update",
        lambda grad, cols: optim.Adam(0.1).update("w", grad, shape=(2, 3), cols=cols),
        lambda: {"grad": np.ones((2, 2)), "cols": 2},
    ),
    Spec(
        "inrank.optim.GradientDescent.update",
        lambda grad: optim.GradientDescent(0.1).update("w", grad),
        lambda: {"grad": np.ones((2, 2))},
        accepts={"grad": {"0-d", "empty", "extra axis", "one row short"}},
    ),
    # --- mlp
    Spec(
        "inrank.mlp_task.relu_teacher",
        mlp_task.relu_teacher,
        lambda: {
            "n_in": 3,
            "n_out": 2,
            "n_samples": 5,
            "rng": 0,
            "teacher_hidden": 2,
            "noise": 0.1,
        },
        kinds={"n_in": "size", "n_out": "size", "n_samples": "size", "teacher_hidden": "size"},
    ),
    Spec(
        "inrank.mlp.mlp_init",
        mlp.mlp_init,
        lambda: {"n_in": 3, "hidden": 4, "n_out": 2, "rng": 0, "scale": 1.0},
        kinds={"n_in": "size", "hidden": "size", "n_out": "size"},
    ),
    Spec(
        "inrank.mlp.mlp_forward",
        mlp.mlp_forward,
        lambda: {"weights": [w.copy() for w in MLP_WEIGHTS], "X": TASK.X.copy()},
    ),
    Spec(
        "inrank.mlp.mlp_loss",
        mlp.mlp_loss,
        lambda: {
            "weights": [w.copy() for w in MLP_WEIGHTS],
            "X": TASK.X.copy(),
            "Y": TASK.Y.copy(),
        },
    ),
    Spec(
        "inrank.mlp.mlp_gradients",
        mlp.mlp_gradients,
        lambda: {
            "weights": [w.copy() for w in MLP_WEIGHTS],
            "X": TASK.X.copy(),
            "Y": TASK.Y.copy(),
        },
    ),
    Spec(
        "inrank.mlp.train_mlp",
        mlp.train_mlp,
        lambda: {
            "weights": [w.copy() for w in MLP_WEIGHTS],
            "X": TASK.X.copy(),
            "Y": TASK.Y.copy(),
            "lr": 0.05,
            "steps": 3,
            "optimizer": "sgd",
            "record_every": 1,
            "rng": 0,
            "batch_size": 4,
        },
        extra=[("**", UnknownOption("bogus"))],
        accepts={"batch_size": {"None"}},
    ),
    # --- algorithm
    Spec(
        "inrank.algorithm.inrank",
        algorithm.inrank,
        lambda: {
            "weights": _weights(),
            "X": X.copy(),
            "Y": Y.copy(),
            **INRANK_CALL,
            "threshold": 0.9,
            "ratio": "energy",
            "buffer": 1,
            "rank_cap": 2,
            "init_scale": 0.01,
            "record_every": 2,
            "optimizer": "adam",
            "adam_options": {"beta2": 0.99},
            "activation": "relu",
        },
        kinds={"rank_cap": "int"},
        # None: the defaults (buffer from the cap, cap min(m, n)/2, initial rank min(2, cap))
        accepts={
            "weights": {"one short"},
            "buffer": {"None"},
            "rank_cap": {"None"},
            "initial_rank": {"None"},
        },
    ),
    Spec(
        "inrank.inrank_efficient",
        inrank.inrank_efficient,
        lambda: {
            "weights": _weights(),
            "X": X.copy(),
            "Y": Y.copy(),
            **INRANK_CALL,
            "adapt_steps": 4,
            "truncate": "weight",
            "buffer": 1,
            "record_every": 2,
        },
        extra=[("**", UnknownOption("bogus"))],
        accepts={"weights": {"one short"}, "buffer": {"None"}, "initial_rank": {"None"}},
    ),
    Spec(
        "inrank.algorithm.full_rank_train",
        algorithm.full_rank_train,
        lambda: {
            "weights": _weights(),
            "X": X.copy(),
            "Y": Y.copy(),
            "lr": 0.05,
            "steps": 4,
            "activation": "linear",
            "optimizer": "sgd",
            "batch_size": 4,
            "record_every": 2,
            "rng": 0,
            "adam_options": None,
        },
        accepts={"weights": {"one short"}, "batch_size": {"None"}},
    ),
    # --- experiments
    Spec(
        "inrank.experiments.log_spaced_indices",
        experiments.log_spaced_indices,
        lambda: {"steps": np.arange(50), "count": 5},
        kinds={"count": "size"},
        accepts={"steps": {"float dtype", "one row short"}},
    ),
    Spec(
        "inrank.experiments.staircase",
        experiments.staircase,
        lambda: {
            "sigmas": (0.1,),
            "singular_values": (2.0, 1.0),
            "n": 3,
            "lr": 0.05,
            "steps": 20,
            "n_samples": 6,
            "rank_threshold": 0.9,
            "input_spectrum": None,
            "rng": 0,
        },
        kinds={"sigmas": "object", "singular_values": "object", "n": "size", "n_samples": "size"},
        accepts={"n_samples": {"None"}},
    ),
    Spec(
        "inrank.experiments.mlp_comparison",
        experiments.mlp_comparison,
        lambda: {
            "n_in": 3,
            "hidden": 6,
            "n_out": 2,
            "teacher_hidden": 2,
            "n_samples": 8,
            "lr": 0.01,
            "steps": 6,
            "adapt_steps": 3,
            "optimizer": "adam",
            "record_every": 3,
            "rng": 0,
            "initial_rank": 1,
            "warmup": 1,
            "gap": 2,
        },
        kinds={
            "n_in": "size",
            "hidden": "size",
            "n_out": "size",
            "n_samples": "size",
            "teacher_hidden": "size",
        },
        accepts={"initial_rank": {"None"}},  # None: InRank's default, min(2, cap)
        extra=[("**", UnknownOption("bogus"))],
        timeout=10.0,
    ),
]

# --- methods of the layers and optimizers (issue 23). The layer of BASE maps inputs of
# shape (4, batch) to (5, batch); the low-rank one trains its first 2 factor columns.
_METHOD_RNG = np.random.default_rng(23)
LAYER_IN = _METHOD_RNG.standard_normal((4, 3))
LAYER_DELTA = _METHOD_RNG.standard_normal((5, 3))
LAYER_UPDATE = _METHOD_RNG.standard_normal(BASE.shape)
LOW_RANK_ACTIVE = 2
BATCH_X = _METHOD_RNG.standard_normal((3, 8))
BATCH_Y = _METHOD_RNG.standard_normal((2, 8))


def _dense_layer():
    return layers.DenseLayer(BASE.copy())


def _low_rank_layer():
    return layers.LowRankUpdateLayer(BASE.copy(), U.copy(), V.copy(), rank=1, buffer=1)


def _after_apply(layer, updates):
    layer.apply(updates)
    return layer.dense()  # the weight the update made, so the harness sees non-finite ones


def _backward_call(make_layer):
    def call(delta, A, cache, need_input):
        return make_layer().backward(delta, A, cache, need_input)

    return call


def _backward_valid(make_layer):
    def valid():
        layer = make_layer()
        return {
            "delta": LAYER_DELTA.copy(),
            "A": LAYER_IN.copy(),
            "cache": layer.forward(LAYER_IN)[1],
            "need_input": True,
        }

    return valid


# Any batch size and any number of features: samples are columns, so "one row short"
# is a valid mini-batch source with fewer features (or outputs).
ANY_FEATURES = {"X": {"one row short"}, "Y": {"one row short"}}

SPECS += [
    Spec(
        "inrank.layers.DenseLayer.forward",
        lambda A: _dense_layer().forward(A),
        lambda: {"A": LAYER_IN.copy()},
    ),
    Spec(
        "inrank.layers.DenseLayer.backward",
        _backward_call(_dense_layer),
        _backward_valid(_dense_layer),
    ),
    Spec(
        "inrank.layers.DenseLayer.apply",
        lambda updates: _after_apply(_dense_layer(), updates),
        lambda: {"updates": [LAYER_UPDATE.copy()]},
    ),
    Spec(
        "inrank.layers.LowRankUpdateLayer.forward",
        lambda A: _low_rank_layer().forward(A),
        lambda: {"A": LAYER_IN.copy()},
    ),
    Spec(
        "inrank.layers.LowRankUpdateLayer.backward",
        _backward_call(_low_rank_layer),
        _backward_valid(_low_rank_layer),
    ),
    Spec(
        "inrank.layers.LowRankUpdateLayer.apply",
        lambda updates: _after_apply(_low_rank_layer(), updates),
        lambda: {
            "updates": [
                np.full((U.shape[0], LOW_RANK_ACTIVE), 0.1),
                np.full((V.shape[0], LOW_RANK_ACTIVE), -0.1),
            ]
        },
    ),
    Spec(
        "inrank.layers.LowRankUpdateLayer.with_factors",
        lambda U, V, keep_base: _low_rank_layer().with_factors(U, V, keep_base),
        lambda: {"U": U[:, :2].copy(), "V": V[:, :2].copy(), "keep_base": True},
    ),
    Spec(
        "inrank.optim.MiniBatches.next",
        lambda X, Y: optim.MiniBatches(8, 2, 0, "sgd").next(X, Y),
        lambda: {"X": BATCH_X.copy(), "Y": BATCH_Y.copy()},
        accepts=ANY_FEATURES,
    ),
    Spec(
        "inrank.optim.MiniBatches.next[full batch]",
        lambda X, Y: optim.MiniBatches(8, None, 0, "gd").next(X, Y),
        lambda: {"X": BATCH_X.copy(), "Y": BATCH_Y.copy()},
        accepts=ANY_FEATURES,
    ),
]

_NO_ARGUMENTS = "takes no argument; the layer's arrays were checked when they were set"
_METHOD_EXEMPT = {
    "inrank.layers.DenseLayer.dense": _NO_ARGUMENTS,
    "inrank.layers.DenseLayer.param_keys": _NO_ARGUMENTS,
    "inrank.layers.LowRankUpdateLayer.dense": _NO_ARGUMENTS,
    "inrank.layers.LowRankUpdateLayer.param_keys": _NO_ARGUMENTS,
    "inrank.layers.LowRankUpdateLayer.update": _NO_ARGUMENTS,
    "inrank.layers.LowRankUpdateLayer.update_singular_values": _NO_ARGUMENTS,
    "inrank.optim.Adam.begin_step": "takes no argument; it counts one optimizer step",
    "inrank.optim.GradientDescent.begin_step": ("takes no argument; it counts one optimizer step"),
}

SPECS += [
    dataclasses.replace(spec, name=spec.name.replace("inrank.", "inrank.rank.", 1))
    for spec in SPECS
    if spec.name in ("inrank.explained_ratio", "inrank.effective_rank")
]

EXEMPT = {
    "inrank.Teacher": "a frozen dataclass holding a teacher's arrays; teacher() builds it",
    "inrank.TrainResult": "a result container built by train(); learned_steps has a spec",
    "inrank.InRankResult": "a result container built by inrank() and friends",
    "inrank.mlp_task.MLPTask": "a frozen dataclass holding a task's arrays; relu_teacher builds it",
}
EXEMPT.update(_METHOD_EXEMPT)
