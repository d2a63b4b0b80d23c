r"""The runner: ``run(game, method, x0, y0, steps, eta, **options)``.

This signature, the method names in :data:`~refimpl.cgd.METHODS` and the fields of
:class:`RunResult` are the stable contract against which other implementations
are checked. Each method is a step function of :mod:`refimpl.cgd.methods`, all with
one signature; the runner validates the options once, counts derivative
evaluations, and stops at the first step that overflows.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from refimpl import backend
from refimpl.cgd.arguments import check_game, check_step_size
from refimpl.cgd.games import Game
from refimpl.cgd.methods import METHODS, STEPS, check_method_options
from refimpl.validation import (
    DivergenceError,
    as_float_array,
    check_array_size,
    check_choice,
    check_integer,
)

__all__ = ["METHODS", "RunResult", "CountingGame", "run", "scaled_norms"]


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
    like = like if like is not None and backend.is_cupy_array(like) else None
    x = _start_vector("x0", x0, game.n, like)
    y = _start_vector("y0", y0, game.m, like if like is not None else x)
    xp = backend.array_namespace(x, y)
    eta_x = check_step_size(names["eta_x"], eta_x, game.n, x)
    eta_y = check_step_size(names["eta_y"], eta_y, game.m, x)

    counted, step = CountingGame(game), STEPS[method]
    xs, ys = xp.empty((steps + 1, game.n)), xp.empty((steps + 1, game.m))
    xs[0], ys[0] = x, y
    inner = np.zeros(steps, dtype=int)
    status, message, stopped_at, taken = "completed", f"completed {steps} steps", None, steps
    memory = None
    for k in range(1, steps + 1):
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
                x, y, memory, iterations, converged = step(
                    counted, x, y, eta_x, eta_y, memory, options
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
