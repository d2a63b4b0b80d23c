"""Contract specs for ``refimpl.nn`` and ``refimpl.cgd.gan`` (the GAN of issue 12).

Every call is tiny (networks of a few units, batches of a few samples) so that the
sweep stays fast. Games are built inside ``call`` from fresh seeds, so each bad
call starts from the same state.
"""

import numpy as np
from contract import Spec

from refimpl import nn
from refimpl.cgd import gan

CONTAINER = "a result container: it holds what it is given, by design"
INTERNAL = "internal state built by MLP.linearize, not user input"


def _game(loss="wgan", seed=0):
    return gan.GANGame(
        nn.MLP((2, 3, 2), "tanh"), nn.MLP((2, 3, 1), "tanh"), gan.two_modes(), 4, loss, seed
    )


def _point():
    game = _game()
    return game.generator.init(1), game.discriminator.init(2)


def _x():
    return _point()[0]


def _y():
    return _point()[1]


NET = nn.MLP((2, 3, 1), "tanh")


def _theta():
    return NET.init(0) + 0.1


def _X():
    return np.linspace(-1.0, 1.0, 8).reshape(4, 2)


def _game_method(method, **extra):
    def call(**kwargs):
        return getattr(_game("cross_entropy"), method)(**kwargs)

    def valid():
        return {"x": _x(), "y": _y(), **{k: v() for k, v in extra.items()}}

    return Spec(f"cgd.gan.GANGame.{method}", call, valid)


def _bad_states():
    """Optimizer states that do not fit the game of _game(): wrong shapes, types, signs."""
    n, m = _x().shape[0], _y().shape[0]
    z, w = np.zeros(n), np.zeros(m)
    adam = [
        gan.AdamState(1, np.zeros(2), np.zeros(2), w, w),
        gan.AdamState("a", z, z, w, w),
        gan.AdamState(-1, z, z, w, w),
        gan.AdamState(1, z, -np.ones(n), w, w),
        gan.AdamState(1, np.full(n, np.nan), z, w, w),
    ]
    alternating = [
        gan.AlternatingACGDState(1, np.zeros(2), w),
        gan.AlternatingACGDState(-1, z, w),
        gan.AlternatingACGDState(1, z, w, np.zeros(3)),
        gan.AlternatingACGDState(1, z, w, None, None, "no"),
        gan.AlternatingACGDState(1, -np.ones(n), w),
    ]
    return adam, alternating


BAD_ADAM_STATES, BAD_ALTERNATING_STATES = _bad_states()


def _n():
    return _x().shape[0]


def _m():
    return _y().shape[0]


