r"""The Monge–Ampère equation on the unit square, with its exact solution."""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import finite_or_overflow
from refimpl.vecchia import Matern

from .problems import (
    LINEARIZATION_OVERFLOWS,
    RESIDUAL_OVERFLOWS,
    check_count,
    check_state,
    check_unit_square,
    unit_square_grid,
)

__all__ = ["MongeAmpere"]


class MongeAmpere:
    r"""The Monge–Ampère equation :math:`\det D^2 u = f` on :math:`[0,1]^2`.

    Attributes
    ----------
    basis : tuple of str
        ``("value", "d00", "d01", "d11")``.
    kernel : Matern
        Matérn-5/2, length scale 0.3 (the authors').
    nugget, steps : float, int
        1e-12 (relative) and three steps.

    Notes
    -----
    Truth :math:`u = \exp(|x - 0.5|^2/2)`, so :math:`D^2u = u(I + yy^\top)`,
    :math:`y = x - 0.5`, and :math:`f = e^{|y|^2}(1 + |y|^2)`. Linearized at v,

    .. math::

        v_{22}u_{11} - 2v_{12}u_{12} + v_{11}u_{22} = f + v_{11}v_{22} - v_{12}^2,

    started at :math:`v_{11} = v_{22} = 1`, :math:`v_{12} = 0`, which selects the
    convex solution.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.3.

    Examples
    --------
    >>> import numpy as np
    >>> float(MongeAmpere().rhs(np.array([[0.5, 0.5]]))[0])
    1.0
    """

    basis = ("value", "d00", "d01", "d11")

    def __init__(self):
        self.kernel = Matern(2.5, 0.3)
        self.nugget, self.steps = 1e-12, 3

    def collocation(self, h):
        """``(boundary, interior)`` points of spacing h."""
        return unit_square_grid(h)

    def truth(self, x):
        """The exact solution."""
        y = check_unit_square("x", x) - 0.5
        xp = backend.array_namespace(y)
        return xp.exp(0.5 * xp.sum(y * y, axis=1))

    def rhs(self, x):
        """f = det D²u."""
        y = check_unit_square("x", x) - 0.5
        xp = backend.array_namespace(y)
        s = xp.sum(y * y, axis=1)
        return xp.exp(s) * (1.0 + s)

    def initial_state(self, n):
        """v = 0 with v₁₁ = v₂₂ = 1, v₁₂ = 0 at n interior points, shape (n, 4), on the
        default backend."""
        xp = backend.default_namespace()
        return xp.tile(xp.asarray([0.0, 1.0, 0.0, 1.0]), (check_count(n), 1))

    def linearize(self, state, f):
        """Weights of (δ, ∂₁₁, ∂₁₂, ∂₂₂) and the right-hand side at the state.

        Parameters
        ----------
        state : ndarray, shape (n, 4)
            (v, v₁₁, v₁₂, v₂₂) at n interior points.
        f : ndarray, shape (n,)
            The right-hand side there.

        Returns
        -------
        weights : ndarray, shape (n, 4)
        rhs : ndarray, shape (n,)
        """
        state, f = check_state(self, state, f, "f")
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            result = self._linearize(state, f)
        return finite_or_overflow(result, "state, f", message=LINEARIZATION_OVERFLOWS)

    def _linearize(self, state, f):
        """:meth:`linearize` of checked arrays (a Gauss–Newton step)."""
        v11, v12, v22 = state[:, 1], state[:, 2], state[:, 3]
        xp = backend.array_namespace(state)
        weights = xp.stack([xp.zeros_like(v11), v22, -2.0 * v12, v11], axis=1)
        return weights, f + v11 * v22 - v12**2

    def residual(self, state, f):
        """det D²v − f at the interior points, shape (n,); arguments as in :meth:`linearize`."""
        state, f = check_state(self, state, f, "f")
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            result = self._residual(state, f)
        return finite_or_overflow(result, "state, f", message=RESIDUAL_OVERFLOWS)

    def _residual(self, state, f):
        """:meth:`residual` of checked arrays."""
        return state[:, 1] * state[:, 3] - state[:, 2] ** 2 - f
