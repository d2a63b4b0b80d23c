"""Burgers and Monge–Ampère against their exact solutions; the elliptic setting."""

import numpy as np
import pytest

from refimpl.pde import Burgers, MongeAmpere, NonlinearElliptic, cole_hopf, solve


def test_cole_hopf_solves_burgers_by_finite_differences():
    nu, t, e = 0.05, 0.3, 1e-4
    x = np.linspace(-0.9, 0.9, 7)
    u = cole_hopf(x, t, nu)
    ut = (cole_hopf(x, t + e, nu) - cole_hopf(x, t - e, nu)) / (2 * e)
    ux = (cole_hopf(x + e, t, nu) - cole_hopf(x - e, t, nu)) / (2 * e)
    uxx = (cole_hopf(x + e, t, nu) - 2 * u + cole_hopf(x - e, t, nu)) / e**2
    # central differences: O(e²·|u'''|) plus rounding 1e-16/e² in uxx (times ν)
    assert np.abs(ut + u * ux - nu * uxx).max() < 1e-6
    np.testing.assert_allclose(cole_hopf(x, 1e-12, nu), -np.sin(np.pi * x), atol=1e-6)


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_burgers_error_is_second_order_in_the_time_step(method):
    """CI setting (ν = 0.02, l = 0.1, h = 0.02, T = 0.25): Crank–Nicolson is O(dt²), so
    halving dt quarters the error while the time error dominates the spatial one."""
    errors = []
    for dt in (0.05, 0.025):
        problem = Burgers(nu=0.02, T=0.25, dt=dt, length_scale=0.1)
        sol = solve(problem, 0.02, method=method)
        errors.append(sol.max_error)
        assert len(sol.history) == 2 * problem.time_steps
    assert 2.8 < errors[0] / errors[1] < 5.7  # 4 within a factor √2
    assert errors[1] < 2e-3


def test_burgers_sparse_equals_dense_closely():
    problem = Burgers(nu=0.02, T=0.1, dt=0.05, length_scale=0.1)
    dense = solve(problem, 0.02, method="dense")
    sparse = solve(problem, 0.02, method="sparse", rho=4.0)
    assert np.abs(dense.values - sparse.values).max() < 0.1 * dense.max_error + 1e-6


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_monge_ampere_converges_to_the_convex_solution(method):
    problem = MongeAmpere()
    errors = [solve(problem, h, method=method, steps=4).rms_error for h in (0.25, 0.125)]
    assert errors[1] < 0.5 * errors[0] and errors[1] < 0.03
    sol = solve(problem, 0.125, method=method, steps=4)
    residuals = [r["pde_residual"] for r in sol.history]
    assert residuals[-1] < 0.1 * residuals[0]


def test_elliptic_defaults_are_the_authors():
    p = NonlinearElliptic()
    assert (p.alpha, p.m, p.terms, p.nugget, p.steps) == (1.0, 3, 600, 1e-10, 3)
    assert (p.kernel.nu, p.kernel.length_scale) == (3.5, 0.3)
    x = np.array([[0.3, 0.7]])
    k = np.arange(1, 601)
    expected = np.sum(np.sin(np.pi * k * 0.3) * np.sin(np.pi * k * 0.7) / k**6.0)
    assert p.truth(x)[0] == pytest.approx(expected, rel=1e-14)
