"""The methods of refimpl.pde's classes keep the contract, and the loops skip the checks.

Regression tests for the outside sweep of issue 23: each test names what the old code
did. The last tests hold the other half of the design: the Gauss–Newton loop and the
PCG iteration call the solvers' unchecked forms, so the public checks run once per call
of ``solve``, not once per step or iteration.
"""

import numpy as np
import pytest

from refimpl import validation
from refimpl.pde import (
    Burgers,
    CollocationSystem,
    DenseSolver,
    MeasurementKernel,
    MongeAmpere,
    NonlinearElliptic,
    SparseSolver,
    gauss_newton,
    laplacians,
    solve,
)
from tests.contract import ForeignArray

ELLIPTIC = NonlinearElliptic(terms=20)
KERNEL = MeasurementKernel(ELLIPTIC.kernel)
BURGERS = Burgers(nu=0.05, T=0.1, dt=0.05, length_scale=0.2)
PROBLEMS = [  # (problem, its data's name, the number of basis types)
    (ELLIPTIC, "f", 2),
    (MongeAmpere(), "f", 4),
    (BURGERS, "b", 3),
]


def _system():
    return CollocationSystem(*ELLIPTIC.collocation(0.25), ELLIPTIC.basis)


def _weights(system):
    return np.tile([0.5, -1.0], (system.n_interior, 1))


@pytest.mark.parametrize("problem, data, types", PROBLEMS)
def test_linearize_and_residual_refuse_bad_states_by_name(problem, data, types):
    """Old: a NaN in ``state`` gave NaN weights (``NonlinearElliptic().linearize``), and a
    wrong shape, a string or a foreign array raised IndexError, TypeError or a NumPy
    broadcasting error."""
    state, rhs = np.full((5, types), 0.25), np.ones(5)
    for method in (problem.linearize, problem.residual):
        result = method(state, rhs)
        assert all(
            np.all(np.isfinite(p)) for p in (result if isinstance(result, tuple) else [result])
        )
        nan = state.copy()
        nan[0, 0] = np.nan
        for bad in (nan, state[:, :-1], state[0], "abc", ForeignArray(state), state > 0):
            with pytest.raises(ValueError, match="^state: "):
                method(bad, rhs)
        for bad in (np.append(rhs, 1.0), rhs[:, None], np.array([np.inf, 1, 1, 1, 1]), None):
            with pytest.raises(ValueError, match=f"^{data}: "):
                method(state, bad)
        with pytest.raises(ValueError, match=f"^state, {data}: .*overflows"):
            method(np.full((5, types), 1e300), rhs)


@pytest.mark.parametrize("problem", [ELLIPTIC, MongeAmpere()])
def test_initial_states_check_the_count_before_allocating(problem):
    """Old: ``initial_state(10**13)`` raised MemoryError, ``initial_state(2.5)`` and
    ``initial_state(None)`` TypeError, ``initial_state(-1)`` a NumPy message."""
    assert problem.initial_state(3).shape == (3, len(problem.basis))
    for bad in (10**13, 2.5, None, -1, 0, True):
        with pytest.raises(ValueError, match="^n: "):
            problem.initial_state(bad)


def test_burgers_initial_state_and_run_refuse_bad_arguments_by_name():
    """Old: Burgers' initial state took any array (NaN entries, (1, m, 1) shapes) and
    ``run`` took a system other than the solver's (and blamed ``boundary_values``), any
    ``method`` label and objects without ``interior`` (AttributeError)."""
    boundary, interior = BURGERS.collocation(0.25)
    assert BURGERS.initial_state(interior).shape == (len(interior), 3)
    for bad in (interior[None], np.array([np.nan, 0.5]), np.array([1.5]), np.zeros((0, 1))):
        with pytest.raises(ValueError, match="^x: "):
            BURGERS.initial_state(bad)
    system = CollocationSystem(boundary, interior, BURGERS.basis)
    solver = DenseSolver(KERNEL, system, 1e-10)
    assert BURGERS.run(solver, system, 1, "dense").values.shape == (len(interior),)
    for bad in (CollocationSystem(boundary, interior, BURGERS.basis), _system(), None):
        with pytest.raises(ValueError, match="^system: "):
            BURGERS.run(solver, bad, 1, "dense")
    with pytest.raises(ValueError, match="^solver: "):
        BURGERS.run(object(), system, 1, "dense")
    with pytest.raises(ValueError, match="^steps: "):
        BURGERS.run(solver, system, 0, "dense")
    with pytest.raises(ValueError, match="^method: "):
        BURGERS.run(solver, system, 1, "cholesky")


