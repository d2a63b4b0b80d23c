"""Contract specs for ``refimpl.cgd``: every public function, constructor and game method.

The valid calls use a 3 × 2 bilinear game (n = 3, m = 2), so the whole sweep is quick.
Misbehaving games (NaN, wrong shapes, complex or foreign arrays) are tried for every
``game`` argument, and an unknown keyword for every ``**options``.
"""

import numpy as np
from contract import ForeignArray, Spec, UnknownOption

from refimpl import cgd

A = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]])  # (n, m) = (3, 2)
P = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
Q = np.array([[1.0, 0.2], [0.2, 1.0]])


def x_start():
    return np.array([0.5, -0.2, 0.1])


def y_start():
    return np.array([0.3, 0.4])


class MisbehavingGame(cgd.Game):
    """A zero-sum 3 × 2 game whose every derivative returns something wrong."""

    n, m, zero_sum = 3, 2, True

    def __init__(self, mode):
        self.mode = mode

    def _bad(self, shape):
        if self.mode == "nan":
            return np.full(shape, np.nan)
        if self.mode == "shape":
            return np.zeros((shape[0] + 1, *shape[1:]))
        if self.mode == "complex":
            return np.zeros(shape) + 1j
        return ForeignArray(np.zeros(shape))

    def grad_x_f(self, x, y):
        return self._bad((3,))

    def grad_y_g(self, x, y):
        return self._bad((2,))

    def dxy_f(self, x, y, v):
        return self._bad((3, *v.shape[1:]))

    def dyx_g(self, x, y, u):
        return self._bad((2, *u.shape[1:]))

    dxx_f = dxy_f
    dyy_g = dyx_g

    def __repr__(self):
        return f"MisbehavingGame({self.mode!r})"


class HandGame(cgd.Game):
    """A game written by hand on the protocol, as a user would: f = xᵀAy, g = −f.

    It fills in the products only, so its dense blocks are :class:`cgd.Game`'s defaults.
    """

    n, m, zero_sum = 3, 2, True

    def grad_x_f(self, x, y):
        return A @ y

    def grad_y_g(self, x, y):
        return -A.T @ x

    def dxy_f(self, x, y, v):
        return A @ v

    def dyx_g(self, x, y, u):
        return -A.T @ u


BAD_GAMES = [("game", MisbehavingGame(mode)) for mode in ("nan", "shape", "complex", "foreign")]
GENERAL_SUM = cgd.GeneralSumQuadraticGame(P, A, -2 * A, Q)


#: Values the cgd functions legitimately accept although the harness calls them invalid:
#: None for optional arguments (the documented default), a per-coordinate step array
#: of y's length m = 2, a smaller or scalar matrix (a smaller game).
DEFAULT = {"None"}
STEP_ARRAY = {"eta_y": {"array"}}


def _step_spec(function, bad_games=True, **extra_valid):
    def valid():
        return {
            "game": cgd.BilinearGame(A),
            "x": x_start(),
            "y": y_start(),
            "eta_x": 0.3,
            "eta_y": 0.2,
            **{k: (v() if callable(v) else v) for k, v in extra_valid.items()},
        }

    accepts = {**STEP_ARRAY, **{k: DEFAULT for k in extra_valid}}
    # check_step_arguments checks the protocol, not the game's values: a game returning
    # garbage is caught where its methods are called (every other step function).
    extra = list(BAD_GAMES) if bad_games else []
    return Spec(f"cgd.{function.__name__}", function, valid, extra=extra, accepts=accepts)


def _solver(name):
    def apply(v):
        return np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]]) @ v

    def valid():
        out = {"apply": apply, "b": np.array([1.0, -2.0, 0.5]), "x0": np.zeros(3), "tol": 1e-10}
        return {**out, "maxiter": 30, **({"restart": 2} if name == "gmres" else {})}

    bad_apply = [
        ("apply", lambda v: np.full_like(v, np.nan)),
        ("apply", lambda v: v[:-1]),
        ("apply", lambda v: v + 1j),
        ("apply", lambda v: -v),  # not positive definite (a LinAlgError for CG)
    ]
    accepts = {"x0": DEFAULT, "maxiter": DEFAULT, "restart": DEFAULT}
    return Spec(f"cgd.{name}", getattr(cgd, name), valid, extra=bad_apply, accepts=accepts)


