"""Regressions from an independent sweep of bad calls over every public function and method.

Each test is one call that broke the contract before (a silent overflow, a loop sized by an
absurd step count, a message naming the wrong argument or none, an array subclass computing
something else) and now raises ValueError naming the caller's argument, or works.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from refimpl import inrank, nn, oracle, pde, validation
from refimpl.inrank import attention, data, experiments, layers, optim, rank


def test_an_update_whose_product_would_overflow_leaves_the_layer_unchanged():
    layer = layers.LowRankUpdateLayer(np.eye(4), np.ones((4, 2)), np.ones((4, 2)), rank=2)
    before = layer.dense().copy()
    with pytest.raises(ValueError, match=r"^updates: .*could overflow"):
        layer.apply([np.full((4, 2), 1e200), np.full((4, 2), 1e200)])
    assert np.array_equal(layer.dense(), before)


def test_an_absurd_step_count_is_refused_before_the_loop():
    rng = np.random.default_rng(0)
    weights = [0.1 * np.eye(3) for _ in range(3)]
    X, Y = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^steps, record_every: "):
        inrank.train(weights, X, Y, lr=0.1, steps=10**13)
    assert time.perf_counter() - start < 5


def test_samples_that_differ_between_x_and_y_blame_both():
    rng = np.random.default_rng(0)
    weights = [0.1 * np.eye(3) for _ in range(3)]
    X, Y = rng.standard_normal((3, 9)), rng.standard_normal((3, 8))
    for call in (
        lambda: inrank.gradients(weights, X, Y),
        lambda: inrank.loss(weights, X, Y),
        lambda: inrank.backprop.forward_backward([layers.DenseLayer(w) for w in weights], X, Y),
    ):
        with pytest.raises(ValueError, match=r"^X, Y: expected the same number of samples"):
            call()


def test_an_overflowing_gradient_names_the_callers_weights():
    weights = [np.full((3, 3), 1e150) for _ in range(3)]
    with pytest.raises(ValueError, match=r"^weights, X, Y: "):
        inrank.gradients(weights, np.ones((3, 4)), np.ones((3, 4)))


def test_a_trace_is_built_from_the_callers_arguments():
    net = nn.MLP((2, 3, 1))
    theta = net.init(0)
    X = np.ones((4, 2))
    trace = nn.Trace(net, theta, X)
    assert np.array_equal(trace.output, net.linearize(theta, X).output)
    with pytest.raises(ValueError, match=r"^net: "):
        nn.Trace(None, theta, X)
    with pytest.raises(ValueError, match=r"^theta: "):
        nn.Trace(net, None, X)


def test_gauss_newton_refuses_a_residual_that_is_not_callable():
    problem = pde.NonlinearElliptic()
    system = pde.CollocationSystem(*problem.collocation(0.25), problem.basis)
    solver = pde.DenseSolver(pde.MeasurementKernel(problem.kernel), system, 1e-10)
    boundary, interior = problem.collocation(0.25)
    with pytest.raises(ValueError, match=r"^residual: "):
        pde.gauss_newton(
            solver,
            lambda v: problem.linearize(v, problem.rhs(interior)),
            problem.truth(boundary),
            problem.initial_state(len(interior)),
            1,
            residual="abc",
        )


def test_a_solver_step_number_is_checked():
    problem = pde.NonlinearElliptic()
    system = pde.CollocationSystem(*problem.collocation(0.25), problem.basis)
    solver = pde.DenseSolver(pde.MeasurementKernel(problem.kernel), system, 1e-10)
    weights, rhs = problem.linearize(
        problem.initial_state(system.n_interior), problem.rhs(problem.collocation(0.25)[1])
    )
    full_rhs = np.concatenate([np.zeros(system.n_boundary), rhs])
    for step in ("abc", 2.5, None, -1):
        with pytest.raises(ValueError, match=r"^step: "):
            solver.solve(weights, full_rhs, step=step)


def test_a_rank_above_the_cap_blames_both():
    with pytest.raises(ValueError, match=r"^current_rank, cap: expected current_rank <= cap"):
        rank.select_rank(np.array([3.0, 2.0, 1.0]), 10**13, 1, 3)


def test_an_overflowing_attention_gradient_names_the_cache_too():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    _, cache = attention.layer_norm_forward(x, np.ones(4), np.zeros(4))
    xhat, rstd, gain = cache
    huge = (xhat, rstd, gain * 1e200)  # a cache from a forward pass with a huge gain
    dy = 1e200 * np.arange(24.0).reshape(2, 3, 4)
    with pytest.raises(ValueError, match=r"^dy, cache: "), np.errstate(all="ignore"):
        attention.layer_norm_backward(dy, huge)


def test_make_optimizer_names_its_own_argument():
    with pytest.raises(ValueError, match=r"^optimizer: "):
        optim.make_optimizer(optimizer=None, lr=0.1)


def test_case_lookups_name_the_callers_argument():
    with pytest.raises(ValueError, match=r"^name: "):
        oracle.get_case("nope.nope")
    with pytest.raises(ValueError, match=r"^case: "):
        oracle.recorded_outputs("nope.nope")


def test_kernel_matvec_names_its_own_arguments():
    kernel = pde.MeasurementKernel(pde.NonlinearElliptic().kernel)
    rows = pde.point_values(np.array([[0.1, 0.2], [0.3, 0.4]])).rows()
    with pytest.raises(ValueError, match=r"^others, vector: "):
        pde.kernel_matvec(kernel, rows, rows, np.ones(1))
    with pytest.raises(ValueError, match=r"^rows, others: "):
        pde.kernel_matvec(kernel, rows * 1e120, rows, np.ones(2))


def test_log_spaced_indices_refuses_fractional_steps():
    with pytest.raises(ValueError, match=r"^steps: expected integer"):
        experiments.log_spaced_indices(np.arange(10) + 0.5)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # numpy.matrix's own
def test_matrix_subclasses_become_arrays_and_masked_arrays_are_refused():
    assert type(validation.as_float_array("x", np.matrix([[1.0, 2.0]]))) is np.ndarray
    with pytest.raises(ValueError, match=r"^x: expected a plain array, received a masked"):
        validation.as_float_array("x", np.ma.masked_array([1.0, 2.0], [0, 1]))
    # np.matrix would make ** a matrix power: the loss of a matrix is the loss of its array
    rng = np.random.default_rng(0)
    weights = [0.5 * np.eye(3) for _ in range(3)]
    X, Y = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    assert inrank.loss(weights, np.asmatrix(X), np.asmatrix(Y)) == inrank.loss(weights, X, Y)


def test_factors_of_different_ranks_blame_both():
    layer = layers.LowRankUpdateLayer(np.eye(4), np.ones((4, 2)), np.ones((4, 2)), rank=2)
    with pytest.raises(ValueError, match=r"^U, V: expected the same number of columns"):
        layer.with_factors(np.ones((4, 3)), np.ones((4, 2)))


def test_a_spectrum_of_the_wrong_length_names_target_too():
    with pytest.raises(ValueError, match=r"^target, input_spectrum: "):
        data.teacher_data(np.ones((3, 5)), 10, rng=0, input_spectrum=[2.0, 1.0, 1.0, 0.5])


def test_the_staircase_names_its_own_arguments_when_the_loss_overflows():
    with pytest.raises(ValueError, match=r"^sigmas, singular_values: "):
        experiments.staircase(sigmas=(1e100,), singular_values=(1e200, 1.0), n=3, steps=2, rng=0)
