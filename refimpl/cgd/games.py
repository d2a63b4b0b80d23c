r"""Two-player games: the protocol, and the built-in quadratic and bilinear games.

Player x minimizes f(x, y), player y minimizes g(x, y). A game exposes exact first
derivatives and Hessian-vector products, never finite differences. The conventions:

* ``grad_x_f(x, y)`` is ∇ₓf, shape (n,); ``grad_y_g(x, y)`` is ∇_y g, shape (m,).
* ``dxy_f(x, y, v)`` is D_xy f · v with D_xy f = ∂²f/∂x∂y of shape (n, m): it maps a
  y-vector v (m,) or a block (m, k) to x-space.
* ``dyx_g(x, y, u)`` is D_yx g · u with D_yx g = ∂²g/∂y∂x of shape (m, n).
* ``dxx_f(x, y, u)`` and ``dyy_g(x, y, v)``: the pure second derivatives, used by
  ConOpt only.
* ``dxy_f_matrix(x, y)`` and ``dyx_g_matrix(x, y)``: the dense mixed blocks, for the
  dense CGD solver; the default forms them column by column from the products.
* ``zero_sum`` is True when g = −f. Then D_yx g = −(D_xy f)ᵀ and ∇_y f = −∇_y g.

The built-in games (:class:`GeneralSumQuadraticGame`, :class:`QuadraticGame`,
:class:`BilinearGame`) share :class:`QuadraticGameBase`, where every derivative is a
product with one of their matrices; their equilibrium is z = (x, y) = 0, which is where
the figures and closed forms measure distances from. Their methods check their input
and raise ``ValueError`` naming ``x``, ``y``, ``u`` or ``v`` when the value at these
inputs exceeds the float range.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103, Section 4.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020, arXiv:1910.05852.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.arguments import as_game_matrix, check_point, check_vector
from refimpl.validation import finite_or_overflow

__all__ = ["Game", "QuadraticGameBase", "GeneralSumQuadraticGame", "QuadraticGame", "BilinearGame"]

#: What a built-in game's ValueError says after the names of the inputs to blame.
_OVERFLOW = "the value at these inputs exceeds the float range"


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
        """D_xy f as a dense (n, m) array (by default m products with unit vectors).

        The default checks x and y (finite, of shapes (n,) and (m,)) before the products,
        since a game written on the protocol need not check them itself, and the matrix
        after them (ValueError naming x, y if it is not finite).
        """
        x, y = check_point(self, x, y)
        xp = backend.array_namespace(x, y)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below
            matrix = self.dxy_f(x, y, xp.eye(self.m))
        return finite_or_overflow(matrix, "x, y", message="D_xy f is not finite at these inputs")

    def dyx_g_matrix(self, x, y):
        """D_yx g as a dense (m, n) array (by default n products with unit vectors).

        Checks x and y as :meth:`dxy_f_matrix` does.
        """
        x, y = check_point(self, x, y)
        xp = backend.array_namespace(x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            matrix = self.dyx_g(x, y, xp.eye(self.n))
        return finite_or_overflow(matrix, "x, y", message="D_yx g is not finite at these inputs")


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
    finite, and raises ``ValueError`` naming them if the value overflows (the step
    functions, which call the game at their iterates, report that as a divergence).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
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
            product = matrix @ vector
        return finite_or_overflow(product, f"x, y, {name}", message=_OVERFLOW)

    def grad_x_f(self, x, y):
        """∇ₓf = Px + Ay, shape (n,)."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = self.A @ y if self._p is None else self._p @ x + self.A @ y
        return finite_or_overflow(value, "x, y", message=_OVERFLOW)

    def grad_y_g(self, x, y):
        """∇_y g = Qy + Cx, shape (m,)."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = self._b_sign * (self._b.T @ x)
            value = value if self._q is None else self._q @ y + value
        return finite_or_overflow(value, "x, y", message=_OVERFLOW)

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


def _check_shape(name: str, matrix, shape: tuple[int, int], a_shape: tuple[int, int]):
    if tuple(matrix.shape) != shape:
        raise ValueError(
            f"{name}: expected shape {shape}, received {tuple(matrix.shape)} (the shape "
            f"follows from A, of shape {a_shape})"
        )


def _quadratic_form(matrix, u):
    return 0.0 if matrix is None else 0.5 * (u @ (matrix @ u))


class GeneralSumQuadraticGame(QuadraticGameBase):
    r"""General-sum quadratic game.

    Parameters
    ----------
    P : array_like, shape (n, n)
        D_xx f.
    A : array_like, shape (n, m)
        D_xy f.
    B : array_like, shape (n, m)
        The coupling matrix of g, so D_yx g = Bᵀ.
    Q : array_like, shape (m, m)
        D_yy g.

    Attributes
    ----------
    n, m : int
        Dimensions of x and y.
    zero_sum : bool
        False.

    Notes
    -----
    .. math::

        f(x, y) = \tfrac12 x^\top P x + x^\top A y, \qquad
        g(x, y) = \tfrac12 y^\top Q y + x^\top B y,

    so ∇ₓf = Px + Ay, ∇_y g = Qy + Bᵀx, D_xy f = A, D_yx g = Bᵀ, D_xx f = P and
    D_yy g = Q. With B = −A this has the same derivatives as the zero-sum game
    :class:`QuadraticGame` with the same P, A and Q (the terms of f and g that
    depend on one player only do not change its opponent's update) [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> game = GeneralSumQuadraticGame(np.eye(2), np.ones((2, 1)), np.zeros((2, 1)), [[3.0]])
    >>> game.grad_y_g(np.array([1.0, 2.0]), np.array([1.0]))
    array([3.])
    """

    def __init__(self, P, A, B, Q):
        self.A = as_game_matrix("A", A)
        self.n, self.m = (int(s) for s in self.A.shape)
        like = None if hasattr(self.A, "nnz") else self.A
        self._p = as_game_matrix("P", P, like=like)
        self._b = as_game_matrix("B", B, like=like)
        self._q = as_game_matrix("Q", Q, like=like)
        _check_shape("P", self._p, (self.n, self.n), self.A.shape)
        _check_shape("B", self._b, (self.n, self.m), self.A.shape)
        _check_shape("Q", self._q, (self.m, self.m), self.A.shape)
        backend.array_namespace(self._p, self.A, self._b, self._q)  # rejects mixed backends

    @property
    def B(self):
        """The coupling matrix of g, shape (n, m)."""
        return self._b

    def f(self, x, y):
        """f(x, y) = ½xᵀPx + xᵀAy, a float."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = _quadratic_form(self._p, x) + x @ (self.A @ y)
        return float(finite_or_overflow(value, "x, y", message=_OVERFLOW))

    def g(self, x, y):
        """g(x, y) = ½yᵀQy + xᵀBy, a float."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = _quadratic_form(self._q, y) + x @ (self._b @ y)
        return float(finite_or_overflow(value, "x, y", message=_OVERFLOW))


class QuadraticGame(QuadraticGameBase):
    r"""Zero-sum quadratic game: x minimizes and y maximizes f.

    Parameters
    ----------
    P : array_like, shape (n, n), or float for n = 1
        D_xx f.
    A : array_like, shape (n, m), or float
        D_xy f.
    Q : array_like, shape (m, m), or float
        D_yy g = −D_yy f.

    Attributes
    ----------
    n, m : int
        Dimensions of x and y.
    zero_sum : bool
        True.

    Notes
    -----
    .. math::

        f(x, y) = \tfrac12 x^\top P x + x^\top A y - \tfrac12 y^\top Q y,
        \qquad g = -f.

    So ∇ₓf = Px + Ay, ∇_y g = Qy − Aᵀx, D_xy f = A, D_yx g = −Aᵀ, D_xx f = P and
    D_yy g = Q. Positive semi-definite P and Q make f convex-concave. Special cases:

    * ``QuadraticGame(2α, 0, 2α)`` is f = α(x² − y²), and
      ``QuadraticGame(−2α, 0, −2α)`` is f = −α(x² − y²), the games of Section 4
      of [1]_ (for the second, the origin is a bad stationary point: a maximum
      for the minimizing player).
    * ``QuadraticGame(2, 10, -2)`` is the implicit competitive regularization
      example min_x max_y x² + 10xy + y² of [2]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
    .. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> game = QuadraticGame(2.0, 10.0, -2.0)   # x² + 10xy + y²
    >>> game.f(np.array([1.0]), np.array([1.0]))
    12.0
    """

    zero_sum = True
    _b_sign = -1.0

    def __init__(self, P, A, Q):
        self.A = as_game_matrix("A", A)
        self.n, self.m = (int(s) for s in self.A.shape)
        self._b = self.A
        like = None if hasattr(self.A, "nnz") else self.A
        self._p = as_game_matrix("P", P, like=like)
        self._q = as_game_matrix("Q", Q, like=like)
        _check_shape("P", self._p, (self.n, self.n), self.A.shape)
        _check_shape("Q", self._q, (self.m, self.m), self.A.shape)
        backend.array_namespace(self._p, self.A, self._q)

    def f(self, x, y):
        """f(x, y) = ½xᵀPx + xᵀAy − ½yᵀQy, a float."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = _quadratic_form(self._p, x) + x @ (self.A @ y) - _quadratic_form(self._q, y)
        return float(finite_or_overflow(value, "x, y", message=_OVERFLOW))

    def g(self, x, y):
        """g(x, y) = −f(x, y), a float."""
        return -self.f(x, y)


class BilinearGame(QuadraticGame):
    r"""The zero-sum bilinear game f(x, y) = xᵀAy: x minimizes, y maximizes.

    Parameters
    ----------
    A : float or array_like, shape (n, m), or sparse matrix
        Dense, sparse (SciPy or cupyx), rectangular or rank-deficient. A scalar α
        gives the 2-D game f = αxy with x, y of shape (1,).

    Attributes
    ----------
    n, m : int
        Dimensions of x and y.
    zero_sum : bool
        True.

    Notes
    -----
    .. math::

        f(x, y) = x^\top A y, \qquad g = -f,

    so ∇ₓf = Ay, ∇_y g = −Aᵀx, D_xy f = A and D_yx g = −Aᵀ. Every point with x in
    the null space of Aᵀ and y in the null space of A is an equilibrium. On f = αxy
    GDA spirals out and CGD contracts by 1/√(1 + η²α²) per step [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
       Figure 2.

    Examples
    --------
    >>> import numpy as np
    >>> game = BilinearGame(3.0)
    >>> game.grad_x_f(np.array([0.5]), np.array([0.5]))
    array([1.5])
    """

    def __init__(self, A):
        self.A = as_game_matrix("A", A)
        self.n, self.m = (int(s) for s in self.A.shape)
        self._b = self.A
