r"""The runner: ``run(game, method, x0, y0, steps, eta, **options)``, and its methods.

This signature, the method names in :data:`~refimpl.cgd.METHODS` and the fields of
:class:`RunResult` are the stable contract against which other implementations
are checked. The runner validates the options once, counts derivative
evaluations, and stops at the first step that overflows.

Every method is a step function of one signature,

.. math::

    (x_{k+1}, y_{k+1}, \text{memory}_{k+1}, \text{iterations}, \text{converged})
        = \text{step}(\text{game}, x_k, y_k, \eta_x, \eta_y, \text{memory}_k,
                      \text{options}),

where ``memory`` is what the method carries from one step to the next (None at the
start): OGDA's previous gradients, CGD's last inner solution, ACGD's
:class:`~refimpl.cgd.ACGDState`. ``options`` is the dictionary returned by
:func:`check_method_options`, which validates every option in one place and fills
in the defaults. ``iterations`` and ``converged`` describe the inner linear solve
(0 and True for methods without one). :data:`STEPS` maps each name to its step.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from refimpl import backend
from refimpl.cgd.adaptive import acgd_step
from refimpl.cgd.arguments import CheckedGame, check_game, check_step_size
from refimpl.cgd.competitive import SOLVERS, cgd_step
from refimpl.cgd.games import Game
from refimpl.cgd.gradient_methods import (
    altgda_step,
    conopt_step,
    extragradient_step,
    gda_step,
    lcgd_step,
    ogda_step,
    sga_step,
)
from refimpl.validation import (
    DivergenceError,
    as_float_array,
    check_array_size,
    check_choice,
    check_in_interval,
    check_integer,
    check_nonnegative,
    check_options,
    check_positive,
)

__all__ = [
    "METHODS",
    "OPTION_DEFAULTS",
    "STEPS",
    "RunResult",
    "CountingGame",
    "check_method_options",
    "method_options",
    "run",
    "scaled_norms",
]

METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd", "acgd")

#: Every option of :func:`refimpl.cgd.run` besides the step sizes, with its default.
OPTION_DEFAULTS = {
    "gamma": 1.0,
    "solver": "auto",
    "tol": 1e-12,
    "maxiter": None,
    "restart": None,
    "warm_start": True,
    "beta": 0.99,
    "eps": 1e-5,
}

_KRYLOV = ("solver", "tol", "maxiter", "restart", "warm_start")
_ACCEPTED = {
    "gda": (),
    "altgda": (),
    "ogda": (),
    "extragradient": (),
    "lcgd": (),
    "conopt": ("gamma",),
    "sga": ("gamma",),
    "cgd": _KRYLOV,
    "acgd": (*_KRYLOV, "beta", "eps"),
}


def method_options(method):
    r"""The keyword options that :func:`refimpl.cgd.run` accepts for ``method``.

    Parameters
    ----------
    method : str
        A name from :data:`METHODS`.

    Returns
    -------
    frozenset of str
        The option names, besides ``eta_x`` and ``eta_y``.

    Notes
    -----
    CGD's options configure the inner solve of

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w = b.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> sorted(method_options("sga"))
    ['gamma']
    """
    check_choice("method", method, METHODS)
    return frozenset(_ACCEPTED[method])


def check_method_options(method, options):
    """Validate the options of ``method`` and return them with every default filled in.

    Unknown keys raise ``ValueError`` naming the key; every value is checked here.
    """
    check_choice("method", method, METHODS)
    for key in options:
        if key not in _ACCEPTED[method]:
            raise ValueError(
                f"options: method {method!r} does not accept the option {key!r}; it accepts "
                f"{sorted(_ACCEPTED[method])} besides eta_x and eta_y"
            )
    options = check_options("options", options, _ACCEPTED[method])
    full = {key: options.get(key, OPTION_DEFAULTS[key]) for key in _ACCEPTED[method]}
    if "gamma" in full:
        full["gamma"] = check_nonnegative("gamma", full["gamma"])
    if "solver" in full:
        check_choice("solver", full["solver"], SOLVERS)
        full["tol"] = check_positive("tol", full["tol"])
        for key in ("maxiter", "restart"):
            if full[key] is not None:
                full[key] = check_integer(key, full[key], minimum=1)
        if not isinstance(full["warm_start"], bool):
            raise ValueError(
                f"warm_start: expected True or False, received {type(full['warm_start']).__name__}"
            )
    if "beta" in full:
        full["beta"] = check_in_interval("beta", full["beta"], 0.0, 1.0, closed="left")
        full["eps"] = check_positive("eps", full["eps"])  # eps = 0 divides 0 by 0
    return full


def _plain(step_function):
    def step(game, x, y, eta_x, eta_y, memory, options):
        return (*step_function(game, x, y, eta_x, eta_y), None, 0, True)

    step.__doc__ = f"{step_function.__name__} behind the common step signature."
    return step


def _adjusted(step_function):
    def step(game, x, y, eta_x, eta_y, memory, options):
        return (*step_function(game, x, y, eta_x, eta_y, options["gamma"]), None, 0, True)

    step.__doc__ = f"{step_function.__name__} behind the common step signature."
    return step


def _ogda(game, x, y, eta_x, eta_y, memory, options):
    x, y, gradients = ogda_step(game, x, y, eta_x, eta_y, memory)
    return x, y, gradients, 0, True


def _krylov(options):
    return {key: options[key] for key in ("solver", "tol", "maxiter", "restart")}


def _cgd(game, x, y, eta_x, eta_y, memory, options):
    guess = memory if options["warm_start"] else None
    x, y, info = cgd_step(game, x, y, eta_x, eta_y, initial_guess=guess, **_krylov(options))
    return x, y, info.solution, info.iterations, info.converged


def _acgd(game, x, y, eta_x, eta_y, memory, options):
    x, y, state, info = acgd_step(
        game,
        x,
        y,
        eta_x,
        eta_y,
        memory,
        options["beta"],
        options["eps"],
        warm_start=options["warm_start"],
        **_krylov(options),
    )
    return x, y, state, info.iterations, info.converged


#: The step function of every method, all with the signature of the module docstring.
STEPS = {
    "gda": _plain(gda_step),
    "altgda": _plain(altgda_step),
    "ogda": _ogda,
    "extragradient": _plain(extragradient_step),
    "lcgd": _plain(lcgd_step),
    "sga": _adjusted(sga_step),
    "conopt": _adjusted(conopt_step),
    "cgd": _cgd,
    "acgd": _acgd,
}


def scaled_norms(z):
    r"""Row norms ‖z_k‖ of a (K, d) array without overflow in the squares.

    Each row is divided by its largest entry before squaring, so a finite row whose
    norm is representable gets a finite norm, however large its entries.
    """
    xp = backend.array_namespace(z)
    scale = xp.max(xp.abs(z), axis=1, keepdims=True)
    scale = xp.where(scale > 0, scale, 1.0)
    with np.errstate(over="ignore"):
        return scale[:, 0] * xp.sqrt(xp.sum((z / scale) ** 2, axis=1))


@dataclass
class RunResult:
    r"""Outcome of :func:`run`.

    Attributes
    ----------
    method : str
        The method's name.
    x : ndarray, shape (steps_taken + 1, n)
        x₀, x₁, …: the trajectory of player x.
    y : ndarray, shape (steps_taken + 1, m)
        The trajectory of player y.
    steps_taken : int
        Steps completed (equal to ``steps`` unless the run stopped early).
    status : str
        ``"completed"``, ``"diverged"`` (a step overflowed: a non-finite iterate, or
        one whose norm exceeds the float range) or ``"inner_solver_failed"``
        (CG/GMRES missed its tolerance).
    message : str
        Why the run stopped, with the step.
    stopped_at : int or None
        The step (counted from 1) that failed, None when completed.
    gradient_evaluations : int
        Evaluations of ∇ₓf and of ∇_y g, each counted once.
    hvp_evaluations : int
        Hessian-vector products (D_xy f·v, D_yx g·u, D_xx f·u, D_yy g·v), one per
        vector (a block of k columns, or a dense (p, k) block, counts k).
    inner_iterations : ndarray of int, shape (steps_taken,)
        Krylov iterations per step (zeros for methods without an inner solve).

    Notes
    -----
    ``norm`` is the distance to the stationary point 0 of the built-in games,

    .. math::

        \lVert z_k \rVert = \lVert (x_k, y_k) \rVert_2,

    finite for every recorded step (the runner stops before a step whose norm
    overflows).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame
    >>> result = run(BilinearGame(1.0), "gda", 1.0, 0.0, steps=2, eta=0.5)
    >>> result.norm.round(4)
    array([1.   , 1.118, 1.25 ])
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
        """‖z_k‖ = ‖(x_k, y_k)‖ for every recorded k, shape (steps_taken + 1,)."""
        xp = backend.array_namespace(self.x, self.y)
        return scaled_norms(xp.concatenate([self.x, self.y], axis=1))


