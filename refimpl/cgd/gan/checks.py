r"""Argument checks shared by the GAN optimizers.

References
----------
.. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

from refimpl import backend
from refimpl.validation import DivergenceError, as_float_array

__all__ = ["check_game_point", "check_finite_step"]


def check_game_point(game, x, y):
    """(x, y) as float arrays of the game's shapes; ValueError naming game, x or y."""
    for attribute in ("n", "m", "zero_sum", "grad_x_f", "grad_y_g", "dxy_f", "dyx_g"):
        if not hasattr(game, attribute):
            raise ValueError(f"game: expected a refimpl.cgd Game, received {type(game).__name__}")
    x = as_float_array("x", x, ndim=1)
    y = as_float_array("y", y, ndim=1)
    for name, vector, size in (("x", x, game.n), ("y", y, game.m)):
        if vector.shape != (size,):
            raise ValueError(f"{name}: expected shape ({size},), received {vector.shape}")
    return x, y


def check_finite_step(t, *arrays):
    """DivergenceError with the step t unless every array is finite."""
    xp = backend.array_namespace(*arrays)
    if not all(bool(xp.all(xp.isfinite(a))) for a in arrays):
        raise DivergenceError(
            f"the step produced non-finite parameters at step {t}; lower the learning rate",
            step=t,
        )
