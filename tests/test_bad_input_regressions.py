"""Reproducers from the independent bad-input sweep: each once broke the contract.

Each case used to hang, return NaN/inf silently, or raise an undocumented exception
type; each must now raise a ``ValueError`` naming the argument (or work).
"""

import sys
import unittest.mock

import numpy as np
import pytest

from refimpl import cgd, inrank, oracle, pde, vecchia
from refimpl.inrank import dynamics

CASES = [
    ("depth", lambda: dynamics.mode_strength(np.array([2.0, 1.0, 0.0]), 1e-3, 5.0, 10**12)),
    (
        "order",
        lambda: cgd.neumann_step(
            cgd.BilinearGame(np.eye(2)), np.ones(2), np.ones(2), 0.1, 0.1, 10**12
        ),
    ),
    ("nu", lambda: pde.cole_hopf(np.linspace(-1, 1, 5), 0.5, 5e-324)),
    ("std", lambda: inrank.small_gaussian_init((3, 4, 2), 1e308, 0)),
    ("noise", lambda: inrank.teacher_data(np.eye(4), 6, 0, noise=1e308)),
    (
        "steps",
        lambda: cgd.run(cgd.BilinearGame(np.eye(2)), "cgd", np.ones(2), np.ones(2), 10**12, 0.1),
    ),
    ("h", lambda: pde.unit_square_grid(5e-324)),
    ("dt", lambda: pde.Burgers(dt=5e-324)),
    ("nu", lambda: vecchia.Matern(1e308, 0.2)),
]


@pytest.mark.parametrize(
    "argument, call", CASES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(CASES)]
)
def test_extreme_input_raises_a_value_error_naming_the_argument(argument, call):
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=rf"\b{argument}\b"):
        call()


def test_whitening_an_overflowing_sample_names_z():
    Z = np.random.default_rng(1).standard_normal((3, 6))
    Z.flat[0] = 1e308
    with np.errstate(all="ignore"), pytest.raises((ValueError, np.linalg.LinAlgError), match="Z"):
        inrank.whiten(Z)


def test_half_and_extended_precision_are_computed_in_double():
    points = np.random.default_rng(0).random((30, 2))
    kernel = vecchia.Matern(1.5, 0.2)
    L16, order16 = vecchia.kl_cholesky(points.astype(np.float16), kernel, 3.0)
    L64, order64 = vecchia.kl_cholesky(points.astype(np.float16).astype(float), kernel, 3.0)
    assert np.array_equal(order16, order64)
    assert abs(L16 - L64).max() == 0.0


def test_subnormal_tolerances_round_up_without_underflow():
    assert oracle.Tolerance(5e-324, 1e-8, "subnormal").atol == 5e-324
    assert oracle.Tolerance(1.4637e-8, 0.0, "two digits").atol == 1.5e-8


def test_a_zero_dimensional_initial_index_is_an_index():
    points = np.random.default_rng(0).random((20, 2))
    assert vecchia.maximin_ordering(points, initial=np.array(3))[0][-1] == 3


def test_inrank_defaults_work_for_small_layers():
    weights = inrank.small_gaussian_init((4, 6, 6, 3), 0.1, 0)
    result = inrank.algorithm.inrank(weights, np.ones((4, 5)), np.ones((3, 5)), 0.01, 5)
    assert result.ranks[0].tolist() == [2, 2, 1]  # min(2, cap) with caps (2, 3, 1)


def test_tolerance_rounding_up_near_the_largest_double_stays_finite():
    """Rounding 1.7000000495e308 up to two digits gives 1.8e308 = inf; the largest double
    is kept instead, still an upper bound of the value (found by the contract sweep)."""
    from refimpl.oracle.case import Tolerance

    tol = Tolerance(0.0, 1.7000000495e308, "a huge tolerance")
    assert tol.rtol == sys.float_info.max
    assert Tolerance(0.0, 1.23e-8, "small").rtol == 1.3e-8


def test_kernel_of_an_empty_stack_is_an_empty_stack():
    """A stack of zero-row blocks used to stop at range(0, 0, 0)."""
    from refimpl.vecchia import Gaussian, Matern

    assert Gaussian(1.0)(np.zeros((2, 0, 2)), np.zeros((2, 3, 2))).shape == (2, 0, 3)
    assert Matern(1.5, 0.1)(np.zeros((0, 2)), np.zeros((3, 2))).shape == (0, 3)


def test_repeated_points_among_initial_are_refused_for_p_1():
    """With ``initial`` the lengths are not sorted: a repeated point's zero length may sit
    anywhere, and must still be refused (review finding)."""
    from refimpl.vecchia import maximin_ordering

    with pytest.raises(ValueError, match="points: expected distinct points"):
        maximin_ordering(np.array([[0.0], [0.0], [5.0]]), 1, [0, 1, 2])


def test_built_in_kernel_at_the_largest_variance_raises_instead_of_inf():
    """Matérn profiles exceed 1 by an ulp after rounding; times the largest double that is
    inf, which must raise (review finding)."""
    from refimpl.vecchia import Matern

    big = np.finfo(float).max
    with pytest.raises(ValueError, match="variance"):
        Matern(2.5, 1.0, variance=big)(np.array([[0.0], [4.465055282537339e-09]]))


