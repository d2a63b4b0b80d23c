"""Tests of the GAN game, its optimizers, training loop and metrics (refimpl.cgd.gan*).

References are independent of the code: finite differences of the exact gradients
(tolerance from the step and a third-derivative bound), the zero-sum identity
D_yx f = (D_xy f)ᵀ between two separately coded products, the closed form of CGD
on bilinear games, the η → 0 expansion of CGD, and SciPy for the 1-D metrics.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from strategies import seeds, small_gan

from refimpl.cgd import BilinearGame, cgd_bilinear_closed_form, cgd_step, gda_step
from refimpl.cgd.gan import (
    AlternatingACGDState,
    GANGame,
    GaussianMixture,
    acgd_alternating_step,
    adam_step,
    energy_distance,
    mixture_1d,
    mode_fractions,
    modes_covered,
    ring,
    train_gan,
    two_modes,
    wasserstein_1d,
)
from refimpl.nn import MLP
from refimpl.validation import DivergenceError

EPS = np.finfo(float).eps
FIGURES = Path(__file__).resolve().parent.parent / "figures"


def _central(gradient, point, direction, h):
    return (gradient(point + h * direction) - gradient(point - h * direction)) / (2 * h)


@pytest.mark.parametrize("loss", ["wgan", "cross_entropy"])
@given(seed=seeds)
def test_products_match_central_differences_of_the_gradients(loss, seed):
    """Each product is the derivative of a gradient along a direction.

    The central difference with step h errs by at most h²/6·M₃ (M₃ bounds the third
    derivative of the gradient along the line, estimated from second differences of
    the exact products with a coarser step s) plus rounding ~ ε‖∇‖/h.
    """
    game, x, y, rng = small_gan(seed % 1000, loss)
    u, v = rng.standard_normal(game.n), rng.standard_normal(game.m)
    h, s = 1e-5, 1e-2
    cases = [  # (product, gradient along the line, point, direction, move x?)
        (lambda x_, y_: game.dxy_f(x_, y_, v), lambda t: game.grad_x_f(x, t), y, v, False),
        (lambda x_, y_: game.dyx_g(x_, y_, u), lambda t: game.grad_y_g(t, y), x, u, True),
        (lambda x_, y_: game.dxx_f(x_, y_, u), lambda t: game.grad_x_f(t, y), x, u, True),
        (lambda x_, y_: game.dyy_g(x_, y_, v), lambda t: game.grad_y_g(x, t), y, v, False),
    ]
    for product, gradient, point, direction, moves_x in cases:

        def at(t, product=product, moves_x=moves_x):
            return product(t, y) if moves_x else product(x, t)

        exact = at(point)
        third = (at(point + s * direction) - 2 * exact + at(point - s * direction)) / s**2
        central = _central(gradient, point, direction, h)
        scale = max(np.abs(gradient(point)).max(), 1.0)
        tolerance = 4 * (h**2 / 6 * np.abs(third).max() + 10 * EPS * scale / h) + 1e-12
        assert np.abs(central - exact).max() <= tolerance


@pytest.mark.parametrize("loss", ["wgan", "cross_entropy"])
def test_dense_blocks_of_a_tiny_gan(loss):
    game, x, y, _ = small_gan(3, loss, widths=(2, 3))
    Dxy = game.dxy_f(x, y, np.eye(game.m))  # (n, m), one block call
    Dyx_g = game.dyx_g(x, y, np.eye(game.n))  # (m, n)
    # Zero-sum: D_yx g = −(D_xy f)ᵀ, from two separately coded forward-over-reverse paths.
    np.testing.assert_allclose(Dyx_g, -Dxy.T, atol=1e-12 * np.abs(Dxy).max())
    Dxx = game.dxx_f(x, y, np.eye(game.n))
    Dyy = game.dyy_g(x, y, np.eye(game.m))
    np.testing.assert_allclose(Dxx, Dxx.T, atol=1e-12 * max(np.abs(Dxx).max(), 1))
    np.testing.assert_allclose(Dyy, Dyy.T, atol=1e-12 * max(np.abs(Dyy).max(), 1))
    # Dense D_xy f from differences of ∇ₓf, column by column.
    h = 1e-6
    columns = [_central(lambda t: game.grad_x_f(x, t), y, e, h) for e in np.eye(game.m)]
    np.testing.assert_allclose(Dxy, np.stack(columns, axis=1), atol=1e-7 * np.abs(Dxy).max())
    if loss == "wgan":  # f is linear in D's output: D_yy f is the curvature of D alone
        assert np.abs(Dyy).max() > 0


def test_wgan_gradient_of_the_loss_matches_differences():
    game, x, y, _ = small_gan(4, "wgan")
    h = 1e-6
    gx = np.array([(game.f(x + h * e, y) - game.f(x - h * e, y)) / (2 * h) for e in np.eye(game.n)])
    gy = np.array([(game.g(x, y + h * e) - game.g(x, y - h * e)) / (2 * h) for e in np.eye(game.m)])
    np.testing.assert_allclose(game.grad_x_f(x, y), gx, atol=1e-8)
    np.testing.assert_allclose(game.grad_y_g(x, y), gy, atol=1e-8)
    real_scores = game.discriminator.forward(y, game.real)[:, 0]
    fake = game.generator.forward(x, game.noise)
    fake_scores = game.discriminator.forward(y, fake)[:, 0]
    assert game.f(x, y) == pytest.approx(real_scores.mean() - fake_scores.mean(), rel=1e-13)


def test_cgd_on_the_gan_approaches_gda_as_eta_vanishes():
    """Δx_CGD − Δx_GDA = η² D_xy f ∇_y g + O(η³): the remainder ratio falls like η."""
    game, x, y, _ = small_gan(5, "cross_entropy")
    second_order = game.dxy_f(x, y, game.grad_y_g(x, y))
    ratios = []
    for eta in (1e-2, 1e-3):
        x_cgd, _, _ = cgd_step(game, x, y, eta, eta, solver="cg", tol=1e-14)
        x_gda, _ = gda_step(game, x, y, eta, eta)
        difference = x_cgd - x_gda
        assert np.linalg.norm(difference) <= 2 * eta**2 * np.linalg.norm(second_order)
        ratios.append(np.linalg.norm(difference - eta**2 * second_order) / eta**3)
    # O(η³) remainder: the scaled remainder stays bounded (within a factor 3 across a decade).
    assert ratios[1] <= 3 * ratios[0] + 1e-6


@pytest.mark.parametrize("d", [1, 3])
def test_linear_discriminator_and_shift_generator_is_bilinear(d):
    """D(x) = wᵀx and G(z) = θz with z ≡ 1: f = wᵀ(r̄ − θ), bilinear in (θ − r̄, w), A = −I."""
    rng = np.random.default_rng(d)
    gen, disc = MLP((1, d), bias=False), MLP((d, 1), bias=False)
    data = GaussianMixture(np.zeros((1, d)), 1.0)
    game = GANGame(gen, disc, data, batch_size=4, loss="wgan", rng=0)
    real = rng.standard_normal((8, d))
    game.set_batch(real, np.ones((5, 1)))
    mean = real.mean(axis=0)
    x0, y0 = rng.standard_normal(d), rng.standard_normal(d)
    eta, steps = 0.3, 7
    x, y = x0, y0
    for _ in range(steps):
        x, y, _ = cgd_step(game, x, y, eta, eta, solver="cg", tol=1e-14)
    expected_x, expected_y = cgd_bilinear_closed_form(-np.eye(d), x0 - mean, y0, eta, steps)
    np.testing.assert_allclose(x - mean, expected_x, atol=1e-12)
    np.testing.assert_allclose(y, expected_y, atol=1e-12)
    # The same game as refimpl's BilinearGame(−I) around (r̄, 0):
    bilinear = BilinearGame(-np.eye(d))
    np.testing.assert_allclose(game.grad_x_f(x, y), bilinear.grad_x_f(x - mean, y), atol=1e-13)


def test_alternating_acgd_solves_either_side_to_the_same_step():
    """Solving x's or y's system gives the CGD step with the adaptive step matrices."""
    game, x, y, _ = small_gan(6, "cross_entropy")
    results = {}
    for solve_x in (True, False):
        state = AlternatingACGDState(0, 0.0 * x, 0.0 * y, solve_x=solve_x)
        x1, y1, new, info = acgd_alternating_step(game, x, y, 0.05, 0.05, state, tol=1e-28)
        assert info.solved == ("x" if solve_x else "y") and new.solve_x is not solve_x
        results[solve_x] = np.concatenate([x1, y1])
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    eta_x = 0.01**0.5 * 0.05 / (np.sqrt(0.01 * gx * gx) + 1e-5)  # t = 1, β = 0.99
    eta_y = 0.01**0.5 * 0.05 / (np.sqrt(0.01 * gy * gy) + 1e-5)
    x_dense, y_dense, _ = cgd_step(game, x, y, eta_x, eta_y, solver="dense")
    dense = np.concatenate([x_dense, y_dense])
    step = np.linalg.norm(dense - np.concatenate([x, y]))
    for result in results.values():
        assert np.linalg.norm(result - dense) <= 1e-8 * step


def test_warm_start_at_the_solution_needs_no_iteration():
    """CG warm-started at the solution stops at once: its residual is b − A w₀, not b."""
    game, x, y, _ = small_gan(7)
    options = {"beta": 0.0, "tol": 1e-20}  # β = 0: the same step sizes at every t
    _, _, state, info = acgd_alternating_step(game, x, y, 0.01, 0.01, **options)
    assert info.solved == "x" and info.iterations > 0
    again = dataclasses.replace(state, solve_x=True)
    x1, y1, _, info = acgd_alternating_step(game, x, y, 0.01, 0.01, again, beta=0.0, tol=1e-16)
    assert info.iterations == 0 and info.converged
    cold = acgd_alternating_step(game, x, y, 0.01, 0.01, beta=0.0, tol=1e-16)
    np.testing.assert_allclose(x1, cold[0], atol=1e-10)


def test_player_of_dimension_one():
    # The cgds package crashes here; a generator with one parameter must work.
    gen = MLP((1, 1), bias=False)
    game = GANGame(gen, MLP((1, 3, 1), "tanh"), mixture_1d(), batch_size=8, rng=0)
    x0, y0 = np.array([0.5]), game.discriminator.init(1)
    assert game.n == 1
    for method in ("acgd", "cgd", "adam", "ogda", "gda"):
        run = train_gan(game, method, x0, y0, budget=60, eta=0.01)
        assert run.status == "completed" and run.x.shape == (1,)


def test_training_counts_cost_and_records():
    game, x, y, _ = small_gan(8, widths=(2, 4))
    run = train_gan(game, "acgd", x, y, budget=120, eta=0.01, records=3)
    cost = run.gradient_evaluations + run.hvp_evaluations
    assert 120 <= cost and run.gradient_evaluations == 2 * run.steps_taken
    # Per step: 1 right-hand side, 2 per CG iteration, 2 for the warm-start residual
    # (from step 2), 2 for the final true-residual check, 1 substitution.
    iterations = int(run.inner_iterations.sum())
    expected = run.steps_taken * 4 + 2 * iterations + 2 * (run.steps_taken - 1)
    assert run.hvp_evaluations == expected
    assert list(run.costs) == sorted(run.costs) and len(run.snapshots) == len(run.costs)
    assert run.gradient_norms.shape == (run.steps_taken, 2)
    run_gda = train_gan(game, "gda", x, y, budget=10, eta=0.01)
    assert run_gda.steps_taken == 5 and run_gda.hvp_evaluations == 0


def test_same_seed_same_run():
    runs = []
    for _ in range(2):
        game, x, y, _ = small_gan(9)
        runs.append(train_gan(game, "adam", x, y, budget=20, eta=0.01))
    np.testing.assert_array_equal(runs[0].x, runs[1].x)


def test_divergence_is_reported_with_its_step():
    game, x, y, _ = small_gan(10, activation="relu")
    with pytest.raises(DivergenceError) as error:
        train_gan(game, "gda", x * 50, y * 50, budget=4000, eta=1e3)
    step = error.value.step
    assert step >= 1 and f"step {step}" in str(error.value)
    game, x, y, _ = small_gan(10, activation="relu")
    run = train_gan(game, "gda", x * 50, y * 50, budget=4000, eta=1e3, on_failure="stop")
    assert run.status == "diverged" and run.stopped_at == step
    assert np.isfinite(run.x).all() and run.steps_taken == step - 1


def test_cg_budget_exhaustion_is_reported_with_its_step():
    game, x, y, _ = small_gan(11)
    options = {"maxiter": 1, "tol": 1e-30}
    with pytest.raises(np.linalg.LinAlgError, match="step 1"):
        train_gan(game, "acgd", x, y, budget=100, eta=0.5, options=options)
    run = train_gan(game, "acgd", x, y, budget=100, eta=0.5, options=options, on_failure="stop")
    assert run.status == "inner_solver_failed" and run.stopped_at == 1


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: GANGame(MLP((2, 3)), MLP((2, 1)), two_modes()), "generator"),
        (lambda: GANGame(MLP((2, 2)), MLP((3, 1)), two_modes()), "discriminator"),
        (lambda: GANGame(MLP((2, 2)), MLP((2, 2)), two_modes()), "discriminator"),
        (lambda: GANGame(MLP((2, 2)), MLP((2, 1)), two_modes(), loss="hinge"), "loss"),
        (
            lambda: GANGame(MLP((2, 2)), MLP((2, 1)), two_modes()).set_batch(
                np.ones((3, 3)), np.ones((3, 2))
            ),
            "real",
        ),
        (
            lambda: GANGame(MLP((2, 2)), MLP((2, 1)), two_modes()).grad_x_f(np.ones(5), np.ones(3)),
            "x",
        ),
    ],
)
def test_shape_mismatches_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_adam_first_step_moves_each_coordinate_by_lr():
    game, x, y, _ = small_gan(12)
    x1, y1, _ = adam_step(game, x, y, 0.01, 0.02)
    np.testing.assert_allclose(np.abs(x1 - x), 0.01, rtol=1e-4)
    # The WGAN loss does not depend on D's output bias: zero gradient, no move.
    moving = np.abs(game.grad_y_g(x, y)) > 1e-3
    assert not moving[-1] and y1[-1] == y[-1]
    np.testing.assert_allclose(np.abs(y1 - y)[moving], 0.02, rtol=1e-4)


def test_metrics_against_scipy_and_by_hand():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(40), rng.standard_normal(30) + 0.5
    assert energy_distance(a, b) == pytest.approx(scipy.stats.energy_distance(a, b), rel=1e-10)
    assert wasserstein_1d(a, b) == pytest.approx(scipy.stats.wasserstein_distance(a, b))
    data = ring(4, radius=1.0, std=0.05)
    samples = np.vstack([data.means[[0, 0, 1]], [[0.0, 0.0]]])
    np.testing.assert_allclose(mode_fractions(samples, data), [0.5, 0.25, 0, 0])
    assert modes_covered(samples, data) == 2
    big = data.sample(4000, rng=1)
    np.testing.assert_allclose(mode_fractions(big, data), 0.25, atol=0.03)
    assert modes_covered(big, data) == 4


def test_figure_data_supports_the_stated_claims():
    """The committed figure data backs what the README and the tutorial state.

    WGAN without penalty at the large step size: ACGD covers both modes in every seed
    and ends closer to the data than Adam in every seed; OGDA diverges in every seed.
    Cross-entropy at the small step size: Adam is as good as ACGD.
    """
    path = FIGURES / "cgd_gan_icr.json"
    if not path.exists():
        pytest.skip("figures/cgd_gan_icr.json not generated yet")
    data = json.loads(path.read_text())
    if len(data["sizes"]["seeds"]) < 8:
        pytest.skip("the committed data is from a quick run")
    large = data["settings"]["large"]
    assert (
        large["eta"] == 0.03 and data["settings"]["large"]["acgd"]["status"].count("completed") == 8
    )
    assert min(large["acgd"]["final_modes_covered"]) == 2
    acgd, adam = large["acgd"]["final_energy"], large["adam"]["final_energy"]
    assert all(a < b for a, b in zip(acgd, adam, strict=True))
    assert large["ogda"]["status"] == ["diverged"] * 8
    # Where ACGD does not win: cross-entropy at the small step, Adam covers both modes in
    # every seed too, and its best run is closer to the data than ACGD's best.
    ce = data["settings"]["cross_entropy"]
    assert min(ce["adam"]["final_modes_covered"]) == 2
    assert min(ce["adam"]["final_energy"]) < min(ce["acgd"]["final_energy"])


# ---------------------------------------------------------------- issue 23: sizes, states, methods


@pytest.fixture
def ten_megabytes(monkeypatch):
    """A machine with 10 MB of memory, so that the size checks are exercised by small calls."""
    from refimpl import validation

    monkeypatch.setattr(validation, "_memory_bytes", lambda: 10**7)


def _tiny_game(batch_size=4):
    return GANGame(MLP((2, 3, 2), "tanh"), MLP((2, 3, 1), "tanh"), two_modes(), batch_size, rng=0)


def test_batch_times_widths_is_checked_before_allocating(ten_megabytes):
    # B = 1e5 passed (B <= 1e7) although every forward pass then keeps B × 76 floats.
    with pytest.raises(ValueError, match="^batch_size: an array of shape"):
        _tiny_game(10**5)
    game = _tiny_game()
    with pytest.raises(ValueError, match="^noise: an array of shape"):
        game.set_batch(np.ones((3, 2)), np.zeros((10**5, 2)))
    with pytest.raises(ValueError, match="^real: an array of shape"):
        game.set_batch(np.ones((10**5, 2)), np.zeros((3, 2)))
    # the generator's traces (4 × (2 + 3 + 2) floats a sample), not only its widest layer
    with pytest.raises(ValueError, match="^size: an array of shape"):
        game.sample(game.generator.init(0), 10**5, rng=0)
    # the labels, noise, means and sum of a sample, not only its d entries
    with pytest.raises(ValueError, match="^size: an array of shape"):
        two_modes().sample(5 * 10**5, rng=0)


def test_metrics_check_the_size_of_their_differences(ten_megabytes):
    # the differences are (N, M, d) and (N, K, d); the checks were (N, M) and (N, K)
    with pytest.raises(ValueError, match="^a, b: an array of shape"):
        energy_distance(np.zeros((1000, 2)), np.zeros((1000, 2)))
    with pytest.raises(ValueError, match="^samples, data: an array of shape"):
        mode_fractions(np.zeros((10**5, 2)), ring(8))


def test_training_and_the_experiment_check_their_sizes_first(ten_megabytes):
    from refimpl.cgd.gan import compare_gan_methods

    game = _tiny_game()
    x, y = game.generator.init(1), game.discriminator.init(2)
    with pytest.raises(ValueError, match="^records: an array of shape"):
        train_gan(game, "gda", x, y, budget=4, eta=0.01, records=10**5)
    with pytest.raises(ValueError, match="^n_eval: an array of shape"):
        compare_gan_methods(two_modes(), ("gda",), budget=2, hidden=(2,), batch_size=2, n_eval=1000)


def test_energy_distance_of_samples_of_two_dimensions_names_both():
    with pytest.raises(ValueError, match=r"^a, b: expected samples of one dimension"):
        energy_distance(np.zeros(4), np.zeros((2, 2)))  # a is (4, 1): b or a may be wrong


def test_samples_of_a_mixture_beyond_the_float_range_are_refused():
    mixture = GaussianMixture([[1e308], [-1e308]], 1e308)
    with pytest.raises(ValueError, match="^means, std: the samples"):
        mixture.sample(50, rng=0)  # returned inf entries


def test_sequences_and_games_that_are_classes_are_refused_by_name():
    from refimpl.cgd.gan import compare_gan_methods

    game = _tiny_game()
    x, y = game.generator.init(1), game.discriminator.init(2)
    with pytest.raises(ValueError, match="^game: "):
        train_gan(GANGame, "gda", x, y, budget=4, eta=0.01)  # was AttributeError
    for name in ("methods", "seeds", "hidden"):
        with pytest.raises(ValueError, match=f"^{name}: "):
            compare_gan_methods(two_modes(), **{name: tuple}, budget=2)  # was TypeError


def test_train_gan_checks_option_values_before_the_first_step():
    game = _tiny_game()
    x, y = game.generator.init(1), game.discriminator.init(2)
    for method, options in (("adam", {"beta1": 1.5}), ("acgd", {"maxiter": 0})):
        key = next(iter(options))
        with pytest.raises(ValueError, match=rf"^options\['{key}'\]: "):
            train_gan(game, method, x, y, budget=10, eta=0.01, options=options)


def _states(n, m):
    from refimpl.cgd.gan import AdamState

    z, w = np.zeros(n), np.zeros(m)
    return {
        "adam": [
            AdamState(1, np.zeros(2), np.zeros(2), w, w),  # a broadcasting error, no name
            AdamState("a", z, z, w, w),  # TypeError
            AdamState(1, None, None, None, None),  # TypeError
            AdamState(-1, z, z, w, w),  # named "step"
            AdamState(1, z, -np.ones(n), w, w),  # sqrt of a negative: DivergenceError
        ],
        "acgd": [
            AlternatingACGDState(1, np.zeros(2), w),  # a broadcasting error, no name
            AlternatingACGDState("a", z, w),  # TypeError
            AlternatingACGDState(-1, z, w),  # named eta_x, eta_y, eps
            AlternatingACGDState(1, z, w, np.zeros(3)),  # a broadcasting error, no name
            AlternatingACGDState(1, z, w, None, None, "no"),  # accepted
        ],
    }


@pytest.mark.parametrize("which, index", [(k, i) for k in ("adam", "acgd") for i in range(5)])
def test_optimizer_states_are_checked_and_named(which, index):
    game = _tiny_game()
    x, y = game.generator.init(1), game.discriminator.init(2)
    state = _states(game.n, game.m)[which][index]
    step = adam_step if which == "adam" else acgd_alternating_step
    with pytest.raises(ValueError, match="^state: "):
        step(game, x, y, 0.01, 0.01, state)


def test_adam_reports_moments_that_overflow():
    # ∇ = 1e200 gives v = inf: x did not move and the returned state held inf.
    with pytest.raises(DivergenceError, match="Adam's moments"):
        adam_step(BilinearGame(1e200), np.array([1.0]), np.array([1.0]), 0.1, 0.1)


def test_alternating_acgd_blames_a_non_finite_gradient_not_the_step_sizes():
    class NaNGame(BilinearGame):
        def grad_x_f(self, x, y):
            return np.full(1, np.nan)

    with pytest.raises(DivergenceError, match="the gradient"):  # was "eta_x, eta_y, eps: ..."
        acgd_alternating_step(NaNGame(1.0), np.ones(1), np.ones(1), 0.1, 0.1)


def test_the_gans_dense_blocks_are_the_products_and_name_a_foreign_point():
    from contract import ForeignArray

    game = _tiny_game()
    x, y = game.generator.init(1), game.discriminator.init(2)
    np.testing.assert_array_equal(game.dxy_f_matrix(x, y), game.dxy_f(x, y, np.eye(game.m)))
    # the foreign array was refused as "arrays[0]" or "arrays[1]"
    with pytest.raises(ValueError, match="^x: "):
        game.dyx_g_matrix(ForeignArray(x), y)
    with pytest.raises(ValueError, match="^y: "):
        game.dxy_f_matrix(x, ForeignArray(y))
