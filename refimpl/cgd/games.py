r"""The two-player game protocol: player x minimizes f(x, y), player y minimizes g(x, y).

A game exposes exact first derivatives and Hessian-vector products, never finite
differences. The conventions:

* ``grad_x_f(x, y)`` is ∇ₓf, shape (n,); ``grad_y_g(x, y)`` is ∇_y g, shape (m,).
* ``dxy_f(x, y, v)`` is D_xy f · v with D_xy f = ∂²f/∂x∂y of shape (n, m): it maps a
  y-vector v (m,) or a block (m, k) to x-space.
* ``dyx_g(x, y, u)`` is D_yx g · u with D_yx g = ∂²g/∂y∂x of shape (m, n).
* ``dxx_f(x, y, u)`` and ``dyy_g(x, y, v)``: the pure second derivatives, used by
  ConOpt only.
* ``dxy_f_matrix(x, y)`` and ``dyx_g_matrix(x, y)``: the dense mixed blocks, for the
  dense CGD solver; the default forms them column by column from the products.
* ``zero_sum`` is True when g = −f. Then D_yx g = −(D_xy f)ᵀ and ∇_y f = −∇_y g.

The built-in quadratic games (:mod:`refimpl.cgd.quadratic_games`) share
:class:`QuadraticGameBase`, where every derivative is a matrix product.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.arguments import check_point, check_vector, finite_value

__all__ = ["Game", "QuadraticGameBase"]


class Game:
    r"""Base class of two-player games (a protocol: subclass it and fill in the methods).

    Attributes
    ----------
    n, m : int
        Dimensions of x and y.
    zero_sum : bool
        True when g = −f.

    Notes
    -----
    CGD needs the gradients and the mixed second derivatives of both losses,

    .. math::

        \nabla_x f \in \mathbb{R}^n,\quad \nabla_y g \in \mathbb{R}^m,\quad
        D_{xy} f = \frac{\partial^2 f}{\partial x\,\partial y} \in \mathbb{R}^{n\times m},\quad
        D_{yx} g = \frac{\partial^2 g}{\partial y\,\partial x} \in \mathbb{R}^{m\times n},

    applied to vectors only, so that a game may be matrix-free [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> class Scaled(Game):          # f = 2xy, g = -f, written by hand
    ...     n, m, zero_sum = 1, 1, True
    ...     def grad_x_f(self, x, y): return 2 * y
    ...     def grad_y_g(self, x, y): return -2 * x
    ...     def dxy_f(self, x, y, v): return 2 * v
    ...     def dyx_g(self, x, y, u): return -2 * u
    >>> Scaled().dxy_f_matrix(np.zeros(1), np.zeros(1))
    array([[2.]])
    """

    n: int
    m: int
    zero_sum: bool = False

    def f(self, x, y):
        """Loss of player x (a float)."""
        raise NotImplementedError

    def g(self, x, y):
        """Loss of player y (a float)."""
        raise NotImplementedError

    def grad_x_f(self, x, y):
        """∇ₓf(x, y), shape (n,)."""
        raise NotImplementedError

    def grad_y_g(self, x, y):
        """∇_y g(x, y), shape (m,)."""
        raise NotImplementedError

    def dxy_f(self, x, y, v):
        """D_xy f · v for v of shape (m,) or (m, k)."""
        raise NotImplementedError

    def dyx_g(self, x, y, u):
        """D_yx g · u for u of shape (n,) or (n, k)."""
        raise NotImplementedError

    def dxx_f(self, x, y, u):
        """D_xx f · u for u of shape (n,) or (n, k)."""
        raise NotImplementedError

    def dyy_g(self, x, y, v):
        """D_yy g · v for v of shape (m,) or (m, k)."""
        raise NotImplementedError

    def dxy_f_matrix(self, x, y):
        """D_xy f as a dense (n, m) array (by default m products with unit vectors)."""
        xp = backend.array_namespace(x, y)
        return self.dxy_f(x, y, xp.eye(self.m))

    def dyx_g_matrix(self, x, y):
        """D_yx g as a dense (m, n) array (by default n products with unit vectors)."""
        xp = backend.array_namespace(x, y)
        return self.dyx_g(x, y, xp.eye(self.n))


def _dense(matrix):
    return matrix.toarray() if hasattr(matrix, "toarray") else matrix


class QuadraticGameBase(Game):
    r"""Derivatives shared by the quadratic games: every one is a matrix product.

    Subclasses set ``A`` = D_xy f (n, m), ``_b`` (n, m) and ``_b_sign`` (±1) with
    D_yx g = ``_b_sign`` · ``_b``ᵀ (so a zero-sum game stores A once), ``_p`` (n, n) and
    ``_q`` (m, m) or None for zero blocks, and define the losses ``f`` and ``g``.

    Attributes
    ----------
    n, m : int
        Dimensions of x and y.
    zero_sum : bool
        True when g = −f.

    Notes
    -----
    With f = ½xᵀPx + xᵀAy + (terms in y only) and g = ½yᵀQy + yᵀCx + (terms in x only),
    where C = D_yx g (C = Bᵀ in :class:`GeneralSumQuadraticGame`, C = −Aᵀ in the zero-sum
    games),

    .. math::

        \nabla_x f = Px + Ay,\quad \nabla_y g = Qy + Cx,\quad
        D_{xy} f = A,\quad D_{yx} g = C,\quad D_{xx} f = P,\quad D_{yy} g = Q.

    Every method checks that x, y and the direction have the game's shapes and are
    finite, and raises :class:`refimpl.validation.DivergenceError` (with ``step`` 0)
    if the value overflows.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd.quadratic_games import QuadraticGame
    >>> isinstance(QuadraticGame(1.0, 2.0, 1.0), QuadraticGameBase)
    True
    """

    A = None
    _b = None
    _b_sign = 1.0
    _p = None
    _q = None

    def _block(self, name, matrix, x, y, vector, size):
        x, y = check_point(self, x, y)
        vector = check_vector(name, vector, size, like=x, block=True)
        if matrix is None:
            return vector * 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            return finite_value(f"the product with {name}", matrix @ vector)

    def grad_x_f(self, x, y):
        """∇ₓf = Px + Ay, shape (n,)."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = self.A @ y if self._p is None else self._p @ x + self.A @ y
            return finite_value("grad_x_f", value)

    def grad_y_g(self, x, y):
        """∇_y g = Qy + Cx, shape (m,)."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = self._b_sign * (self._b.T @ x)
            return finite_value("grad_y_g", value if self._q is None else self._q @ y + value)

    def dxy_f(self, x, y, v):
        """D_xy f · v = A v for v of shape (m,) or (m, k)."""
        return self._block("v", self.A, x, y, v, self.m)

    def dyx_g(self, x, y, u):
        """D_yx g · u for u of shape (n,) or (n, k)."""
        return self._b_sign * self._block("u", self._b.T, x, y, u, self.n)

    def dxx_f(self, x, y, u):
        """D_xx f · u = P u for u of shape (n,) or (n, k)."""
        return self._block("u", self._p, x, y, u, self.n)

    def dyy_g(self, x, y, v):
        """D_yy g · v = Q v for v of shape (m,) or (m, k)."""
        return self._block("v", self._q, x, y, v, self.m)

    def dxy_f_matrix(self, x, y):
        """D_xy f = A as a dense (n, m) array (no products with identity matrices)."""
        check_point(self, x, y)
        return _dense(self.A)

    def dyx_g_matrix(self, x, y):
        """D_yx g as a dense (m, n) array."""
        check_point(self, x, y)
        return self._b_sign * _dense(self._b).T

    @property
    def P(self):
        """D_xx f as a matrix (n, n); zeros when the game has no such term."""
        return self._p if self._p is not None else self._zeros(self.n)

    @property
    def Q(self):
        """D_yy g as a matrix (m, m); zeros when the game has no such term."""
        return self._q if self._q is not None else self._zeros(self.m)

    def _zeros(self, size):
        like = self.A.data if hasattr(self.A, "nnz") else self.A
        return backend.array_namespace(like).zeros((size, size))