def _game_specs():
    games = {
        "BilinearGame": lambda: cgd.BilinearGame(A),
        "QuadraticGame": lambda: cgd.QuadraticGame(P, A, Q),
        "GeneralSumQuadraticGame": lambda: cgd.GeneralSumQuadraticGame(P, A, -2 * A, Q),
    }
    directions = {"dxy_f": ("v", 2), "dyy_g": ("v", 2), "dyx_g": ("u", 3), "dxx_f": ("u", 3)}
    specs = []
    for class_name, make in games.items():
        for method in ("f", "g", "grad_x_f", "grad_y_g", "dxy_f_matrix", "dyx_g_matrix"):
            specs.append(
                Spec(
                    f"cgd.{class_name}.{method}",
                    lambda x, y, make=make, method=method: getattr(make(), method)(x, y),
                    lambda: {"x": x_start(), "y": y_start()},
                )
            )
        for method, (argument, size) in directions.items():
            specs.append(
                Spec(
                    f"cgd.{class_name}.{method}",
                    lambda make=make, method=method, **kw: getattr(make(), method)(**kw),
                    lambda argument=argument, size=size: {
                        "x": x_start(),
                        "y": y_start(),
                        argument: np.linspace(-1.0, 1.0, 2 * size).reshape(size, 2),
                    },
                )
            )
    for method in ("dxy_f_matrix", "dyx_g_matrix"):  # the protocol's defaults
        specs.append(
            Spec(
                f"cgd.Game.{method}",
                lambda x, y, method=method: getattr(HandGame(), method)(x, y),
                lambda: {"x": x_start(), "y": y_start()},
            )
        )
    specs += [
        Spec(
            "cgd.BilinearGame",
            cgd.BilinearGame,
            lambda: {"A": A.copy()},
            accepts={"A": {"0-d", "one row short"}},  # f = αxy, and a 2 × 2 game
        ),
        Spec("cgd.QuadraticGame", cgd.QuadraticGame, lambda: {"P": P, "A": A, "Q": Q}),
        Spec(
            "cgd.GeneralSumQuadraticGame",
            cgd.GeneralSumQuadraticGame,
            lambda: {"P": P, "A": A, "B": -2 * A, "Q": Q},
        ),
    ]
    return specs


def _run_valid():
    return {
        "game": cgd.BilinearGame(A),
        "method": "acgd",
        "x0": x_start(),
        "y0": y_start(),
        "steps": 3,
        "eta": 0.2,
        "solver": "cg",
        "tol": 1e-10,
        "maxiter": 40,
        "warm_start": True,
        "beta": 0.9,
        "eps": 1e-5,
    }


def _a_run():
    return cgd.run(cgd.BilinearGame(A), "cgd", x_start(), y_start(), 6, 0.3)


def _bad_runs():
    """Hand-made RunResults: non-finite, missing or mismatched trajectories."""
    import dataclasses

    run = _a_run()
    return [
        dataclasses.replace(run, x=np.full_like(run.x, np.nan)),
        dataclasses.replace(run, y=None),
        dataclasses.replace(run, y=run.y[:-1]),
        dataclasses.replace(run, x=np.full_like(run.x, np.inf)),
    ]


