r"""Argument checks shared by the games, the single-step functions and the runner.

Every public function of :mod:`refimpl.cgd` keeps the package's contract: bad input
raises ``ValueError`` naming the argument, and a computation that overflows raises
:class:`refimpl.validation.DivergenceError` instead of returning NaN or inf. The
helpers here implement that once, at the boundary: each step function starts with one
call to :func:`check_step_arguments`, calls the game through :class:`CheckedGame` (the
boundary to the caller's game) and ends with one call to :func:`finished_step`.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from refimpl import backend
from refimpl.validation import (
    DivergenceError,
    as_float_array,
    check_array_type,
    check_divergence,
)

__all__ = [
    "as_game_matrix",
    "check_game",
    "check_vector",
    "check_step_size",
    "check_step_arguments",
    "check_point",
    "check_game_point",
    "finished_step",
    "CheckedGame",
]

GAME_ATTRIBUTES = ("n", "m", "zero_sum", "grad_x_f", "grad_y_g", "dxy_f", "dyx_g")


def as_game_matrix(name: str, value, like=None):
    """A dense (p, q) float matrix or a sparse matrix (SciPy or cupyx), checked finite.

    A real scalar or a 0-d array is the 1 × 1 matrix of the scalar game f = αxy.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a real matrix or number, received {value!r}")
    if getattr(value, "ndim", None) == 0 and not backend.is_foreign_array(value):
        value = value.reshape(1, 1)
    elif isinstance(value, numbers.Real):
        value = [[float(value)]]
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # sparse: check the stored values
        as_float_array(name, value.data, ndim=1)
        if value.dtype.kind != "f":
            value = value.astype(float)
        if 0 in value.shape:
            raise ValueError(f"{name}: expected a non-empty matrix, received shape {value.shape}")
        return value
    matrix = as_float_array(name, value, ndim=2, like=like)
    if matrix.size == 0:
        raise ValueError(f"{name}: expected a non-empty matrix, received shape {matrix.shape}")
    return matrix


def check_game(game) -> None:
    """Raise ValueError unless ``game`` provides the game protocol of :class:`Game`."""
    missing = [a for a in GAME_ATTRIBUTES if not hasattr(game, a)]
    if missing:
        raise ValueError(
            f"game: expected a refimpl.cgd Game (with {', '.join(GAME_ATTRIBUTES)}), received "
            f"{type(game).__name__} without {missing}"
        )
    for attribute in ("n", "m"):
        size = getattr(game, attribute)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"game: expected game.{attribute} a positive int, received {size!r}")


def check_vector(name: str, vector, size: int, like=None, block: bool = False):
    """``vector`` as a finite float array of shape (size,), or (size, k) when ``block``."""
    allowed = (1, 2) if block else 1
    arr = as_float_array(name, vector, ndim=allowed, like=like)
    if arr.shape[0] != size or (arr.ndim == 2 and arr.shape[1] == 0):
        expected = f"({size},) or ({size}, k)" if block else f"({size},)"
        raise ValueError(f"{name}: expected an array of shape {expected}, received {arr.shape}")
    return arr


def check_step_size(name: str, eta, size: int, like=None):
    """A step size > 0: a finite float, or a positive finite array of shape (size,)."""
    check_array_type(name, eta)
    if getattr(eta, "ndim", None) == 0:  # a 0-d array of NumPy or CuPy
        eta = float(as_float_array(name, eta, ndim=0))
    if isinstance(eta, numbers.Real) and not isinstance(eta, bool | np.bool_):
        try:
            value = float(eta)
        except OverflowError:  # a Python int beyond the float range
            value = math.inf
        if not (0.0 < value < math.inf):
            raise ValueError(f"{name}: expected a step size > 0, received {eta!r}")
        return value
    if eta is None or isinstance(eta, str | bool | np.bool_ | complex):
        raise ValueError(f"{name}: expected a step size > 0, received {eta!r}")
    arr = as_float_array(name, eta, ndim=1, like=like)
    xp = backend.array_namespace(arr)
    if arr.shape != (size,) or not bool(xp.all(arr > 0)):
        low = float(arr.min()) if arr.size else "none"
        raise ValueError(
            f"{name}: expected a positive scalar or positive array of shape ({size},), "
            f"received an array of shape {arr.shape} with minimum {low}"
        )
    return arr


def check_step_arguments(game, x, y, eta_x, eta_y):
    r"""Check the arguments of a single-step function; raise ValueError naming the culprit.

    Parameters
    ----------
    game : Game
        A two-player game (see :class:`refimpl.cgd.Game`).
    x : array_like, shape (n,)
        Point of player x: finite real numbers.
    y : array_like, shape (m,)
        Point of player y.
    eta_x, eta_y : float or array_like of shape (n,) and (m,)
        Step sizes: finite and > 0, scalars or per coordinate (the diagonals of the
        step matrices H_x and H_y).

    Returns
    -------
    game : CheckedGame
        ``game`` behind a view that checks every value it returns.
    x, y : ndarray
        Float arrays of the game's backend.
    eta_x, eta_y : float or ndarray
        Python floats for scalars, float arrays otherwise.

    Notes
    -----
    The step functions move z = (x, y) by Δz = −H(ξ + …) with H = diag(H_x, H_y),

    .. math::

        H_x = \operatorname{diag}(\eta_x) \succ 0, \qquad H_y = \operatorname{diag}(\eta_y) \succ 0,

    so the step sizes must be positive for the local game of CGD to be strictly
    convex for each player (see ``docs/derivations/cgd.md``).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame
    >>> game, x, y, eta_x, eta_y = check_step_arguments(BilinearGame(2.0), [1.0], [0.5], 0.1, 0.2)
    >>> x, y, eta_x, eta_y
    (array([1.]), array([0.5]), 0.1, 0.2)
    """
    check_game(game)
    like = getattr(game, "A", None)
    like = like if like is not None and not hasattr(like, "nnz") else None
    x = check_vector("x", x, game.n, like=like)
    y = check_vector("y", y, game.m, like=x)
    backend.array_namespace(x, y)  # rejects mixed backends
    eta_x = check_step_size("eta_x", eta_x, game.n, x)
    eta_y = check_step_size("eta_y", eta_y, game.m, x)
    return (game if isinstance(game, CheckedGame) else CheckedGame(game)), x, y, eta_x, eta_y


