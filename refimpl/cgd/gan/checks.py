r"""Argument checks shared by the GAN optimizers.

References
----------
.. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from __future__ import annotations

from refimpl.cgd.arguments import check_game, check_point
from refimpl.validation import DivergenceError, all_finite

__all__ = ["check_game_point", "check_finite_step"]


def check_game_point(game, x, y):
    """(x, y) as float arrays of the game's shapes; ValueError naming game, x or y."""
    check_game(game)
    return check_point(game, x, y)


def check_finite_step(t, *arrays):
    """DivergenceError with the step t unless every array is finite."""
    if not all_finite(*arrays):
        raise DivergenceError(
            f"the step produced non-finite parameters at step {t}; lower the learning rate",
            step=t,
        )