def test_a_subclass_profile_returning_a_scalar_or_a_view_still_gives_a_block():
    from refimpl.vecchia.kernels import Kernel

    class Constant(Kernel):
        def profile(self, r):
            return 1.0

    class View(Kernel):
        def profile(self, r):
            return np.broadcast_to(np.exp(-r[..., :1]), r.shape)

    x = np.random.default_rng(0).uniform(size=(3, 2))
    block = Constant(1.0)(x)
    assert block.shape == (3, 3) and np.all(block == 1.0)
    assert View(1.0)(x).shape == (3, 3)


def test_ball_pattern_on_a_grid_keeps_pairs_at_exactly_rho_l():
    """The KD-tree compares squared distances with a rounded r²; on a grid some pairs sit at
    exactly ρ l_j and were dropped (20 of them on 25 × 25 with ρ = 2)."""
    from refimpl.vecchia import ball_pattern, maximin_ordering

    grid = np.stack(np.meshgrid(np.arange(25.0), np.arange(25.0)), -1).reshape(-1, 2)
    order, lengths = maximin_ordering(grid)
    x = grid[order]
    pattern = ball_pattern(x, lengths, 2.0)
    distance = np.linalg.norm(x[:, None] - x[None], axis=-1)
    n = len(x)
    lower = np.arange(n)[:, None] >= np.arange(n)[None, :]
    expected = (distance <= 2.0 * lengths[None, :]) & lower
    np.testing.assert_array_equal(pattern.to_sparse().toarray() > 0, expected)


@pytest.mark.parametrize("lr", [2.2e-311, 6.6e-309])
def test_staircase_names_lr_when_its_time_scale_overflows(lr):
    """A tiny lr passes check_positive; the closed forms on τ = 1/lr then failed under the
    names ``tau``, ``u0`` of functions the caller never called (found by the contract sweep:
    1/lr = inf, and 1/lr finite but the learning times overflowing)."""
    from refimpl.inrank.experiments import staircase

    with pytest.raises(ValueError, match=r"^lr, sigmas, singular_values: "):
        staircase(sigmas=(0.1,), singular_values=(1.0,), n=2, steps=2, lr=lr, rng=0)


@pytest.mark.parametrize("inrank_options", [None, {"warmup": 0, "gap": 1}])
def test_transformer_training_that_overflows_the_activations_is_a_divergence(inrank_options):
    # lr = 1e100 leaves the weights finite (about 1e100) after one Adam step, but the next
    # forward pass overflows and a layer refuses its input: that is divergence, not bad input.
    from refimpl.inrank.corpus import grammar_corpus
    from refimpl.inrank.transformer import Transformer
    from refimpl.inrank.transformer_train import train_transformer
    from refimpl.validation import DivergenceError

    corpus = grammar_corpus(600, rng=0)
    model = Transformer(corpus.vocab_size, 8, 2, 1, 4, rng=0)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match="lower lr") as caught:
        train_transformer(
            model, corpus.train, corpus.validation, steps=2, lr=1e100, batch_size=2,
            length=4, record_every=1, inrank=inrank_options, rng=0,
        )  # fmt: skip
    assert caught.value.step == 1


def test_train_gan_names_eta_when_the_first_acgd_step_size_overflows():
    # eta = 1.8e304 passes check_positive, but eta / eps = 1.8e309 overflows inside the ACGD
    # step, whose message named its own eta_x, eta_y (found by the contract sweep's floats).
    from refimpl.cgd.gan.data import mixture_1d
    from refimpl.cgd.gan.game import GANGame
    from refimpl.cgd.gan.training import train_gan
    from refimpl.nn import MLP

    game = GANGame(MLP((1, 4, 1)), MLP((1, 4, 1)), mixture_1d(), batch_size=8, rng=0)
    x0, y0 = game.generator.init(rng=1), game.discriminator.init(rng=2)
    with (
        np.errstate(all="ignore"),
        pytest.raises(ValueError, match=r"^eta, options, x0, y0: the first acgd"),
    ):
        train_gan(game, "acgd", x0, y0, budget=40, eta=1.7976931348623153e304)


def test_inrank_names_init_scale_when_the_initial_factor_overflows():
    from refimpl.inrank import algorithm as inrank_algorithm

    weights = [np.eye(3), np.eye(3), np.eye(3)]
    X, Y = np.eye(3), np.eye(3)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=r"^init_scale: "):
        inrank_algorithm.inrank(weights, X, Y, 0.1, 2, init_scale=1.03784826147276e308, rng=0)


def test_transformer_to_inrank_names_init_scale_and_leaves_the_model_unchanged():
    from refimpl.inrank.transformer import Transformer

    model = Transformer(24, 8, 2, 1, 4, rng=0)
    before = dict(model.layers)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=r"^init_scale: "):
        model.to_inrank(["fc"], 1, 1, 2, 7.731911140580778e307, rng=0, skip_first_block=False)
    assert model.layers == before