def test_apply_big_refuses_nan_foreign_and_misshaped_vectors():
    """Old: ``SparseSolver.apply_big`` took NaN (returning NaN everywhere) and foreign
    arrays silently, and raised IndexError or TypeError for other bad vectors."""
    solver = SparseSolver(KERNEL, _system(), 1e-10, rho=2.0)
    n = len(solver.order)
    y = np.linspace(-1.0, 1.0, n)
    assert np.all(np.isfinite(solver.apply_big(y)))
    nan = y.copy()
    nan[3] = np.nan
    for bad in (nan, ForeignArray(y), y[:-1], y[None], 1.0, None, "abc", y + 1j):
        with pytest.raises(ValueError, match="^y: "):
            solver.apply_big(bad)


def test_take_and_scaled_refuse_bad_positions_and_factors_by_name():
    """Old: ``Measurements.take(5)`` raised IndexError (and ``take(0)`` returned a list
    whose points had lost a dimension); ``scaled`` with a huge factor blamed ``hessian``."""
    m = laplacians(np.array([[0.1, 0.2], [0.4, 0.3], [0.7, 0.9]]))
    np.testing.assert_array_equal(m.take([2, 0]).points, m.points[[2, 0]])
    for bad in (5, 0, [0, 3], [-1], [], np.array([[0], [1]]), [0.5], None, "abc", [True]):
        with pytest.raises(ValueError, match="^index: "):
            m.take(bad)
    with pytest.raises(ValueError, match="^factors: "):
        m.scaled(np.array([1.0, 1e300, 1.0]))


def test_the_dense_size_is_blamed_on_h(monkeypatch):
    """Old: the Gram matrix's size was checked at the first step, blaming ``points``
    (which ``solve`` has no argument of)."""
    monkeypatch.setattr(validation, "_memory_bytes", lambda: 10_000)  # Θ of h = 0.25: 5 kB
    assert solve(ELLIPTIC, 0.25, method="dense").values.shape == (9,)
    with pytest.raises(ValueError, match="^h: "):
        solve(ELLIPTIC, 0.125, method="dense")  # 81² · 8 bytes = 52 kB


def test_a_linearization_of_the_wrong_shape_is_blamed_on_linearize():
    """Old: the solver's check blamed ``weights`` (which ``gauss_newton`` has no argument
    of)."""
    system = _system()
    solver = DenseSolver(KERNEL, system, 1e-10)
    short = lambda state: (_weights(system)[:-1], np.ones(system.n_interior))  # noqa: E731
    with pytest.raises(ValueError, match="^linearize: "):
        gauss_newton(solver, short, np.zeros(system.n_boundary), np.zeros((9, 2)), 1)


def _refuse(*args, **kwargs):
    raise AssertionError("a public (checked) method was called inside the loop")


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_the_gauss_newton_loop_calls_no_public_check(monkeypatch, method):
    """Old: every Gauss–Newton step went through the solvers' public ``solve`` and
    ``state`` (checking the weights two or three times and α once per step) and the
    problem's ``linearize``, and every PCG iteration through the public ``apply_big``.
    Now ``solve`` checks its arguments once and the loop runs on the unchecked forms, with
    the same values."""
    expected = solve(ELLIPTIC, 0.25, method=method).values
    for cls, name in [
        (DenseSolver, "solve"),
        (DenseSolver, "state"),
        (SparseSolver, "solve"),
        (SparseSolver, "state"),
        (SparseSolver, "apply_big"),
        (CollocationSystem, "check_weights"),
        (CollocationSystem, "combined"),
        (CollocationSystem, "weight_matrix"),
        (NonlinearElliptic, "linearize"),
        (NonlinearElliptic, "residual"),
        (MeasurementKernel, "variances"),
    ]:
        monkeypatch.setattr(cls, name, _refuse)
    np.testing.assert_array_equal(solve(ELLIPTIC, 0.25, method=method).values, expected)
    monkeypatch.setattr(Burgers, "linearize", _refuse)
    assert np.all(np.isfinite(solve(BURGERS, 0.25, method=method).values))
