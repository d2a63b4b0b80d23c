r"""Viscous Burgers' equation: Crank–Nicolson in time, a GP in space, Cole–Hopf truth.

.. math::

    u_t + u u_x = \nu u_{xx} \text{ on } [-1, 1],\qquad u(\pm 1, t) = 0,\qquad
    u(x, 0) = -\sin(\pi x).

Crank–Nicolson turns each time step into a nonlinear boundary-value problem for
:math:`u = u^{n+1}`,

.. math::

    u + \tfrac{\Delta t}{2}(u u_x - \nu u_{xx}) = u^n - \tfrac{\Delta t}{2}
    (u^n u^n_x - \nu u^n_{xx}) =: b^n,

solved by Gauss–Newton with the measurements (δ, ∂ₓδ, ∂ₓ²δ) at the interior
points: linearized at v, the interior functional is
:math:`(1 + \tfrac{\Delta t}{2} v_x)\delta + \tfrac{\Delta t}{2} v\,\partial_x -
\tfrac{\Delta t}{2}\nu\,\partial_x^2` with data :math:`b^n + \tfrac{\Delta t}{2} v v_x`.
The points, ordering, patterns and the big factor are shared by every time step.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    check_choice,
    check_integer,
    check_positive,
    finite_or_overflow,
)
from refimpl.vecchia import Matern

from .dense import DenseSolver
from .gauss_newton import Solution, gauss_newton_loop
from .measurements import check_not_bool
from .problems import LINEARIZATION_OVERFLOWS, RESIDUAL_OVERFLOWS, check_state
from .solve import METHODS
from .sparse import SparseSolver

__all__ = ["Burgers", "cole_hopf"]


def cole_hopf(x, t, nu, nodes=100):
    r"""The exact solution of viscous Burgers with :math:`u_0 = -\sin(\pi x)`.

    Parameters
    ----------
    x : ndarray, shape (m,) or (m, 1)
        Points in [-1, 1].
    t : float
        Time > 0 (t = 0 returns the initial condition).
    nu : float
        Viscosity > 0.
    nodes : int, optional
        Gauss–Hermite nodes.

    Returns
    -------
    ndarray, shape (m,)

    Notes
    -----
    With the Cole–Hopf transform and :math:`\eta = \sqrt{4\nu t}\,s`,

    .. math::

        u(x, t) = -\frac{\int \sin(\pi(x - \eta))\, e^{-\cos(\pi(x - \eta))/(2\pi\nu)}
        e^{-\eta^2/(4\nu t)}\,d\eta}{\int e^{-\cos(\pi(x - \eta))/(2\pi\nu)}
        e^{-\eta^2/(4\nu t)}\,d\eta},

    both integrals by Gauss–Hermite quadrature (the exponent is shifted by its
    maximum per point, so nothing overflows for small ν).

    References
    ----------
    .. [1] Basdevant et al., "Spectral and finite difference solutions of the Burgers
       equation", Computers & Fluids 14(1), 1986.
    .. [2] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.2.

    Examples
    --------
    >>> import numpy as np
    >>> float(cole_hopf(np.array([0.5]), 1e-9, 0.1)[0])  # -sin(π/2) at t ≈ 0
    -1.0
    """
    x = as_float_array("x", x, ndim=(1, 2))  # computed on the device of x
    xp = backend.array_namespace(x)
    if (x.ndim == 2 and x.shape[1] != 1) or x.size == 0:
        raise ValueError(f"x: expected m >= 1 points of shape (m,) or (m, 1), received {x.shape}")
    x = x.reshape(-1)
    t = float(as_float_array("t", check_not_bool("t", t), ndim=0))
    if t < 0:
        raise ValueError(f"t: expected a time >= 0, received {t!r}")
    nu = check_positive("nu", nu)
    nodes = check_integer("nodes", nodes, minimum=2, maximum=1000)
    if t == 0:
        return -xp.sin(np.pi * x)
    s, w = (xp.asarray(a) for a in np.polynomial.hermite.hermgauss(nodes))  # host nodes
    y = x[:, None] - np.sqrt(4 * nu * t) * s[None, :]  # (m, nodes)
    exponent = -xp.cos(np.pi * y) / (2 * np.pi * nu)
    weight = w * xp.exp(exponent - exponent.max(axis=1, keepdims=True))
    u = -xp.sum(weight * xp.sin(np.pi * y), axis=1) / xp.sum(weight, axis=1)
    if not bool(xp.all(xp.isfinite(u))):
        raise ValueError(
            f"nu: the Cole–Hopf quadrature over- or underflows for nu = {nu!r} at t = {t!r} "
            "(and these x); expected a viscosity of moderate size, such as 1e-3 to 1"
        )
    return u


class Burgers:
    r"""Viscous Burgers' equation (see the module docstring).

    Parameters
    ----------
    nu : float, optional
        Viscosity (the authors' 0.001).
    T : float, optional
        Final time.
    dt : float, optional
        Time step; T/dt must be an integer.
    length_scale : float, optional
        Of the default Matérn-7/2 prior (the authors' 0.02 for h = 0.001).

    Attributes
    ----------
    basis : tuple of str
        ``("value", "d0", "d00")``.
    kernel : Matern
    nugget, steps : float, int
        1e-10 (relative) and two Gauss–Newton steps per time step.

    Notes
    -----
    Each time step solves

    .. math::

        u + \tfrac{\Delta t}{2}(u u_x - \nu u_{xx}) = b^n

    by Gauss–Newton started from :math:`u^n`.

    References
    ----------
    .. [1] Chen, Owhadi, Schäfer, Math. Comp., 2024, Sec. 6.2.

    Examples
    --------
    >>> from refimpl.pde import solve
    >>> sol = solve(Burgers(nu=0.05, T=0.1, dt=0.05, length_scale=0.2), 0.1, method="dense")
    >>> bool(sol.rms_error < 1e-2)
    True
    """

    basis = ("value", "d0", "d00")

    def __init__(self, nu=0.001, T=1.0, dt=0.02, length_scale=0.02):
        self.nu = check_positive("nu", nu)
        self.T = check_positive("T", T)
        self.dt = check_positive("dt", dt)
        count = self.T / self.dt
        if not np.isfinite(count) or count > 100_000 or abs(count - round(count)) > 1e-9:
            raise ValueError(f"dt: expected T/dt an integer (<= 1e5), received T/dt = {count!r}")
        self.time_steps = int(round(count))
        self.kernel = Matern(3.5, check_positive("length_scale", length_scale))
        self.nugget, self.steps = 1e-10, 2

    def collocation(self, h):
        """Boundary {−1, 1} and interior points −1 + h, ..., 1 − h (default backend)."""
        h = check_positive("h", h)
        n = int(round(2.0 / h)) if 2e-6 <= h <= 1 else 0
        if n < 2 or abs(n * h - 2.0) > 1e-9 or n > 10**6:
            raise ValueError(f"h: expected 2/h an integer in [2, 1e6], received h = {h!r}")
        interior = (-1.0 + np.arange(1, n) * (2.0 / n))[:, None]
        return backend.asarray(np.array([[-1.0], [1.0]])), backend.asarray(interior)

    def truth(self, x, t=None):
        """Cole–Hopf solution at time t (default T)."""
        return cole_hopf(x, self.T if t is None else t, self.nu)

    def initial_state(self, x):
        """(u₀, u₀', u₀'') at points x, shape (m,) or (m, 1) in [−1, 1] -> (m, 3)."""
        return self._initial_state(check_line("x", x))

    def _initial_state(self, x):
        x = x[:, 0]
        xp = backend.array_namespace(x)
        return xp.stack(
            [-xp.sin(np.pi * x), -np.pi * xp.cos(np.pi * x), np.pi**2 * xp.sin(np.pi * x)], 1
        )

    def linearize(self, state, b):
        """Weights of (δ, ∂ₓ, ∂ₓ²) and the right-hand side at the state (v, vₓ, vₓₓ).

        Parameters
        ----------
        state : ndarray, shape (n, 3)
            (v, vₓ, vₓₓ) at n interior points.
        b : ndarray, shape (n,)
            The time step's data bⁿ there.

        Returns
        -------
        weights : ndarray, shape (n, 3)
        rhs : ndarray, shape (n,)
        """
        state, b = check_state(self, state, b, "b")
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            result = self._linearize(state, b)
        return finite_or_overflow(result, "state, b", message=LINEARIZATION_OVERFLOWS)

    def _linearize(self, state, b):
        """:meth:`linearize` of checked arrays (a Gauss–Newton step)."""
        half = 0.5 * self.dt
        v, vx = state[:, 0], state[:, 1]
        xp = backend.array_namespace(v)
        weights = xp.stack([1 + half * vx, half * v, xp.full_like(v, -half * self.nu)], axis=1)
        return weights, b + half * v * vx

    def residual(self, state, b):
        """u + Δt/2 (u uₓ − ν uₓₓ) − bⁿ, shape (n,); arguments as in :meth:`linearize`."""
        state, b = check_state(self, state, b, "b")
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            result = self._residual(state, b)
        return finite_or_overflow(result, "state, b", message=RESIDUAL_OVERFLOWS)

    def _residual(self, state, b):
        """:meth:`residual` of checked arrays."""
        u, ux, uxx = state.T
        return u + 0.5 * self.dt * (u * ux - self.nu * uxx) - b

    def run(self, solver, system, steps, method):
        """Advance to time T; returns the Solution at T (history of every GN step).

        Parameters
        ----------
        solver : DenseSolver or SparseSolver
            Built for ``system``.
        system : CollocationSystem
            The solver's system: points in [−1, 1] with this problem's basis.
        steps : int
            Gauss–Newton steps per time step (>= 1).
        method : {"sparse", "dense"}
            The solver's name, recorded in the Solution.

        Returns
        -------
        Solution
        """
        if not isinstance(solver, DenseSolver | SparseSolver):
            raise ValueError(f"solver: expected a DenseSolver or SparseSolver, received {solver!r}")
        if system is not solver.system:
            raise ValueError(
                f"system: expected the solver's collocation system, received {system!r:.80}"
            )
        if system.basis != self.basis:
            raise ValueError(f"system: expected the basis {self.basis}, received {system.basis}")
        check_line("system", system.points)
        steps = check_integer("steps", steps, minimum=1, maximum=10_000)
        method = check_choice("method", method, METHODS)
        return self._run(solver, system, steps, method)

    def _run(self, solver, system, steps, method):
        """:meth:`run` of checked arguments."""
        interior = system.interior
        state = self._initial_state(interior)
        history = []
        half = 0.5 * self.dt
        for n in range(self.time_steps):
            u, ux, uxx = state.T
            b = u - half * (u * ux - self.nu * uxx)
            state, weights, alpha, steps_taken = gauss_newton_loop(
                solver,
                lambda s, b=b: self._linearize(s, b),
                backend.array_namespace(interior).zeros(system.n_boundary),
                state,
                steps,
                residual=lambda s, b=b: self._residual(s, b),
            )
            for record in steps_taken:
                record["time_step"] = n + 1
            history.extend(steps_taken)

        def evaluate(x):
            # new points from either device are moved to the solution's (explicitly)
            return solver.evaluate(
                weights, alpha, backend.to_device(check_line("x", x), like=interior)
            )

        return Solution(
            points=interior,
            values=state[:, 0],
            boundary=system.boundary,
            truth=self.truth(interior),
            history=history,
            timings=getattr(solver, "timings", {}),
            method=method,
            _evaluate=evaluate,
        )


def check_line(name, x):
    """Return points ``x`` of shape (m,) or (m, 1) in [−1, 1] as (m, 1), or raise ValueError."""
    x = as_float_array(name, check_not_bool(name, x), ndim=(1, 2))
    if x.shape[0] == 0 or (x.ndim == 2 and x.shape[1] != 1):
        raise ValueError(f"{name}: expected points of shape (m,) or (m, 1), received {x.shape}")
    x = x.reshape(-1, 1)
    if bool(backend.array_namespace(x).any(abs(x) > 1)):
        raise ValueError(f"{name}: expected points in the domain [-1, 1]")
    return x