def check_point(game, x, y):
    """(x, y) as finite float arrays of shapes (game.n,) and (game.m,)."""
    like = getattr(game, "A", None)
    like = like if like is not None and not hasattr(like, "nnz") else None
    x = check_vector("x", x, game.n, like=like)
    return x, check_vector("y", y, game.m, like=x)


def check_game_point(game, x, y):
    """(x, y) as float arrays of the game's shapes; ValueError naming game, x or y."""
    check_game(game)
    return check_point(game, x, y)


def finished_step(method: str, x_new, y_new, step: int = 1, hint: str = "reduce eta_x, eta_y"):
    """``(x_new, y_new)``, or DivergenceError naming ``method`` and the step if one is not finite.

    The one check of a step function's result. ``step`` is the iteration the step belongs
    to: 1 for a single call, the run's step inside :func:`refimpl.cgd.run`.
    """
    for name, value in (("x", x_new), ("y", y_new)):
        check_divergence(value, step, what=f"the new {name} of {method}", hint=hint)
    return x_new, y_new


class CheckedGame:
    """A view of a game: the boundary between the step functions and the caller's game.

    The step functions call the game through this view, so a game that returns a
    wrong shape, a complex or foreign array raises ``ValueError`` naming ``game``, and a
    game that refuses a point or a direction of the step (a built-in game's value that
    exceeds the float range, a direction that overflowed inside the step) raises
    :class:`~refimpl.validation.DivergenceError` at ``step``: the iteration, not the
    caller, went where the game cannot follow. What the game returns is not checked for
    finiteness here; a step's result is checked once, at its end (:func:`finished_step`).

    ``step`` is the iteration that the errors name: 1 for a single step, the run's step
    inside :func:`refimpl.cgd.run` (which sets it before every step).
    """

    def __init__(self, game, step: int = 1):
        self.game = game
        self.n, self.m, self.zero_sum = game.n, game.m, bool(game.zero_sum)
        self.step = step

    def _call(self, name, shape, *args):
        method = getattr(self.game, name, None)
        if not callable(method):
            raise ValueError(f"game: this method needs game.{name}, which {self.game!r} lacks")
        try:
            value = method(*args)
        except ValueError as exc:  # the step's arguments were checked: the iterate is refused
            raise DivergenceError(
                f"game.{name} refused the point or direction of step {self.step} ({exc}); "
                "reduce the step sizes",
                step=self.step,
            ) from exc
        if backend.is_foreign_array(value) or not (
            isinstance(value, np.ndarray) or backend.is_device_array(value)
        ):
            raise ValueError(
                f"game: {name} returned {type(value).__name__}, expected an array of shape {shape}"
            )
        if value.dtype.kind not in "fiu" or tuple(value.shape) != shape:
            raise ValueError(
                f"game: {name} returned an array of dtype {value.dtype} and shape "
                f"{tuple(value.shape)}, expected real numbers of shape {shape}"
            )
        return value

    def _block_shape(self, rows, v):
        return (rows,) if v.ndim == 1 else (rows, v.shape[1])

    def grad_x_f(self, x, y):
        return self._call("grad_x_f", (self.n,), x, y)

    def grad_y_g(self, x, y):
        return self._call("grad_y_g", (self.m,), x, y)

    def dxy_f(self, x, y, v):
        return self._call("dxy_f", self._block_shape(self.n, v), x, y, v)

    def dyx_g(self, x, y, u):
        return self._call("dyx_g", self._block_shape(self.m, u), x, y, u)

    def dxx_f(self, x, y, u):
        return self._call("dxx_f", self._block_shape(self.n, u), x, y, u)

    def dyy_g(self, x, y, v):
        return self._call("dyy_g", self._block_shape(self.m, v), x, y, v)

    def dxy_f_matrix(self, x, y):
        if not hasattr(self.game, "dxy_f_matrix"):  # a game outside the Game hierarchy
            xp = backend.array_namespace(x, y)
            return self.dxy_f(x, y, xp.eye(self.m))
        return self._call("dxy_f_matrix", (self.n, self.m), x, y)

    def dyx_g_matrix(self, x, y):
        if not hasattr(self.game, "dyx_g_matrix"):
            xp = backend.array_namespace(x, y)
            return self.dyx_g(x, y, xp.eye(self.n))
        return self._call("dyx_g_matrix", (self.m, self.n), x, y)