SPECS = [
    _step_spec(cgd.gda_step),
    _step_spec(cgd.altgda_step),
    _step_spec(cgd.extragradient_step),
    _step_spec(cgd.lcgd_step),
    _step_spec(cgd.ogda_step, previous_gradients=lambda: (np.ones(3), np.ones(2))),
    _step_spec(cgd.sga_step, gamma=0.5),
    _step_spec(cgd.conopt_step, gamma=0.5),
    _step_spec(cgd.neumann_step, order=3),
    _step_spec(cgd.check_step_arguments, bad_games=False),
    _step_spec(
        cgd.cgd_step,
        solver="cg",
        tol=1e-10,
        maxiter=40,
        initial_guess=lambda: np.zeros(3),
        gradients=lambda: (A @ y_start(), -A.T @ x_start()),
    ),
    Spec(
        "cgd.acgd_step",
        cgd.acgd_step,
        lambda: {
            "game": cgd.BilinearGame(A),
            "x": x_start(),
            "y": y_start(),
            "eta_x": 0.1,
            "eta_y": 0.2,
            "state": cgd.ACGDState(2, np.full(3, 0.1), np.full(2, 0.2), np.zeros(3)),
            "beta": 0.9,
            "eps": 1e-5,
            "solver": "cg",
            "tol": 1e-10,
            "maxiter": 40,
            "warm_start": True,
        },
        extra=[*BAD_GAMES, ("solver", "dense"), ("game", GENERAL_SUM)],
        accepts={"state": DEFAULT, "maxiter": DEFAULT},
    ),
    Spec(
        "cgd.ACGDState.zeros",
        cgd.ACGDState.zeros,
        lambda: {"x": x_start(), "y": y_start()},
        accepts={"x": {"one row short"}, "y": {"one row short"}},  # states of smaller games
    ),
    Spec(
        "cgd.adaptive_step_sizes",
        cgd.adaptive_step_sizes,
        lambda: {
            "v": np.array([0.1, 0.2, 0.3]),
            "gradient": np.array([1.0, -2.0, 0.5]),
            "t": 2,
            "eta": 0.1,
            "beta": 0.99,
            "eps": 1e-5,
        },
    ),
    _solver("conjugate_gradient"),
    _solver("gmres"),
    Spec(
        "cgd.run",
        cgd.run,
        _run_valid,
        extra=[*BAD_GAMES, ("**", UnknownOption("bogus")), ("method", "sga")],
        accepts={"maxiter": DEFAULT},
        timeout=10,
    ),
    Spec(
        "cgd.compare_methods",
        cgd.compare_methods,
        lambda: {
            "game": cgd.BilinearGame(A),
            "x0": x_start(),
            "y0": y_start(),
            "steps": 3,
            "eta": 0.2,
            "methods": ("gda", "ogda", "cgd", "acgd"),
            "gamma": 1.0,
        },
        extra=[*BAD_GAMES, ("**", UnknownOption("bogus")), ("methods", ("gda", "bogus"))],
        timeout=10,
    ),
    Spec(
        "cgd.measured_rate",
        cgd.measured_rate,
        lambda: {"result": _a_run(), "ogda_state": False},
        extra=[("result", result) for result in _bad_runs()],
    ),
    Spec("cgd.method_options", cgd.method_options, lambda: {"method": "cgd"}),
    Spec(
        "cgd.iteration_matrix",
        cgd.iteration_matrix,
        lambda: {"method": "cgd", "alpha": 3.0, "eta": 0.2, "gamma": 1.0},
        accepts={"gamma": DEFAULT},
    ),
    Spec(
        "cgd.spectral_radius",
        cgd.spectral_radius,
        lambda: {"method": "extragradient", "alpha": 3.0, "eta": 0.2, "gamma": 1.0},
        accepts={"gamma": DEFAULT},
    ),
    Spec(
        "cgd.game_iteration_matrix",
        cgd.game_iteration_matrix,
        lambda: {
            "method": "cgd",
            "game": cgd.QuadraticGame(P, A, Q),
            "eta_x": 0.2,
            "eta_y": 0.1,
            "gamma": 1.0,
        },
        extra=BAD_GAMES,
        accepts={"eta_y": DEFAULT, "gamma": DEFAULT},
    ),
    Spec(
        "cgd.game_spectral_radius",
        cgd.game_spectral_radius,
        lambda: {
            "method": "conopt",
            "game": cgd.QuadraticGame(P, A, Q),
            "eta_x": 0.2,
            "eta_y": 0.1,
            "gamma": 1.0,
        },
        extra=[*BAD_GAMES, ("game", GENERAL_SUM)],
        accepts={"eta_y": DEFAULT, "gamma": DEFAULT},
    ),
    Spec(
        "cgd.cgd_bilinear_contraction",
        cgd.cgd_bilinear_contraction,
        lambda: {"A": A.copy(), "eta": 0.3},
        accepts={"A": {"one row short"}},  # a 2 × 2 game
    ),
    Spec(
        "cgd.cgd_bilinear_closed_form",
        cgd.cgd_bilinear_closed_form,
        lambda: {"A": A.copy(), "x0": x_start(), "y0": y_start(), "eta": 0.3, "k": 4},
    ),
    *_game_specs(),
]

#: The protocol's methods that a game must fill in: they raise NotImplementedError by design.
#: Every concrete game's own methods have specs (BilinearGame, QuadraticGame,
#: GeneralSumQuadraticGame here, gan.GANGame in contract_specs_gan.py).
ABSTRACT = ("f", "g", "grad_x_f", "grad_y_g", "dxy_f", "dyx_g", "dxx_f", "dyy_g")

EXEMPT = {
    **{
        f"cgd.Game.{method}": "a method of the protocol that every game fills in: it raises "
        "NotImplementedError by design (each concrete game's own method has a spec)"
        for method in ABSTRACT
    },
    "cgd.Game": "the protocol base class: its methods raise NotImplementedError by design",
    "cgd.ACGDState": "a frozen container of ACGD's running state (its inputs are checked "
    "where it is used, in acgd_step; ACGDState.zeros has a spec)",
    "cgd.CGDInfo": "a frozen result container returned by cgd_step",
    "cgd.KrylovInfo": "a frozen result container returned by the Krylov solvers",
    "cgd.RunResult": "a result container returned by run",
}
