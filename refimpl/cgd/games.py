"""Two-player games: player x minimizes f(x, y), player y minimizes g(x, y).

A game exposes exact first derivatives and Hessian-vector products, never
finite differences. The conventions:

* ``grad_x_f(x, y)`` is ∇ₓf, shape (n,); ``grad_y_g(x, y)`` is ∇_y g, shape (m,).
* ``dxy_f(x, y, v)`` is D_xy f · v with D_xy f = ∂²f/∂x∂y of shape (n, m): it maps a
  y-vector v (m,) or a block (m, k) to x-space.
* ``dyx_g(x, y, u)`` is D_yx g · u with D_yx g = ∂²g/∂y∂x of shape (m, n).
* ``dxx_f(x, y, u)`` and ``dyy_g(x, y, v)``: the pure second derivatives, used by
  ConOpt only.
* ``zero_sum`` is True when g = −f. Then D_yx g = −(D_xy f)ᵀ and ∇_y f = −∇_y g.

Built-in games are quadratic, so every derivative is a matrix product. For the
scalar bilinear game f = αxy, ``x`` and ``y`` are arrays of shape (1,).

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103.
"""

from __future__ import annotations

import numbers

from refimpl import backend
from refimpl.validation import as_float_array

__all__ = [
    "Game",
    "BilinearGame",
    "QuadraticGame",
    "GeneralSumQuadraticGame",
    "check_step_arguments",
]


def _as_matrix(name: str, value, like=None):
    """A dense (p, q) float matrix or a sparse matrix (scipy or cupyx), checked finite."""
    if getattr(value, "ndim", None) == 0:  # a 0-d array or NumPy scalar: the game αxy
        value = value.reshape(1, 1)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = [[float(value)]]
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # sparse: check stored values
        as_float_array(name, value.data, ndim=1)
        return value
    return as_float_array(name, value, ndim=2, like=like)


def _check_shape(name: str, matrix, shape: tuple[int, int]):
    if tuple(matrix.shape) != shape:
        raise ValueError(f"{name}: expected shape {shape}, received {tuple(matrix.shape)}")


def check_step_arguments(game, x, y, eta_x, eta_y) -> None:
    """Check the arguments of a single-step function; raise ValueError naming the culprit.

    Shapes must match the game and step sizes must be positive (scalars, or
    per-coordinate arrays of the players' shapes). Finiteness is checked once by
    :func:`refimpl.cgd.run`, not at every step.
    """
    for name, vector, size in (("x", x, game.n), ("y", y, game.m)):
        if getattr(vector, "shape", None) != (size,):
            shape = getattr(vector, "shape", type(vector).__name__)
            raise ValueError(f"{name}: expected an array of shape ({size},), received {shape}")
    for name, eta, size in (("eta_x", eta_x, game.n), ("eta_y", eta_y, game.m)):
        if getattr(eta, "ndim", 0) == 0:
            if not float(eta) > 0:
                raise ValueError(f"{name}: expected a step size > 0, received {eta!r}")
        elif eta.shape != (size,) or not bool((eta > 0).all()):
            raise ValueError(
                f"{name}: expected a positive scalar or positive array of shape ({size},), "
                f"received an array of shape {eta.shape} with minimum {float(eta.min())}"
            )


class Game:
    """Base class of two-player games (a protocol; subclass and fill in).

    Attributes
    ----------
    n, m : int
        Dimensions of x and y.
    zero_sum : bool
        True when g = −f.
    """

    n: int
    m: int
    zero_sum: bool = False

    def f(self, x, y):
        """Loss of player x."""
        raise NotImplementedError

    def g(self, x, y):
        """Loss of player y."""
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


class GeneralSumQuadraticGame(Game):
    r"""General-sum quadratic game.

    .. math::

        f(x, y) = \tfrac12 x^\top P x + x^\top A y, \qquad
        g(x, y) = \tfrac12 y^\top Q y + x^\top B y,

    so ∇ₓf = Px + Ay, ∇_y g = Qy + Bᵀx, D_xy f = A, D_yx g = Bᵀ, D_xx f = P and
    D_yy g = Q. With B = −A this has the same derivatives as the zero-sum game
    :class:`QuadraticGame` with the same P, A and Q (the terms of f and g that
    depend on one player only do not change its opponent's update).

    Parameters
    ----------
    P : array_like, shape (n, n)
    A : array_like, shape (n, m)
    B : array_like, shape (n, m)
    Q : array_like, shape (m, m)

    Examples
    --------
    >>> import numpy as np
    >>> game = GeneralSumQuadraticGame(np.eye(2), np.ones((2, 1)), np.zeros((2, 1)), [[3.0]])
    >>> game.grad_y_g(np.array([1.0, 2.0]), np.array([1.0]))
    array([3.])
    """

    def __init__(self, P, A, B, Q):
        self.A = _as_matrix("A", A)
        self.n, self.m = (int(s) for s in self.A.shape)
        self.P = _as_matrix("P", P, like=self.A)
        self.B = _as_matrix("B", B, like=self.A)
        self.Q = _as_matrix("Q", Q, like=self.A)
        _check_shape("P", self.P, (self.n, self.n))
        _check_shape("B", self.B, (self.n, self.m))
        _check_shape("Q", self.Q, (self.m, self.m))
        backend.array_namespace(self.P, self.A, self.B, self.Q)  # rejects mixed backends

    def f(self, x, y):
        return 0.5 * x @ (self.P @ x) + x @ (self.A @ y)

    def g(self, x, y):
        return 0.5 * y @ (self.Q @ y) + x @ (self.B @ y)

    def grad_x_f(self, x, y):
        return self.P @ x + self.A @ y

    def grad_y_g(self, x, y):
        return self.Q @ y + self.B.T @ x

    def dxy_f(self, x, y, v):
        return self.A @ v

    def dyx_g(self, x, y, u):
        return self.B.T @ u

    def dxx_f(self, x, y, u):
        return self.P @ u

    def dyy_g(self, x, y, v):
        return self.Q @ v


