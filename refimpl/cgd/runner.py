"""The runner: ``run(game, method, x0, y0, steps, eta, **options)``.

This signature, the method names in :data:`METHODS` and the fields of
:class:`RunResult` are the stable contract against which other implementations
are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from refimpl import backend
from refimpl.cgd.adaptive import acgd_step
from refimpl.cgd.competitive import SOLVERS, cgd_step, lcgd_step
from refimpl.cgd.gradient_methods import (
    altgda_step,
    conopt_step,
    extragradient_step,
    gda_step,
    ogda_step,
    sga_step,
)
from refimpl.validation import (
    as_float_array,
    check_choice,
    check_in_interval,
    check_integer,
    check_nonnegative,
    check_positive,
)

__all__ = ["METHODS", "RunResult", "method_options", "run"]

METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd", "acgd")

_OPTIONS = {
    "gda": set(),
    "altgda": set(),
    "ogda": set(),
    "extragradient": set(),
    "lcgd": set(),
    "conopt": {"gamma"},
    "sga": {"gamma"},
    "cgd": {"solver", "tol", "maxiter", "restart", "warm_start"},
    "acgd": {"solver", "tol", "maxiter", "restart", "warm_start", "beta", "eps"},
}


def method_options(method):
    """The keyword options that :func:`run` accepts for ``method`` (besides eta_x, eta_y)."""
    check_choice("method", method, METHODS)
    return frozenset(_OPTIONS[method])


@dataclass
class RunResult:
    """Outcome of :func:`run`.

    Attributes
    ----------
    method : str
    x : ndarray, shape (steps_taken + 1, n)
        x₀, x₁, …: the trajectory of player x.
    y : ndarray, shape (steps_taken + 1, m)
    steps_taken : int
    status : str
        ``"completed"``, ``"diverged"`` (a non-finite iterate appeared) or
        ``"inner_solver_failed"`` (CG/GMRES missed its tolerance).
    message : str
        Why the run stopped, with the step.
    stopped_at : int or None
        The step (counted from 1) that failed, None when completed.
    gradient_evaluations : int
        Evaluations of ∇ₓf and of ∇_y g, each counted once.
    hvp_evaluations : int
        Hessian-vector products (D_xy f·v, D_yx g·u, D_xx f·u, D_yy g·v), one per
        vector (a block of k columns counts k).
    inner_iterations : ndarray of int, shape (steps_taken,)
        Krylov iterations per step (zeros for methods without an inner solve).
    """

    method: str
    x: object
    y: object
    steps_taken: int
    status: str
    message: str
    stopped_at: int | None
    gradient_evaluations: int
    hvp_evaluations: int
    inner_iterations: np.ndarray = field(repr=False)

    @property
    def norm(self):
        """‖z_k‖ = ‖(x_k, y_k)‖ for every recorded k, shape (steps_taken + 1,).

        The built-in games have their stationary point at z = 0, so this is the
        distance to it.
        """
        xp = backend.array_namespace(self.x, self.y)
        z = xp.concatenate([self.x, self.y], axis=1)
        scale = xp.max(xp.abs(z), axis=1, keepdims=True)
        scale = xp.where(scale > 0, scale, 1.0)  # scaling keeps huge iterates from overflowing
        return scale[:, 0] * xp.sqrt(xp.sum((z / scale) ** 2, axis=1))


class _CountingGame:
    """Wraps a game and counts gradient and Hessian-vector-product evaluations."""

    def __init__(self, game):
        self._game = game
        self.n, self.m, self.zero_sum = game.n, game.m, game.zero_sum
        self.gradients = 0
        self.hvps = 0

    def _grad(self, name, x, y):
        self.gradients += 1
        return getattr(self._game, name)(x, y)

    def _hvp(self, name, x, y, v):
        self.hvps += 1 if v.ndim == 1 else v.shape[1]
        return getattr(self._game, name)(x, y, v)

    def grad_x_f(self, x, y):
        return self._grad("grad_x_f", x, y)

    def grad_y_g(self, x, y):
        return self._grad("grad_y_g", x, y)

    def dxy_f(self, x, y, v):
        return self._hvp("dxy_f", x, y, v)

    def dyx_g(self, x, y, u):
        return self._hvp("dyx_g", x, y, u)

    def dxx_f(self, x, y, u):
        return self._hvp("dxx_f", x, y, u)

    def dyy_g(self, x, y, v):
        return self._hvp("dyy_g", x, y, v)


def _start_vector(name, value, size):
    arr = as_float_array(name, value, ndim=(0, 1))
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.shape != (size,):
        raise ValueError(
            f"{name}: expected shape ({size},) to match the game, received {arr.shape}"
        )
    return arr


def run(game, method, x0, y0, steps, eta=None, **options):
    r"""Run a method on a two-player game for a number of steps.

    Parameters
    ----------
    game : Game
        For example :class:`~refimpl.cgd.BilinearGame`.
    method : str
        One of ``"gda"``, ``"altgda"``, ``"ogda"``, ``"extragradient"``,
        ``"conopt"``, ``"sga"``, ``"lcgd"``, ``"cgd"``, ``"acgd"``.
    x0 : array_like, shape (n,)
        Start of player x (a scalar when n = 1).
    y0 : array_like, shape (m,)
    steps : int
        Number of steps, >= 0.
    eta : float, optional
        Step size of both players (the base learning rate ``lr`` for ACGD).
    **options
        ``eta_x``, ``eta_y``: separate step sizes (override ``eta``).
        ``gamma`` (SGA, ConOpt; default 1.0).
        ``solver`` ({"auto", "dense", "cg", "gmres"}, default "auto"), ``tol``
        (relative residual, default 1e−12), ``maxiter``, ``restart`` (GMRES),
        ``warm_start`` (bool, default True) for CGD and ACGD.
        ``beta`` (0.99) and ``eps`` (1e−5, > 0) for ACGD.

    Returns
    -------
    RunResult
        Trajectories, costs, and why the run stopped. A run that produces a
        non-finite iterate stops there with ``status="diverged"``; the
        trajectories end at the last finite iterate.

    Raises
    ------
    ValueError
        For an unknown method or option, shape mismatches, non-finite starts,
        η ≤ 0, γ < 0, steps < 0, maxiter < 1, or SGA/ConOpt/``solver="cg"`` on a
        general-sum game.

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame, run
    >>> result = run(BilinearGame(3.0), "cgd", 0.5, 0.5, steps=50, eta=0.2)
    >>> result.x.shape, result.status
    ((51, 1), 'completed')
    >>> float(result.norm[-1] / result.norm[0])   # (1 + 0.36)^(-25)
    0.000459...
    """
    check_choice("method", method, METHODS)
    unknown = set(options) - _OPTIONS[method] - {"eta_x", "eta_y"}
    if unknown:
        raise ValueError(
            f"options: {method} accepts {sorted(_OPTIONS[method] | {'eta_x', 'eta_y'})}, "
            f"received unknown {sorted(unknown)}"
        )
    for attr in ("n", "m", "zero_sum", "grad_x_f", "grad_y_g"):
        if not hasattr(game, attr):
            raise ValueError(f"game: expected a refimpl.cgd Game, received {type(game).__name__}")
    steps = check_integer("steps", steps, minimum=0)
    eta_x = check_positive("eta_x" if "eta_x" in options else "eta", options.pop("eta_x", eta))
    eta_y = check_positive("eta_y" if "eta_y" in options else "eta", options.pop("eta_y", eta))
    if "gamma" in options:
        check_nonnegative("gamma", options["gamma"])
    if "solver" in options:
        check_choice("solver", options["solver"], SOLVERS)
    if options.get("maxiter") is not None:
        check_integer("maxiter", options["maxiter"], minimum=1)
    if options.get("restart") is not None:
        check_integer("restart", options["restart"], minimum=1)
    if not isinstance(options.get("warm_start", True), bool):
        raise ValueError(
            f"warm_start: expected True or False, received {type(options['warm_start']).__name__}"
        )
    x = _start_vector("x0", x0, game.n)
    y = _start_vector("y0", y0, game.m)
    like = getattr(game, "A", None)
    if like is not None and backend.is_cupy_array(like):
        x, y = backend.asarray(x, like=like), backend.asarray(y, like=like)
    xp = backend.array_namespace(x, y)

    counted = _CountingGame(game)
    step = _stepper(method, counted, eta_x, eta_y, dict(options))
    xs, ys = xp.empty((steps + 1, game.n)), xp.empty((steps + 1, game.m))
    xs[0], ys[0] = x, y
    inner = np.zeros(steps, dtype=int)
    status, message, stopped_at, taken = "completed", f"completed {steps} steps", None, steps
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            x, y, iterations, converged = step(x, y)
            inner[k - 1] = iterations
            if not (bool(xp.all(xp.isfinite(x))) and bool(xp.all(xp.isfinite(y)))):
                status, stopped_at, taken = "diverged", k, k - 1
                message = (
                    f"diverged: step {k} produced a non-finite iterate (overflow or an "
                    f"invalid operation); the trajectories end at step {k - 1}, the last "
                    "finite iterate"
                )
                break
            xs[k], ys[k] = x, y
            if not converged:
                status, stopped_at, taken = "inner_solver_failed", k, k
                message = (
                    f"inner_solver_failed: the linear solve at step {k} missed its tolerance "
                    "after maxiter iterations; raise maxiter or loosen tol"
                )
                break
    return RunResult(
        method=method,
        x=xs[: taken + 1],
        y=ys[: taken + 1],
        steps_taken=taken,
        status=status,
        message=message,
        stopped_at=stopped_at,
        gradient_evaluations=counted.gradients,
        hvp_evaluations=counted.hvps,
        inner_iterations=inner[:taken],
    )


def _stepper(method, game, eta_x, eta_y, options):
    """A closure (x, y) -> (x, y, inner_iterations, converged) for one method."""
    gamma = options.get("gamma", 1.0)
    simple = {
        "gda": lambda x, y: gda_step(game, x, y, eta_x, eta_y),
        "altgda": lambda x, y: altgda_step(game, x, y, eta_x, eta_y),
        "extragradient": lambda x, y: extragradient_step(game, x, y, eta_x, eta_y),
        "lcgd": lambda x, y: lcgd_step(game, x, y, eta_x, eta_y),
        "sga": lambda x, y: sga_step(game, x, y, eta_x, eta_y, gamma),
        "conopt": lambda x, y: conopt_step(game, x, y, eta_x, eta_y, gamma),
    }
    if method in simple:

        def step(x, y):
            return (*simple[method](x, y), 0, True)

        return step

    if method == "ogda":
        memory = {"gradients": None}

        def step(x, y):
            x, y, memory["gradients"] = ogda_step(game, x, y, eta_x, eta_y, memory["gradients"])
            return x, y, 0, True

        return step

    solver = options.get("solver", "auto")
    tol = check_positive("tol", options.get("tol", 1e-12))
    maxiter = options.get("maxiter")
    restart = options.get("restart")
    warm = options.get("warm_start", True)

    if method == "cgd":
        memory = {"guess": None}

        def step(x, y):
            guess = memory["guess"] if warm else None
            x, y, info = cgd_step(
                game, x, y, eta_x, eta_y, solver, tol, maxiter, guess, restart=restart
            )
            memory["guess"] = info.solution
            return x, y, info.iterations, info.converged

        return step

    beta = check_in_interval("beta", options.get("beta", 0.99), 0.0, 1.0, closed="left")
    eps = check_positive("eps", options.get("eps", 1e-5))  # eps = 0 divides 0 by 0
    memory = {"state": None}

    def step(x, y):
        x, y, memory["state"], info = acgd_step(
            game,
            x,
            y,
            eta_x,
            eta_y,
            memory["state"],
            beta,
            eps,
            solver,
            tol,
            maxiter,
            warm,
            restart=restart,
        )
        return x, y, info.iterations, info.converged

    return step
