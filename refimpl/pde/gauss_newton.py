r"""Gauss–Newton for a PDE conditioned at collocation points, and its result.

The GP solution of :math:`P(u) = f` minimizes :math:`\|u\|_k` subject to the PDE at
the collocation points. Gauss–Newton linearizes P at the current iterate v,
:math:`P(u) \approx P(v) + P'(v)(u - v)`, so each step is the GP conditioned on the
*linear* measurements :math:`\phi_i = P'(v)\delta_{x_i}` with data
:math:`f_i - P(v)(x_i) + P'(v)v(x_i)`:

.. math::

    v_{\text{new}} = k(\cdot, \phi)\,\Theta^{-1} r, \qquad \Theta = k(\phi, \phi).

A linear PDE is therefore solved in one step. For a nonlinear one the PDE residual
after a step is quadratic in the step u − v (the linearization error); the iterates
themselves converge linearly, with a small rate, in general (``docs/derivations/pde.md``,
section 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from refimpl import backend
from refimpl.validation import DivergenceError, as_float_array, check_integer

from .dense import DenseSolver
from .measurements import LARGEST, check_backend, check_coordinates
from .sparse import SparseSolver

__all__ = ["gauss_newton", "Solution"]


def gauss_newton(solver, linearize, boundary_values, state, steps, residual=None):
    r"""Run Gauss–Newton steps with a dense or sparse solver.

    Parameters
    ----------
    solver : DenseSolver or SparseSolver
    linearize : callable
        ``linearize(state) -> (weights, rhs)``: the linearized interior measurement
        weights (n_i, T) and right-hand side (n_i,) at the current state.
    boundary_values : ndarray, shape (n_b,)
    state : ndarray, shape (n_i, T)
        The basis measurements of the starting iterate at the interior points. It and
        ``boundary_values`` live on the device of the system's points, and so does every
        iterate (the dense solver computes there; the sparse one on the host).
    steps : int
        Number of Gauss–Newton steps (>= 1).
    residual : callable, optional
        ``residual(state) -> (n_i,)``, the PDE residual of an iterate; its RMS is
        recorded per step as ``pde_residual``.

    Returns
    -------
    state : ndarray, shape (n_i, T)
        The basis measurements of the last iterate.
    weights, alpha : ndarray
        The last step's weights and kernel coefficients (the iterate is
        :math:`k(\cdot, \phi)\alpha`).
    history : list of dict
        Per step: ``time``, ``cg_iterations``, ``residual`` (of the linear solve),
        ``update`` (relative change of the state) and the solver's other entries.

    Raises
    ------
    DivergenceError
        If an iterate is not finite or grows beyond 1e150 (naming the step), or
        the solver's CG does not converge.

    Notes
    -----
    .. math::

        \phi_i = \sum_t w_{it}(v) B_t\delta_{x_i},\qquad
        v \leftarrow k(\cdot, \phi)\,(\Theta + \eta\,\mathrm{diag}\,\Theta)^{-1}
        [g; r(v)].

    References
    ----------
    .. [1] Chen, Hosseini, Owhadi, Stuart, "Solving and learning nonlinear PDEs with
       Gaussian processes", J. Comput. Phys. 447, 2021, Sec. 3.3.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> from refimpl.pde import CollocationSystem, DenseSolver, MeasurementKernel
    >>> x = np.linspace(0, 1, 7)[:, None]
    >>> s = CollocationSystem(x[[0, -1]], x[1:-1], ("value", "d00"))
    >>> solver = DenseSolver(MeasurementKernel(Matern(3.5, 0.5)), s, 1e-12)
    >>> linear = lambda state: (np.tile([0.0, 1.0], (5, 1)), np.full(5, 2.0))
    >>> state, w, alpha, history = gauss_newton(solver, linear, np.zeros(2), np.zeros((5, 2)), 2)
    >>> bool(history[1]["update"] < 1e-8)  # linear: the second step changes nothing
    True
    """
    if not isinstance(solver, DenseSolver | SparseSolver):
        raise ValueError(f"solver: expected a DenseSolver or SparseSolver, received {solver!r}")
    if not callable(linearize):
        raise ValueError(f"linearize: expected a callable state -> (weights, rhs), {linearize!r}")
    if residual is not None and not callable(residual):
        raise ValueError(
            f"residual: expected None or a callable state -> (n_i,), received {residual!r:.80}"
        )
    system = solver.system
    like = system.interior
    boundary_values = as_float_array("boundary_values", boundary_values, 1, like=like)
    boundary_values = check_coordinates(
        "boundary_values", check_backend("boundary_values", boundary_values, like)
    )
    if boundary_values.shape != (system.n_boundary,):
        raise ValueError(
            f"boundary_values: expected shape ({system.n_boundary},), "
            f"received {boundary_values.shape}"
        )
    state = as_float_array("state", state, ndim=2, like=like)
    state = check_coordinates("state", check_backend("state", state, like))
    if state.shape != (system.n_interior, system.n_types):
        raise ValueError(
            f"state: expected shape ({system.n_interior}, {system.n_types}), received {state.shape}"
        )
    steps = check_integer("steps", steps, minimum=1, maximum=10_000)
    return gauss_newton_loop(solver, linearize, boundary_values, state, steps, residual)


def gauss_newton_loop(solver, linearize, boundary_values, state, steps, residual=None):
    """:func:`gauss_newton` of checked arguments: the loop, with the solvers' unchecked steps.

    The callables' results are checked each step (they are the caller's code); the
    solvers' own checks are not repeated.
    """
    system = solver.system
    xp = backend.array_namespace(state)  # the device of every iterate
    shapes = ((system.n_interior, system.n_types), (system.n_interior,))
    history = []
    for step in range(1, steps + 1):
        try:
            weights, rhs = linearize(state)
            weights, rhs = xp.asarray(weights, dtype=float), xp.asarray(rhs, dtype=float)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"linearize: expected it to return (weights, rhs) arrays; {error}"
            ) from None
        if (weights.shape, rhs.shape) != shapes:
            raise ValueError(
                f"linearize: expected it to return weights of shape {shapes[0]} and rhs of "
                f"shape {shapes[1]}, received {weights.shape} and {rhs.shape}"
            )
        rhs = xp.concatenate([boundary_values, rhs])
        entries = xp.concatenate([weights.ravel(), rhs.ravel()])
        largest = float(xp.max(xp.abs(entries))) if entries.size else 0.0
        if not largest <= LARGEST:  # also NaN
            raise DivergenceError(
                f"Gauss–Newton step {step}: the linearization is not finite or overflows "
                f"(max |weight|, |rhs| = {largest:.3g}); the iterate diverged; start closer to "
                "the solution",
                step,
            )
        alpha, info = solver._solve(weights, rhs, step)
        new_state = solver._state(weights, alpha)
        size = float(xp.max(xp.abs(new_state))) if new_state.size else 0.0
        if not math.isfinite(size) or size > 1e150:
            raise DivergenceError(
                f"Gauss–Newton step {step}: the iterate diverged (max |v| = {size:.3g})", step
            )
        info["update"] = float(xp.linalg.norm(new_state[:, 0] - state[:, 0])) / max(
            float(xp.linalg.norm(new_state[:, 0])), 1e-300
        )
        if residual is not None:
            info["pde_residual"] = float(xp.sqrt(xp.mean(residual(new_state) ** 2)))
        history.append(info)
        state = new_state
    return state, weights, alpha, history


@dataclass
class Solution:
    r"""The GP solution of a PDE: values at the collocation points and a callable.

    Attributes
    ----------
    points : ndarray, shape (n_i, d)
        Interior collocation points.
    values : ndarray, shape (n_i,)
        The solution there.
    boundary : ndarray, shape (n_b, d)
    truth : ndarray, shape (n_i,)
        The exact solution at the points.
    history : list of dict
        Per Gauss–Newton step (see :func:`gauss_newton`).
    timings : dict
        Set-up seconds (ordering, pattern, factor) for the sparse solver.
    method : str

    Notes
    -----
    ``values`` and ``truth`` live on the device of the collocation points (CuPy under
    ``backend.set_default("cupy")``), and calling it returns values there.
    Calling it evaluates the GP mean of the last step whose values at the collocation
    points are ``values``: :math:`u(x) = k(\delta_x, \phi)\alpha` for the dense
    solver, and for the sparse one the state conditioned on the measurements near x
    (:meth:`SparseSolver.evaluate <refimpl.pde.SparseSolver.evaluate>`). Errors are
    :math:`\sqrt{\mathrm{mean}_i (u_i - u^*_i)^2}` (RMS) and :math:`\max_i |u_i - u^*_i|`
    over the interior points.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.

    Examples
    --------
    >>> import numpy as np
    >>> s = Solution(np.zeros((1, 1)), np.ones(1), np.zeros((0, 1)), np.ones(1), [], {}, "dense")
    >>> s.rms_error, s.max_error
    (0.0, 0.0)
    """

    points: np.ndarray
    values: np.ndarray
    boundary: np.ndarray
    truth: np.ndarray
    history: list
    timings: dict
    method: str
    _evaluate: object = field(default=None, repr=False)

    @property
    def rms_error(self) -> float:
        """RMS error over the interior points."""
        xp = backend.array_namespace(self.values, self.truth)
        return float(xp.sqrt(xp.mean((self.values - self.truth) ** 2)))

    @property
    def max_error(self) -> float:
        """Maximum error over the interior points."""
        xp = backend.array_namespace(self.values, self.truth)
        return float(xp.max(xp.abs(self.values - self.truth)))

    def __call__(self, x):
        """The solution at new points ``x`` (m, d) -> (m,)."""
        if self._evaluate is None:
            raise ValueError("x: this Solution holds no GP to evaluate at new points")
        return self._evaluate(x)