class QuadraticGame(Game):
    r"""Zero-sum quadratic game: x minimizes and y maximizes

    .. math::

        f(x, y) = \tfrac12 x^\top P x + x^\top A y - \tfrac12 y^\top Q y,
        \qquad g = -f.

    So ∇ₓf = Px + Ay, ∇_y g = Qy − Aᵀx, D_xy f = A, D_yx g = −Aᵀ, D_xx f = P and
    D_yy g = Q. Positive semi-definite P and Q make f convex-concave.

    Special cases:

    * ``QuadraticGame(2α, 0, 2α)`` is f = α(x² − y²), and
      ``QuadraticGame(−2α, 0, −2α)`` is f = −α(x² − y²), the games of Section 4
      of [1]_ (for the second, the origin is a bad stationary point: a maximum
      for the minimizing player).
    * ``QuadraticGame(2, 10, -2)`` is the implicit competitive regularization
      example min_x max_y x² + 10xy + y² of [2]_.

    Parameters
    ----------
    P : array_like, shape (n, n), or float for n = 1
    A : array_like, shape (n, m), or float
    Q : array_like, shape (m, m), or float

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
    .. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive
       regularization in GANs", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> game = QuadraticGame(2.0, 10.0, -2.0)   # x² + 10xy + y²
    >>> float(game.f(np.array([1.0]), np.array([1.0])))
    12.0
    """

    zero_sum = True

    def __init__(self, P, A, Q):
        self.A = _as_matrix("A", A)
        self.n, self.m = (int(s) for s in self.A.shape)
        self.P = _as_matrix("P", P, like=self.A)
        self.Q = _as_matrix("Q", Q, like=self.A)
        _check_shape("P", self.P, (self.n, self.n))
        _check_shape("Q", self.Q, (self.m, self.m))
        backend.array_namespace(self.P, self.A, self.Q)

    def f(self, x, y):
        return 0.5 * x @ (self.P @ x) + x @ (self.A @ y) - 0.5 * y @ (self.Q @ y)

    def g(self, x, y):
        return -self.f(x, y)

    def grad_x_f(self, x, y):
        return self.P @ x + self.A @ y

    def grad_y_g(self, x, y):
        return self.Q @ y - self.A.T @ x

    def dxy_f(self, x, y, v):
        return self.A @ v

    def dyx_g(self, x, y, u):
        return -(self.A.T @ u)

    def dxx_f(self, x, y, u):
        return self.P @ u

    def dyy_g(self, x, y, v):
        return self.Q @ v


class BilinearGame(QuadraticGame):
    r"""The zero-sum bilinear game f(x, y) = xᵀAy: x minimizes, y maximizes.

    .. math::

        f(x, y) = x^\top A y, \qquad g = -f,

    so ∇ₓf = Ay, ∇_y g = −Aᵀx, D_xy f = A and D_yx g = −Aᵀ. A may be
    rectangular, rank-deficient, or a sparse matrix (SciPy or cupyx). A scalar α
    gives the 2-D game f = αxy with x, y of shape (1,). Every point with x in
    the null space of Aᵀ and y in the null space of A is an equilibrium.

    Parameters
    ----------
    A : float or array_like, shape (n, m), or sparse matrix

    Examples
    --------
    >>> import numpy as np
    >>> game = BilinearGame(3.0)
    >>> game.grad_x_f(np.array([0.5]), np.array([0.5]))
    array([1.5])
    """

    def __init__(self, A):
        self.A = _as_matrix("A", A)
        self.n, self.m = (int(s) for s in self.A.shape)
        self._sparse = hasattr(self.A, "nnz")

    @property
    def P(self):
        return self._zeros(self.n)

    @property
    def Q(self):
        return self._zeros(self.m)

    def _zeros(self, size):
        return backend.array_namespace(self.A).zeros((size, size))

    def f(self, x, y):
        return x @ (self.A @ y)

    def grad_x_f(self, x, y):
        return self.A @ y

    def grad_y_g(self, x, y):
        return -(self.A.T @ x)

    def dxx_f(self, x, y, u):
        return 0.0 * u

    def dyy_g(self, x, y, v):
        return 0.0 * v