def test_relu_teacher_names_noise_when_the_labels_overflow():
    from refimpl.inrank.mlp_task import relu_teacher

    with np.errstate(all="ignore"), pytest.raises(ValueError, match=r"^noise: "):
        relu_teacher(4, 2, 10, rng=0, noise=1.7805673116557374e308)


@pytest.mark.parametrize("efficient", [False, True])
def test_inrank_rank_check_on_diverged_weights_is_a_divergence(efficient):
    # lr = 274104: the weights blow up, and the next rank check met infinite singular values,
    # which select_rank refused as bad input naming its own argument `s`.
    from refimpl.inrank import algorithm as inrank_algorithm
    from refimpl.validation import DivergenceError

    X, Y = inrank.teacher_data(inrank.teacher([2.0, 1.0], 4, 4, rng=0).target, 8, rng=1)
    weights = inrank.orthogonal_init((4, 4, 4, 4), 0.5, rng=2)
    options = {"warmup": 2, "gap": 2, "initial_rank": 1, "rng": 5, "buffer": 1, "record_every": 2}
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match="singular values"):
        if efficient:
            inrank.inrank_efficient(weights, X, Y, 274104.0, 6, 4, **options)
        else:
            inrank_algorithm.inrank(weights, X, Y, 274104.0, 6, **options)


def test_train_gan_passes_a_numerical_failure_of_a_step_through():
    # numpy.linalg.LinAlgError is a ValueError: it must not be re-labelled as bad input
    # (step 1) or divergence (later steps).
    from refimpl.cgd.gan import training
    from refimpl.cgd.gan.data import mixture_1d
    from refimpl.cgd.gan.game import GANGame
    from refimpl.nn import MLP

    game = GANGame(MLP((1, 4, 1)), MLP((1, 4, 1)), mixture_1d(), batch_size=8, rng=0)
    x0, y0 = game.generator.init(rng=1), game.discriminator.init(rng=2)
    info = unittest.mock.Mock(iterations=1, converged=True)
    for step in (1, 3):  # the first step, and a later one
        effects = [(x0, y0, info)] * (step - 1) + [np.linalg.LinAlgError("not SPD")]
        with unittest.mock.patch.object(training, "cgd_step", side_effect=effects):
            with pytest.raises(np.linalg.LinAlgError, match="not SPD"):
                training.train_gan(game, "cgd", x0, y0, budget=40, eta=0.01, on_failure="stop")


def test_ball_pattern_refuses_distances_whose_squares_underflow():
    # Scaled to the largest coordinate (1e300), the points 0, 1e-10 and 2e-10 lie closer
    # than 2**-511 and so do the radii: their squared distances underflowed to 0 and the
    # pattern silently listed pairs the definition does not have (found by review).
    with pytest.raises(ValueError, match=r"^points, lengths, rho: rows \d and \d are closer"):
        vecchia.ball_pattern(np.array([[1e300], [0.0], [1e-10], [2e-10]]), np.full(4, 1e-11), 1.0)


def test_ball_pattern_of_subnormal_coordinates_and_of_tiny_radii():
    # A subnormal largest coordinate made the power-of-two scale 2**1028 = inf.
    pattern = vecchia.ball_pattern(np.array([[0.0], [1e-310]]), np.ones(2), 1.0)
    assert [pattern.column(j).tolist() for j in range(2)] == [[0, 1], [1]]
    # Tiny radii are fine where no two distinct points are that close: the diagonal, and
    # repeated points (distance exactly 0).
    tiny = np.full(3, 1e-300)
    pattern = vecchia.ball_pattern(np.array([[0.0], [1.0], [2.0]]), tiny, 1.0)
    assert [pattern.column(j).tolist() for j in range(3)] == [[0], [1], [2]]
    pattern = vecchia.ball_pattern(np.array([[0.0], [0.0], [1.0]]), tiny, 1.0)
    assert [pattern.column(j).tolist() for j in range(3)] == [[0, 1], [1], [2]]


def test_ball_pattern_choice_of_search_is_not_fooled_by_evenly_spaced_points():
    # The search was chosen on evenly spaced indices; moving exactly those points away made
    # a dense level look empty, and the self-join listed 2e8 pairs (6 GB). The sample is now
    # random (seeded): the pattern is found from ball queries, with few candidates.
    from refimpl.vecchia import patterns

    n = 20000
    x = np.random.default_rng(0).uniform(0, 1, n)
    x[np.linspace(0, n - 1, 256).astype(np.intp)] = 1000 + 10 * np.arange(256)
    lengths = np.full(n, 1e-6)
    lengths[0] = 2.0
    sizes = []
    level_pairs = patterns._level_pairs

    def spy(*args):
        rows, cols = level_pairs(*args)
        sizes.append(rows.size)
        return rows, cols

    with unittest.mock.patch.object(patterns, "_level_pairs", spy):
        pattern = vecchia.ball_pattern(x[:, None], lengths, 1.0)
    assert max(sizes) < 10 * pattern.indices.size
