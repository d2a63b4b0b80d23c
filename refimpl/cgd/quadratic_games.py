r"""The built-in games: general-sum quadratic, zero-sum quadratic and bilinear.

Every derivative of these games is a product with one of their matrices (see
:class:`refimpl.cgd.games.QuadraticGameBase`); their equilibrium is z = (x, y) = 0,
which is where the figures and closed forms measure distances from.

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
from refimpl.cgd.arguments import as_game_matrix, check_point, finite_value
from refimpl.cgd.games import QuadraticGameBase

__all__ = ["GeneralSumQuadraticGame", "QuadraticGame", "BilinearGame"]


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
        return float(finite_value("f", value))

    def g(self, x, y):
        """g(x, y) = ½yᵀQy + xᵀBy, a float."""
        x, y = check_point(self, x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            value = _quadratic_form(self._q, y) + x @ (self._b @ y)
        return float(finite_value("g", value))


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
        return float(finite_value("f", value))

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
