r"""The nonlinear elliptic problem on the unit square, with its exact solution.

Conventions: :math:`\Delta = \sum_i \partial_i^2` (so :math:`-\Delta` is positive);
the interior grid of spacing h is :math:`\{h, 2h, \dots, 1 - h\}^2` and the
boundary points are spaced h along the four sides (corners once), as in the
authors' code; the nugget η is relative to the diagonal of the Gram matrix.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    check_array_size,
    check_integer,
    check_positive,
    finite_or_overflow,
)
from refimpl.vecchia import Matern

from .measurements import check_backend, check_not_bool

__all__ = ["NonlinearElliptic", "unit_square_grid", "check_unit_square", "check_state"]


#: What overflows when a linearization or residual of finite arrays is not finite.
LINEARIZATION_OVERFLOWS = "the linearization overflows; expected a state of moderate size"
RESIDUAL_OVERFLOWS = "the residual overflows; expected a state of moderate size"


def unit_square_grid(h):
    r"""Interior grid and boundary points of spacing h on :math:`[0, 1]^2`.

    Parameters
    ----------
    h : float
        Spacing with 1/h an integer >= 2.

    Returns
    -------
    boundary : ndarray, shape (4/h, 2)
    interior : ndarray, shape ((1/h - 1)², 2)
        Arrays of the default backend (:func:`refimpl.backend.set_default`): the grid
        is made on the host and copied there once.

    Notes
    -----
    .. math:: x_{ij} = (ih, jh),\ 1 \le i, j \le 1/h - 1.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.1.

    Examples
    --------
    >>> b, x = unit_square_grid(0.5)
    >>> b.shape, x.tolist()
    ((8, 2), [[0.5, 0.5]])
    """
    h = check_positive("h", h)
    n = int(round(1.0 / h)) if 1e-6 <= h <= 0.5 else 0
    if n < 2 or abs(n * h - 1.0) > 1e-9 or n > 4000:
        raise ValueError(f"h: expected 1/h an integer in [2, 4000], received h = {h!r}")
    t = np.arange(1, n) / n
    interior = np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, 2)
    side = np.arange(n) / n
    boundary = np.concatenate(
        [
            np.stack([side, np.zeros(n)], 1),
            np.stack([np.ones(n), side], 1),
            np.stack([1.0 - side, np.ones(n)], 1),
            np.stack([np.zeros(n), 1.0 - side], 1),
        ]
    )
    return backend.asarray(boundary), backend.asarray(interior)


def check_unit_square(name, x):
    """Return ``x`` as (m, 2) points in [0, 1]² (on its device), or raise ValueError naming
    ``name``."""
    x = as_float_array(name, check_not_bool(name, x), ndim=2)
    if x.shape[1] != 2 or x.shape[0] == 0:
        raise ValueError(f"{name}: expected points of shape (m, 2), received {x.shape}")
    xp = backend.array_namespace(x)
    if bool(xp.any(x < 0)) or bool(xp.any(x > 1)):
        raise ValueError(f"{name}: expected points in the domain [0, 1]^2, received some outside")
    return x


def check_state(problem, state, data, data_name):
    """Return ``state`` (n, T) and ``data`` (n,) of a problem as float arrays, or raise.

    ``state`` holds the basis measurements (``problem.basis``, T of them) of an iterate at
    n interior points; ``data`` the right-hand side there, named ``data_name``, on the
    device of ``state``.
    """
    state = as_float_array("state", check_not_bool("state", state), ndim=2)
    types = len(problem.basis)
    if state.shape[0] == 0 or state.shape[1] != types:
        raise ValueError(
            f"state: expected shape (n, {types}) of the basis {problem.basis}, received "
            f"{state.shape}"
        )
    data = as_float_array(data_name, check_not_bool(data_name, data), ndim=1, like=state)
    check_backend(data_name, data, state)
    if data.shape != (state.shape[0],):
        raise ValueError(
            f"{data_name}: expected shape ({state.shape[0]},) like the state's rows, received "
            f"{data.shape}"
        )
    return state, data


def check_count(n):
    """Return ``n`` as a number of interior points whose (n, 4) state fits in memory."""
    n = check_integer("n", n, minimum=1)
    check_array_size("n", (n, 4))  # the widest state, Monge–Ampère's
    return n


class NonlinearElliptic:
    r"""The nonlinear elliptic problem :math:`-\Delta u + \alpha u^m = f` on :math:`[0,1]^2`.

    Parameters
    ----------
    alpha : float, optional
    m : int, optional
        Odd m >= 1 keeps the problem monotone; m = 1 with alpha = 0 is linear.
    terms : int, optional
        Terms of the exact solution's series.

    Attributes
    ----------
    basis : tuple of str
        ``("value", "laplacian")``.
    kernel : Matern
        Default prior: Matérn-7/2, length scale 0.3 (the authors').
    nugget, steps : float, int
        Default relative nugget 1e-10 and three Gauss–Newton steps.

    Notes
    -----
    The authors' truth and data: :math:`u = \sum_{k=1}^{K} \sin(\pi k x_1)\sin(\pi k x_2)/k^6`,
    :math:`f = \sum_k 2\pi^2 k^2 \sin(\pi k x_1)\sin(\pi k x_2)/k^6 + \alpha u^m`,
    g = u on the boundary. Linearized at v the interior measurement is
    :math:`(-\Delta + \alpha m v^{m-1})\delta_x` with data
    :math:`f + \alpha(m-1)v^m`.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, "Sparse Cholesky factorization for solving
       nonlinear PDEs via Gaussian processes", Math. Comp., 2024, Sec. 6.1.

    Examples
    --------
    >>> import numpy as np
    >>> p = NonlinearElliptic()
    >>> float(p.truth(np.array([[0.0, 0.3]]))[0])
    0.0
    """

    basis = ("value", "laplacian")

    def __init__(self, alpha=1.0, m=3, terms=600):
        self.alpha = float(as_float_array("alpha", check_not_bool("alpha", alpha), ndim=0))
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or not 1 <= m <= 9:
            raise ValueError(f"m: expected an integer power in [1, 9], received {m!r}")
        self.m = int(m)
        if isinstance(terms, bool) or not isinstance(terms, int | np.integer) or not 1 <= terms:
            raise ValueError(f"terms: expected a positive integer, received {terms!r}")
        self.terms = min(int(terms), 5000)
        self.kernel = Matern(3.5, 0.3)
        self.nugget, self.steps = 1e-10, 3

    def collocation(self, h):
        """``(boundary, interior)`` points of spacing h (see :func:`unit_square_grid`)."""
        return unit_square_grid(h)

    def _series(self, x, power):
        x = check_unit_square("x", x)
        xp = backend.array_namespace(x)  # computed on the device of x
        k = xp.arange(1, self.terms + 1)
        coeff = (np.pi * k) ** power / k**6.0
        # On a grid the coordinates repeat: the sines of the distinct values, and one
        # product of the two tables, give every point (99² points of h = 0.01 need a
        # 99 × 99 table instead of 2·10⁷ sines).
        first, where1 = xp.unique(x[:, 0], return_inverse=True)
        second, where2 = xp.unique(x[:, 1], return_inverse=True)
        if first.size * second.size <= max(4 * x.shape[0], 10**4):
            table = (xp.sin(np.pi * xp.outer(first, k)) * coeff) @ xp.sin(
                np.pi * xp.outer(second, k)
            ).T  # (distinct x₁, distinct x₂)
            return table[where1.ravel(), where2.ravel()]
        out = xp.empty(x.shape[0])
        for s in range(0, x.shape[0], 2000):
            sin1 = xp.sin(np.pi * xp.outer(x[s : s + 2000, 0], k))
            sin2 = xp.sin(np.pi * xp.outer(x[s : s + 2000, 1], k))
            out[s : s + 2000] = (sin1 * sin2) @ coeff
        return out

    def truth(self, x):
        """The exact solution at points x (m, 2)."""
        return self._series(x, 0)

    def rhs(self, x):
        r"""The right-hand side f at points x."""
        return 2.0 * self._series(x, 2) + self.alpha * self.truth(x) ** self.m

    def initial_state(self, n):
        """v = 0 (and Δv = 0) at n interior points, shape (n, 2), on the default backend."""
        return backend.default_namespace().zeros((check_count(n), 2))

    def linearize(self, state, f):
        """Weights of (δ, Δδ) and the right-hand side at the state (v, Δv).

        Parameters
        ----------
        state : ndarray, shape (n, 2)
            v and Δv at n interior points.
        f : ndarray, shape (n,)
            The right-hand side there.

        Returns
        -------
        weights : ndarray, shape (n, 2)
        rhs : ndarray, shape (n,)
        """
        state, f = check_state(self, state, f, "f")
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            result = self._linearize(state, f)
        return finite_or_overflow(result, "state, f", message=LINEARIZATION_OVERFLOWS)

    def _linearize(self, state, f):
        """:meth:`linearize` of checked arrays (a Gauss–Newton step)."""
        v = state[:, 0]
        xp = backend.array_namespace(v)
        weights = xp.stack([self.alpha * self.m * v ** (self.m - 1), -xp.ones_like(v)], axis=1)
        return weights, f + self.alpha * (self.m - 1) * v**self.m

    def residual(self, state, f):
        """The PDE residual −Δv + α v^m − f at the interior points, shape (n,).

        ``state`` (n, 2) and ``f`` (n,) as in :meth:`linearize`.
        """
        state, f = check_state(self, state, f, "f")
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            result = self._residual(state, f)
        return finite_or_overflow(result, "state, f", message=RESIDUAL_OVERFLOWS)

    def _residual(self, state, f):
        """:meth:`residual` of checked arrays."""
        return -state[:, 1] + self.alpha * state[:, 0] ** self.m - f
