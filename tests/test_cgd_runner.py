"""The runner's contract: result shapes, bad input, divergence reporting."""

import numpy as np
import pytest

from refimpl import cgd
from refimpl.cgd import BilinearGame, GeneralSumQuadraticGame, QuadraticGame


@pytest.mark.parametrize("method", cgd.METHODS)
def test_result_shapes_and_status(method):
    game = BilinearGame(np.ones((3, 2)))
    result = cgd.run(game, method, np.ones(3), np.ones(2), steps=7, eta=0.1)
    assert result.x.shape == (8, 3) and result.y.shape == (8, 2)
    assert result.status == "completed" and result.stopped_at is None
    assert result.steps_taken == 7 and result.inner_iterations.shape == (7,)
    np.testing.assert_array_equal(result.x[0], np.ones(3))


def test_zero_steps_returns_the_start():
    result = cgd.run(BilinearGame(2.0), "cgd", 0.5, -0.5, steps=0, eta=0.1)
    assert result.x.tolist() == [[0.5]] and result.y.tolist() == [[-0.5]]


def test_single_eta_sets_both_and_separate_etas_override():
    game = BilinearGame(1.0)
    both = cgd.run(game, "gda", 1.0, 1.0, 1, eta=0.1)
    split = cgd.run(game, "gda", 1.0, 1.0, 1, eta=0.5, eta_x=0.1, eta_y=0.1)
    np.testing.assert_array_equal(both.x, split.x)
    only_x = cgd.run(game, "gda", 1.0, 1.0, 1, eta_x=0.1, eta_y=0.3)
    assert only_x.x[1, 0] == pytest.approx(0.9) and only_x.y[1, 0] == pytest.approx(1.3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x0": np.ones(2)}, r"x0: expected shape \(3,\) to match the game, received \(2,\)"),
        ({"y0": np.ones((2, 1))}, r"y0: expected an array with ndim in \(0, 1\)"),
        ({"x0": [1.0, np.nan, 0.0]}, "x0: expected finite values"),
        ({"y0": [np.inf, 0.0]}, "y0: expected finite values"),
        ({"eta": 0.0}, "eta: expected a step size > 0, received 0.0"),
        ({"eta": -1.0}, "eta: expected a step size > 0"),
        ({"eta": None}, "eta: expected a step size > 0, received None"),
        ({"eta_y": -1.0}, "eta_y: expected a step size > 0, received -1.0"),
        ({"method": "acgd", "eps": 0.0}, "eps: expected a finite number > 0, received 0.0"),
        ({"maxiter": 0}, r"maxiter: expected an integer in \[1, inf\], received 0"),
        ({"maxiter": 2.5}, "maxiter: expected an integer, received 2.5"),
        ({"restart": 0}, r"restart: expected an integer in \[1, inf\]"),
        ({"warm_start": np.ones(3)}, "warm_start: expected True or False, received ndarray"),
        ({"steps": -1}, r"steps: expected an integer in \[0, inf\], received -1"),
        ({"steps": 2.5}, "steps: expected an integer, received 2.5"),
        ({"method": "adam"}, "method: expected one of"),
        ({"method": "sga", "gamma": -0.1}, "gamma: expected a finite number >= 0, received -0.1"),
        (
            {"method": "gda", "gamma": 1.0},
            r"options: method 'gda' does not accept the option 'gamma'",
        ),
        ({"method": "cgd", "solver": "lu"}, "solver: expected one of"),
        ({"method": "cgd", "tol": 0.0}, "tol: expected a finite number > 0"),
        ({"method": "acgd", "beta": 1.0}, r"beta: expected a number in \[0.0, 1.0\)"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    args = {"method": "cgd", "x0": np.ones(3), "y0": np.ones(2), "steps": 3, "eta": 0.1}
    args.update(kwargs)
    game = BilinearGame(np.ones((3, 2)))
    with pytest.raises(ValueError, match=message):
        cgd.run(game, **args)


def test_bad_game_matrices():
    with pytest.raises(ValueError, match=r"P: expected shape \(2, 2\), received \(3, 3\)"):
        QuadraticGame(np.eye(3), np.ones((2, 1)), np.eye(1))
    with pytest.raises(ValueError, match="A: expected finite values"):
        BilinearGame([[1.0, np.nan]])
    with pytest.raises(ValueError, match="game: expected a refimpl.cgd Game"):
        cgd.run(object(), "gda", 1.0, 1.0, 1, eta=0.1)


def test_step_functions_check_their_arguments():
    game = BilinearGame(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"x: expected an array of shape \(3,\), received \(2,\)"):
        cgd.gda_step(game, np.ones(2), np.ones(2), 0.1, 0.1)
    with pytest.raises(ValueError, match="eta_y: expected a step size > 0, received -0.1"):
        cgd.cgd_step(game, np.ones(3), np.ones(2), 0.1, -0.1)
    with pytest.raises(ValueError, match=r"eta_x: expected a positive scalar or positive array"):
        cgd.cgd_step(game, np.ones(3), np.ones(2), np.array([0.1, 0.0, 0.1]), 0.1)
    with pytest.raises(ValueError, match=r"order: expected an integer in \[0, 10000\]"):
        cgd.neumann_step(game, np.ones(3), np.ones(2), 0.1, 0.1, order=-1)
    with pytest.raises(ValueError, match="k: expected an integer"):
        cgd.cgd_bilinear_closed_form(np.ones((3, 2)), np.ones(3), np.ones(2), 0.1, 1.5)


def test_zero_dimensional_alpha_is_the_scalar_game():
    for alpha in (2.0, np.float64(2.0), np.array(2.0)):
        assert BilinearGame(alpha).A.shape == (1, 1)


def test_compare_methods_passes_step_sizes_to_every_method():
    game = BilinearGame(1.0)
    results = cgd.compare_methods(game, 1.0, 1.0, 1, eta_x=0.1, eta_y=0.3, tol=1e-8)
    for method in ("gda", "cgd"):
        alone = cgd.run(game, method, 1.0, 1.0, 1, eta_x=0.1, eta_y=0.3)
        np.testing.assert_allclose(results[method].x, alone.x, atol=1e-7)
    with pytest.raises(ValueError, match=r"options: 'tol' is accepted by none"):
        cgd.compare_methods(game, 1.0, 1.0, 1, 0.1, methods=("gda",), tol=1e-8)


def test_gmres_stall_is_reported_and_restart_fixes_it():
    # General-sum game with an indefinite system: restarted GMRES(5) stalls, full GMRES does not.
    rng = np.random.default_rng(0)
    n = 40
    game = GeneralSumQuadraticGame(
        np.zeros((n, n)), rng.standard_normal((n, n)), rng.standard_normal((n, n)), np.zeros((n, n))
    )
    x0, y0 = rng.standard_normal(n), rng.standard_normal(n)
    stalled = cgd.run(game, "cgd", x0, y0, 3, eta=0.5, solver="gmres", restart=5, maxiter=200)
    assert stalled.status == "inner_solver_failed" and stalled.stopped_at == 1
    full = cgd.run(game, "cgd", x0, y0, 3, eta=0.5, solver="gmres", restart=n, tol=1e-10)
    dense = cgd.run(game, "cgd", x0, y0, 3, eta=0.5, solver="dense")
    assert full.status == "completed"
    np.testing.assert_allclose(full.x, dense.x, rtol=1e-6)


def test_general_sum_rejects_zero_sum_only_methods_and_cg():
    game = GeneralSumQuadraticGame(np.eye(1), np.ones((1, 1)), np.ones((1, 1)), np.eye(1))
    with pytest.raises(ValueError, match="game: sga is defined here for zero-sum games"):
        cgd.run(game, "sga", 1.0, 1.0, 1, eta=0.1)
    with pytest.raises(ValueError, match="solver: 'cg' needs a zero-sum game"):
        cgd.run(game, "cgd", 1.0, 1.0, 1, eta=0.1, solver="cg")
    assert cgd.run(game, "cgd", 1.0, 1.0, 2, eta=0.1).status == "completed"  # auto -> gmres


def test_overflow_stops_and_reports_the_step():
    # GDA on f = αxy grows by √(1 + η²α²) = √(1 + 10⁴) ≈ 100 per step: 1e308 after ~154 steps.
    result = cgd.run(BilinearGame(100.0), "gda", 1.0, 1.0, 1000, eta=1.0)
    assert result.status == "diverged"
    k = result.stopped_at
    assert 140 < k < 170
    assert f"step {k}" in result.message
    assert result.x.shape == (k, 1) and np.all(np.isfinite(result.x))
    assert result.steps_taken == k - 1


def test_inner_solver_failure_is_reported():
    rng = np.random.default_rng(0)
    game = BilinearGame(rng.standard_normal((50, 50)))
    result = cgd.run(game, "cgd", np.ones(50), np.ones(50), 5, eta=1.0, solver="cg", maxiter=2)
    assert result.status == "inner_solver_failed" and result.stopped_at == 1
    assert "step 1" in result.message


def test_same_inputs_same_numbers():
    game = BilinearGame(np.arange(6.0).reshape(2, 3))
    a = cgd.run(game, "acgd", np.ones(2), np.ones(3), 10, eta=0.1)
    b = cgd.run(game, "acgd", np.ones(2), np.ones(3), 10, eta=0.1)
    np.testing.assert_array_equal(a.x, b.x)
