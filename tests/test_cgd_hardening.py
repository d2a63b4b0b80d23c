"""Every cgd loop ends, overflow is reported where it happens, and renamed names still work."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import seeds, step_sizes

from refimpl import cgd
from refimpl.cgd import BilinearGame, GeneralSumQuadraticGame, QuadraticGame
from refimpl.cgd.dense_solvers import dense_general_sum_step, dense_zero_sum_step
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
    with pytest.raises(DivergenceError, match="iteration 1"):
        solver(lambda v: v * np.nan, b)


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
    with pytest.raises(DivergenceError, match="overflowed"):
        QuadraticGame(np.eye(1), 1.0, np.eye(1)).f(np.array([1e200]), np.array([0.0]))


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