SPECS = [
    # ------------------------------------------------------------------ refimpl.nn
    Spec(
        "nn.MLP",
        nn.MLP,
        lambda: {
            "widths": (2, 3, 1),
            "activation": "leaky_relu",
            "bias": True,
            "negative_slope": 0.1,
        },
    ),
    Spec("nn.MLP.init", lambda rng, scale: NET.init(rng, scale), lambda: {"rng": 3, "scale": 1.0}),
    Spec("nn.MLP.unflatten", lambda theta: NET.unflatten(theta), lambda: {"theta": _theta()}),
    Spec(
        "nn.MLP.forward",
        lambda theta, X: NET.forward(theta, X),
        lambda: {"theta": _theta(), "X": _X()},
        accepts={"X": {"one row short"}},  # any batch size: samples are rows
    ),
    Spec(
        "nn.MLP.linearize",
        lambda theta, X, dtheta, dX: NET.linearize(theta, X, dtheta, dX),
        lambda: {"theta": _theta(), "X": _X(), "dtheta": _theta(), "dX": _X()},
        accepts={"dtheta": {"None"}, "dX": {"None"}},  # None: no tangent there
    ),
    Spec(
        "nn.Trace.backward",
        lambda cotangent, cotangent_tangent: NET.linearize(_theta(), _X(), _theta()).backward(
            cotangent, cotangent_tangent
        ),
        lambda: {"cotangent": np.ones((4, 1)), "cotangent_tangent": np.ones((4, 1))},
        accepts={"cotangent_tangent": {"None"}},  # None: no tangent pass
    ),
    Spec(
        "nn.Trace",
        lambda net, theta, X, dtheta, dX: nn.Trace(net, theta, X, dtheta, dX),
        lambda: {"net": NET, "theta": _theta(), "X": _X(), "dtheta": _theta(), "dX": _X()},
        accepts={"dtheta": {"None"}, "dX": {"None"}},  # None: no tangent there
    ),
    Spec(
        "nn.Gradients",
        nn.Gradients,
        lambda: {"theta": np.ones(2), "input": np.ones((1, 1))},
        skip={"theta": CONTAINER, "input": CONTAINER},
    ),
    Spec(
        "nn.activation_derivatives",
        nn.activation_derivatives,
        lambda: {"name": "tanh", "z": np.array([-1.0, 0.5]), "negative_slope": 0.2},
        accepts={"z": "*"},  # elementwise: an array of any shape, a scalar or nothing
    ),
    Spec(
        "nn.squared_error",
        nn.squared_error,
        lambda: {"net": NET, "theta": _theta(), "X": _X(), "Y": np.ones((4, 1))},
    ),
    Spec(
        "nn.squared_error_hvp",
        nn.squared_error_hvp,
        lambda: {"net": NET, "theta": _theta(), "X": _X(), "Y": np.ones((4, 1)), "v": _theta()},
    ),
    # ------------------------------------------------------------------ data
    Spec(
        "cgd.gan.GaussianMixture",
        gan.GaussianMixture,
        lambda: {
            "means": np.array([[0.0, 1.0], [2.0, 0.0]]),
            "std": 0.1,
            "weights": np.array([0.3, 0.7]),
        },
        accepts={"weights": {"None"}},  # None: equal weights
    ),
    Spec(
        "cgd.gan.GaussianMixture.sample",
        lambda size, rng: gan.two_modes().sample(size, rng),
        lambda: {"size": 5, "rng": 0},
        kinds={"size": "size"},
    ),
    Spec("cgd.gan.two_modes", gan.two_modes, lambda: {"std": 0.1}),
    Spec("cgd.gan.ring", gan.ring, lambda: {"n_modes": 8, "radius": 1.0, "std": 0.05}),
    Spec("cgd.gan.mixture_1d", gan.mixture_1d, lambda: {"separation": 4.0, "std": 0.5}),
    # ------------------------------------------------------------------ the game
    Spec(
        "cgd.gan.GANGame",
        gan.GANGame,
        lambda: {
            "generator": nn.MLP((2, 3, 2)),
            "discriminator": nn.MLP((2, 3, 1)),
            "data": gan.two_modes(),
            "batch_size": 4,
            "loss": "cross_entropy",
            "rng": 0,
        },
        kinds={"batch_size": "size"},
    ),
    _game_method("f"),
    _game_method("g"),
    _game_method("grad_x_f"),
    _game_method("grad_y_g"),
    _game_method("dxy_f", v=_y),
    _game_method("dyx_g", u=_x),
    _game_method("dxx_f", u=_x),
    _game_method("dyy_g", v=_y),
    _game_method("dxy_f_matrix"),  # the protocol's defaults, inherited from cgd.Game
    _game_method("dyx_g_matrix"),
    Spec(
        "cgd.gan.GANGame.set_batch",
        lambda real, noise: _game().set_batch(real, noise),
        lambda: {"real": np.ones((3, 2)), "noise": np.zeros((2, 2))},
        accepts={
            "real": {"one row short"},
            "noise": {"one row short"},
        },  # any batch size: samples are rows
    ),
    Spec("cgd.gan.GANGame.resample", lambda: _game().resample(), dict),
    Spec(
        "cgd.gan.GANGame.sample",
        lambda x, size, rng: _game().sample(x, size, rng),
        lambda: {"x": _x(), "size": 6, "rng": 1},
        kinds={"size": "size"},
    ),
    # ------------------------------------------------------------------ optimizers
    Spec(
        "cgd.gan.adam_step",
        gan.adam_step,
        lambda: {
            "game": _game(),
            "x": _x(),
            "y": _y(),
            "eta_x": 0.01,
            "eta_y": 0.01,
            "state": None,
            "beta1": 0.5,
            "beta2": 0.999,
            "eps": 1e-8,
        },
        extra=[("state", state) for state in BAD_ADAM_STATES],
    ),
    Spec(
        "cgd.gan.acgd_alternating_step",
        gan.acgd_alternating_step,
        lambda: {
            "game": _game(),
            "x": _x(),
            "y": _y(),
            "eta_x": 0.01,
            "eta_y": 0.01,
            "state": None,
            "beta": 0.99,
            "eps": 1e-5,
            "tol": 1e-12,
            "maxiter": 40,
        },
        extra=[("state", state) for state in BAD_ALTERNATING_STATES],
        accepts={"maxiter": {"None"}},  # None: the dimension of the system
    ),
    Spec(
        "cgd.gan.AdamState",
        gan.AdamState,
        lambda: {
            "t": 1,
            "m_x": np.zeros(2),
            "v_x": np.zeros(2),
            "m_y": np.zeros(1),
            "v_y": np.zeros(1),
        },
        skip={k: CONTAINER for k in ("t", "m_x", "v_x", "m_y", "v_y")},
    ),
    Spec(
        "cgd.gan.AlternatingACGDState",
        gan.AlternatingACGDState,
        lambda: {"t": 1, "v_x": np.zeros(2), "v_y": np.zeros(1)},
        skip={k: CONTAINER for k in ("t", "v_x", "v_y")},
    ),
    Spec(
        "cgd.gan.AlternatingInfo",
        gan.AlternatingInfo,
        lambda: {"solved": "x", "iterations": 3, "residual": 1e-9, "converged": True},
        skip={k: CONTAINER for k in ("solved", "iterations", "residual", "converged")},
    ),
    # ------------------------------------------------------------------ training
    Spec(
        "cgd.gan.train_gan",
        gan.train_gan,
        lambda: {
            "game": _game(),
            "method": "acgd",
            "x0": _x(),
            "y0": _y(),
            "budget": 30,
            "eta": 0.01,
            "options": {"tol": 1e-10},
            "records": 2,
            "on_failure": "raise",
            "max_steps": None,
        },
        timeout=10.0,
    ),
    Spec(
        "cgd.gan.GANRun",
        gan.GANRun,
        lambda: dict.fromkeys(
            (
                "method",
                "x",
                "y",
                "steps_taken",
                "status",
                "message",
                "stopped_at",
                "gradient_evaluations",
                "hvp_evaluations",
                "costs",
                "snapshots",
                "gradient_norms",
                "inner_iterations",
            ),
            0,
        ),
        skip=dict.fromkeys(
            (
                "method",
                "x",
                "y",
                "steps_taken",
                "status",
                "message",
                "stopped_at",
                "gradient_evaluations",
                "hvp_evaluations",
                "costs",
                "snapshots",
                "gradient_norms",
                "inner_iterations",
            ),
            CONTAINER,
        ),
    ),
    Spec(
        "cgd.gan.compare_gan_methods",
        gan.compare_gan_methods,
        lambda: {
            "data": gan.mixture_1d(),
            "methods": ("adam", "acgd"),
            "seeds": (0,),
            "budget": 20,
            "eta": 0.01,
            "loss": "wgan",
            "hidden": (3,),
            "noise_dim": 2,
            "batch_size": 4,
            "activation": "tanh",
            "records": 2,
            "n_eval": 10,
        },
        kinds={"budget": "size", "batch_size": "size", "n_eval": "size", "noise_dim": "size"},
        timeout=10.0,
    ),
    # ------------------------------------------------------------------ metrics
    Spec(
        "cgd.gan.mode_fractions",
        gan.mode_fractions,
        lambda: {
            "samples": np.array([[0.7, 0.7], [1.0, 0.1], [3.0, 3.0]]),
            "data": gan.two_modes(),
            "radius": 3.0,
        },
        accepts={"samples": {"one row short"}},  # any batch size: samples are rows
    ),
    Spec(
        "cgd.gan.modes_covered",
        gan.modes_covered,
        lambda: {
            "samples": np.array([[0.7, 0.7], [1.0, 0.1], [3.0, 3.0]]),
            "data": gan.two_modes(),
            "radius": 3.0,
            "min_share": 0.25,
        },
        accepts={"samples": {"one row short"}},  # any batch size: samples are rows
    ),
    Spec(
        "cgd.gan.energy_distance",
        gan.energy_distance,
        lambda: {"a": np.array([[0.0, 1.0], [1.0, 0.0]]), "b": np.array([[0.5, 0.5]])},
        accepts={
            "a": {"one row short"},
            "b": {"one row short"},
        },  # any batch size: samples are rows
    ),
    Spec(
        "cgd.gan.wasserstein_1d",
        gan.wasserstein_1d,
        lambda: {"a": np.array([0.0, 1.0, 2.0]), "b": np.array([0.5, 1.5])},
        accepts={
            "a": {"one row short"},
            "b": {"one row short"},
        },  # any batch size: samples are rows
    ),
]

EXEMPT = {}
