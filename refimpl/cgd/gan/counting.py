r"""Counting a game's gradients and Hessian-vector products: the cost of :func:`train_gan`.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019
   (cost counted in gradient evaluations).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CountingGame", "norm_without_overflow"]


def norm_without_overflow(v):
    """‖v‖ without overflow for huge finite v (inf only when ‖v‖ exceeds the float range)."""
    scale = float(np.max(np.abs(v)))
    if scale == 0.0:
        return 0.0
    value = scale * float(np.linalg.norm(v / scale))
    return value if np.isfinite(value) else float(np.finfo(float).max)


class CountingGame:
    r"""The game, counting gradients and Hessian-vector products (k columns count k)."""

    def __init__(self, game):
        self.game, self.n, self.m, self.zero_sum = game, game.n, game.m, game.zero_sum
        self.gradients = self.hvps = 0

    def grad_x_f(self, x, y):
        self.gradients += 1
        return self.game.grad_x_f(x, y)

    def grad_y_g(self, x, y):
        self.gradients += 1
        return self.game.grad_y_g(x, y)

    def _product(self, name, x, y, v):
        self.hvps += 1 if v.ndim == 1 else v.shape[1]
        return getattr(self.game, name)(x, y, v)

    def dxy_f(self, x, y, v):
        return self._product("dxy_f", x, y, v)

    def dyx_g(self, x, y, u):
        return self._product("dyx_g", x, y, u)

    def dxx_f(self, x, y, u):
        return self._product("dxx_f", x, y, u)

    def dyy_g(self, x, y, v):
        return self._product("dyy_g", x, y, v)
