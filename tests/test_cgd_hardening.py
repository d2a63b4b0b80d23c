"""Every cgd loop ends, overflow is reported where it happens, and removed names are gone."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import seeds, step_sizes

from refimpl import cgd
from refimpl.cgd import BilinearGame, GeneralSumQuadraticGame, QuadraticGame
from refimpl.cgd.competitive import dense_general_sum_step, dense_zero_sum_step
from refimpl.validation import DivergenceError

EPS = np.finfo(float).eps


@pytest.mark.parametrize("method", ["cgd", "acgd"])
def test_huge_step_size_returns_the_finite_part(method):
    # This call never returned before: the inner CG looped on NaN residuals.
    result = cgd.run(BilinearGame(1.0), method, 1.0, 1.0, 5, 1e300)
    assert result.status in ("diverged", "completed")
    assert np.all(np.isfinite(result.x)) and np.all(np.isfinite(result.norm))
    if result.status == "diverged":
        assert f"step {result.stopped_at}" in result.message
        assert result.x.shape == (result.stopped_at, 1)


@pytest.mark.parametrize("method", cgd.METHODS)
@pytest.mark.parametrize("start, eta", [(1e300, 0.2), (1.0, 1e300), (1e154, 1e154)])
def test_every_method_ends_with_finite_trajectories_and_norms(method, start, eta):
    game = QuadraticGame(np.eye(2), np.ones((2, 2)), np.eye(2))
    result = cgd.run(game, method, [start, -start], [start, 0.5], 20, eta)
    assert result.status in ("completed", "diverged")
    for array in (result.x, result.y, result.norm):
        assert np.all(np.isfinite(array))
    assert result.x.shape[0] == result.steps_taken + 1


def test_compare_methods_with_huge_starts_and_steps_ends():
    results = cgd.compare_methods(BilinearGame(2.0), 1e300, -1e300, 10, 1e300)
    assert set(results) == set(cgd.METHODS)
    assert all(np.all(np.isfinite(r.norm)) for r in results.values())


def test_ogda_stops_before_its_norm_overflows():
    # OGDA diverges on f = xy with η = 1; its last recorded norm used to be inf although
    # the iterate was finite (‖z‖ can exceed the float range when |x|, |y| do not).
    result = cgd.run(BilinearGame(1.0), "ogda", 1.0, 1.0, 5000, 1.0)
    assert result.status == "diverged"
    assert np.all(np.isfinite(result.norm)) and result.norm[-1] > 1e300


@pytest.mark.parametrize("solver", [cgd.conjugate_gradient, cgd.gmres])
def test_krylov_solvers_refuse_non_finite_controls(solver):
    def apply(v):
        return 2.0 * v

    b = np.ones(3)
    for kwargs, name in (
        ({"tol": np.nan}, "tol"),
        ({"tol": np.inf}, "tol"),
        ({"maxiter": np.inf}, "maxiter"),
        ({"maxiter": 0}, "maxiter"),
    ):
        with pytest.raises(ValueError, match=name):
            solver(apply, b, **kwargs)
    with pytest.raises(ValueError, match="b: expected finite"):
        solver(apply, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(DivergenceError, match="at step 1") as error:  # the first iteration
        solver(lambda v: v * np.nan, b)
    assert error.value.step == 1


@pytest.mark.parametrize("solver", [cgd.conjugate_gradient, cgd.gmres])
def test_krylov_solvers_solve_huge_right_hand_sides(solver):
    # The solvers work on b / max|b|: ‖b‖² would overflow, the answer does not.
    S = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    b = np.array([1.0, -2.0, 0.5]) * 1e300
    x, info = solver(lambda v: S @ v, b, tol=1e-13)
    assert info.converged
    expected = np.linalg.solve(S, b / 1e300)
    # ‖S⁻¹‖ ≤ 1 and cond(S) < 3: the error is tol·‖b‖ plus rounding.
    np.testing.assert_allclose(x / 1e300, expected, rtol=0, atol=1e-12)


def test_conjugate_gradient_reports_an_indefinite_operator():
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cgd.conjugate_gradient(lambda v: -v, np.ones(3))


def test_game_methods_check_vector_lengths():
    game = BilinearGame(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"x: expected an array of shape \(3,\)"):
        game.grad_x_f(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"y: expected an array of shape \(2,\)"):
        game.grad_y_g(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"v: expected an array of shape \(2,\) or \(2, k\)"):
        game.dxy_f(np.ones(3), np.ones(2), np.ones(3))
    # a value beyond the float range at the caller's inputs: the error names them
    with pytest.raises(ValueError, match="x, y: the value at these inputs exceeds"):
        QuadraticGame(np.eye(1), 1.0, np.eye(1)).f(np.array([1e200]), np.array([0.0]))


def test_a_game_refusing_an_iterate_is_a_divergence_at_that_step():
    """Inside a step, the game's refusal (its value overflows at the step's point or
    direction) is the iteration's, not the caller's: DivergenceError naming the step."""
    game = QuadraticGame(np.eye(1), 1.0, np.eye(1))
    with np.errstate(over="ignore"), pytest.raises(DivergenceError, match="dxy_f refused") as error:
        cgd.lcgd_step(game, np.array([1e9]), np.array([0.0]), 1e300, 1e300)  # η∇ = inf
    assert error.value.step == 1
    result = cgd.run(game, "lcgd", 1.0, 1.0, 50, 1e100)
    assert result.status == "diverged" and f"step {result.stopped_at}" in result.message


def test_documented_floats_are_python_floats():
    game = QuadraticGame(2.0, 10.0, -2.0)
    result = cgd.run(game, "cgd", 1.0, 1.0, 4, 0.05)
    values = [
        cgd.spectral_radius("ogda", 1.0, 0.2),
        cgd.game_spectral_radius("cgd", game, 0.05),
        cgd.measured_rate(result),
        game.f(np.ones(1), np.ones(1)),
        game.g(np.ones(1), np.ones(1)),
    ]
    assert all(type(v) is float for v in values)


@given(seed=seeds, n=st.integers(1, 7), m=st.integers(1, 7), eta=step_sizes(0.01, 1.0))
def test_dense_cholesky_path_equals_the_general_lu_path(seed, n, m, eta):
    # Per-coordinate steps on both sides (n < m solves x's system, n > m solves y's).
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    h_x, h_y = eta * rng.uniform(0.5, 2.0, n), eta * rng.uniform(0.5, 2.0, m)
    gx, gy = rng.standard_normal(n), rng.standard_normal(m)
    dx, dy = dense_zero_sum_step(A, gx, gy, h_x, h_y)
    ex, ey = dense_general_sum_step(A, -A.T, gx, gy, h_x, h_y)
    # Both are backward-stable direct solves of systems with cond ≤ 1 + ‖H‖²‖A‖²; the
    # substitution adds a factor ‖H‖‖A‖ to the second player's error.
    growth = 1 + max(h_x.max(), h_y.max()) * np.linalg.norm(A, 2)
    scale = growth**3 * max(h_x.max(), h_y.max()) * (1 + np.linalg.norm(np.r_[gx, gy]))
    np.testing.assert_allclose(dx, ex, rtol=0, atol=100 * EPS * scale)
    np.testing.assert_allclose(dy, ey, rtol=0, atol=100 * EPS * scale)
    # and it is the CGD move: the first-order conditions (2.1)-(2.2) of the local game
    np.testing.assert_allclose(dx / h_x + gx + A @ dy, 0, atol=100 * EPS * scale / eta)
    np.testing.assert_allclose(dy / h_y + gy - A.T @ dx, 0, atol=100 * EPS * scale / eta)


def test_dense_path_of_a_general_sum_game_solves_both_systems():
    game = GeneralSumQuadraticGame(np.eye(2), np.eye(2), 2 * np.eye(2), np.eye(2))
    x, y = np.ones(2), -np.ones(2)
    x1, y1, info = cgd.cgd_step(game, x, y, 0.1, 0.1, solver="dense")
    dx, dy = x1 - x, y1 - y
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    np.testing.assert_allclose(dx, -0.1 * (gx + dy), atol=1e-15)  # D_xy f = I
    np.testing.assert_allclose(dy, -0.1 * (gy + 2 * dx), atol=1e-15)  # D_yx g = 2I


def test_names_removed_in_0_2_0_are_gone():
    """The deprecated aliases of 0.1.0 were removed: old keywords are unknown keywords."""
    game = BilinearGame(np.array([[1.0, 2.0], [0.5, -1.0]]))
    x, y = np.array([1.0, -0.5]), np.array([0.3, 0.2])
    with pytest.raises(TypeError, match="warm_start"):
        cgd.cgd_step(game, x, y, 0.3, 0.3, "cg", warm_start=np.array([0.1, 0.1]))
    with pytest.raises(TypeError, match="lr_x"):
        cgd.acgd_step(game, x, y, lr_x=0.1, lr_y=0.2)
    with pytest.raises(TypeError, match="lr"):
        cgd.adaptive_step_sizes(np.zeros(2), x, 1, lr=0.1)
    assert not hasattr(cgd.acgd_step(game, x, y, 0.1, 0.2)[2], "warm_start")


def test_unknown_options_name_the_key():
    game = BilinearGame(1.0)
    with pytest.raises(ValueError, match="'tolerance'"):
        cgd.run(game, "cgd", 1.0, 1.0, 2, 0.1, tolerance=1e-8)
    with pytest.raises(ValueError, match="'tolerance'"):
        cgd.compare_methods(game, 1.0, 1.0, 2, 0.1, tolerance=1e-8)


# ---------------------------------------------------------------- issue 23: methods and sizes

A32 = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]])


class HandGame(cgd.Game):
    """A game on the protocol that checks nothing itself (its blocks are Game's defaults)."""

    n, m, zero_sum = 3, 2, True

    def __init__(self, scale=1.0):
        self.scale = scale

    def grad_x_f(self, x, y):
        return self.scale * (A32 @ y)

    def grad_y_g(self, x, y):
        return -self.scale * (A32.T @ x)

    def dxy_f(self, x, y, v):
        return self.scale * (A32 @ v)

    def dyx_g(self, x, y, u):
        return -self.scale * (A32.T @ u)


@pytest.mark.parametrize("method", ["dxy_f_matrix", "dyx_g_matrix"])
@pytest.mark.parametrize(
    "x, y, name",
    [
        (np.ones(2), np.ones(2), "x"),  # one row short: the products broadcast it silently
        (np.ones(3), np.array([1.0, np.nan]), "y"),
        (None, np.ones(2), "x"),
        (np.ones(3), "abc", "y"),
        (np.ones(3) + 1j, np.ones(2), "x"),
    ],
)
def test_the_protocols_dense_blocks_check_their_point(method, x, y, name):
    # Game's defaults passed x and y straight to the products, which took all of these.
    with pytest.raises(ValueError, match=rf"^{name}: "):
        getattr(HandGame(), method)(x, y)


def test_the_protocols_dense_blocks_refuse_a_non_finite_result():
    np.testing.assert_array_equal(HandGame().dxy_f_matrix(np.ones(3), np.ones(2)), A32)
    with pytest.raises(ValueError, match="x, y: D_yx g is not finite"):
        HandGame(np.inf).dyx_g_matrix(np.ones(3), np.ones(2))


@pytest.mark.parametrize("step", [cgd.gda_step, cgd.cgd_step, cgd.check_step_arguments])
def test_a_step_size_beyond_the_float_range_is_a_value_error(step):
    # float(10**400) raised OverflowError inside check_step_size.
    with pytest.raises(ValueError, match="eta_y: expected a step size > 0"):
        step(BilinearGame(A32), np.ones(3), np.ones(2), 0.1, 10**400)


def test_closed_forms_with_huge_coupling_raise_or_answer():
    # Python's float power raised OverflowError where a product gives inf.
    with pytest.raises(ValueError, match="alpha, eta, gamma"):
        cgd.iteration_matrix("sga", 1e200, 0.1)
    # |trace| = a² - 2 > 1e154: 4 / trace² underflows to 0 and ρ = |trace| (was OverflowError)
    assert cgd.spectral_radius("altgda", 1e100, 1.0) == 1e200
    assert cgd.spectral_radius("altgda", 3.0, 1.0) == pytest.approx(
        np.max(np.abs(np.linalg.eigvals(cgd.iteration_matrix("altgda", 3.0, 1.0)))), rel=1e-12
    )


@pytest.mark.parametrize("solver", [cgd.conjugate_gradient, cgd.gmres])
@pytest.mark.parametrize(
    "apply",
    [
        type(lambda v: v),  # a class, not a function of one vector (was TypeError)
        lambda v, w: v,  # a wrong signature (was TypeError)
        lambda v: memoryview(2.0 * v),  # not an array (was AttributeError)
    ],
)
def test_krylov_solvers_refuse_an_apply_that_is_no_function_of_a_vector(solver, apply):
    with pytest.raises(ValueError, match="^apply: "):
        solver(apply, np.ones(3))


def _a_run():
    return cgd.run(BilinearGame(A32), "cgd", np.ones(3), np.ones(2), 6, 0.3)


@pytest.mark.parametrize(
    "change",
    [
        {"x": np.full((7, 3), np.nan)},  # returned nan
        {"y": None},  # ValueError of np.concatenate, naming nothing
        {"y": np.ones((6, 2))},  # one row short
        {"x": np.ones(7)},  # 1-D
    ],
)
def test_measured_rate_checks_a_hand_made_result(change):
    import dataclasses

    with pytest.raises(ValueError, match="^result: "):
        cgd.measured_rate(dataclasses.replace(_a_run(), **change))