class CountingGame(Game):
    """Wraps a game and counts gradient and Hessian-vector-product evaluations."""

    def __init__(self, game):
        self.game = game
        self.n, self.m, self.zero_sum = game.n, game.m, game.zero_sum
        self.gradients = 0
        self.hvps = 0

    def _grad(self, name, x, y):
        self.gradients += 1
        return getattr(self.game, name)(x, y)

    def _hvp(self, name, x, y, v):
        self.hvps += 1 if v.ndim == 1 else v.shape[1]
        return getattr(self.game, name)(x, y, v)

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

    def dxy_f_matrix(self, x, y):
        self.hvps += self.m
        return self.game.dxy_f_matrix(x, y)

    def dyx_g_matrix(self, x, y):
        self.hvps += self.n
        return self.game.dyx_g_matrix(x, y)


def _start_vector(name, value, size, like):
    arr = as_float_array(name, value, ndim=(0, 1), like=like)
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
        Start of player y.
    steps : int
        Number of steps, >= 0.
    eta : float, optional
        Step size of both players (the base step size of ACGD).
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
        Trajectories, costs, and why the run stopped. A step that overflows (a
        non-finite iterate, or an iterate whose norm exceeds the float range) stops
        the run with ``status="diverged"``; the trajectories end at the last good
        iterate.

    Raises
    ------
    ValueError
        For an unknown method or option (naming the key), shape mismatches,
        non-finite starts, η ≤ 0, γ < 0, steps < 0, maxiter < 1, or
        SGA/ConOpt/``solver="cg"`` on a general-sum game.
    numpy.linalg.LinAlgError
        If a general-sum game's dense CGD system is singular at some step, or CG meets
        an operator that is not positive definite. Overflow is not an error: it ends
        the run with ``status="diverged"``.

    Notes
    -----
    Each step maps z_k = (x_k, y_k) to z_{k+1}; for CGD,

    .. math::

        z_{k+1} = z_k - (I + H N)^{-1} H \xi(z_k),

    with H = diag(η_x, η_y), N the mixed second derivatives and ξ the gradients
    (``docs/derivations/cgd.md``).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

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
    check_game(game)
    names = {k: k if k in options else "eta" for k in ("eta_x", "eta_y")}
    eta_x, eta_y = options.pop("eta_x", eta), options.pop("eta_y", eta)
    options = check_method_options(method, options)
    steps = check_integer("steps", steps, minimum=0)
    check_array_size("steps", (steps + 1, game.n + game.m))  # the recorded trajectory
    like = getattr(game, "A", None)
    like = like if like is not None and backend.is_device_array(like) else None
    x = _start_vector("x0", x0, game.n, like)
    y = _start_vector("y0", y0, game.m, like if like is not None else x)
    xp = backend.array_namespace(x, y)
    eta_x = check_step_size(names["eta_x"], eta_x, game.n, x)
    eta_y = check_step_size(names["eta_y"], eta_y, game.m, x)

    counted, step = CountingGame(game), STEPS[method]
    checked = CheckedGame(counted)  # the steps' view of the game: its errors name the step
    xs, ys = xp.empty((steps + 1, game.n)), xp.empty((steps + 1, game.m))
    xs[0], ys[0] = x, y
    inner = np.zeros(steps, dtype=int)
    status, message, stopped_at, taken = "completed", f"completed {steps} steps", None, steps
    memory = None
    for k in range(1, steps + 1):
        checked.step = k
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
                x, y, memory, iterations, converged = step(
                    checked, x, y, eta_x, eta_y, memory, options
                )
            z = xp.concatenate([x, y])[None, :]
            if not bool(xp.isfinite(scaled_norms(z))[0]):
                raise DivergenceError("the norm of the iterate exceeds the float range", step=k)
        except DivergenceError as exc:
            status, stopped_at, taken = "diverged", k, k - 1
            message = (
                f"diverged: step {k} overflowed ({exc}); the trajectories end at step {k - 1}, "
                "the last finite iterate"
            )
            break
        xs[k], ys[k], inner[k - 1] = x, y, iterations
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
