"""Network, gradients, initializations, data and optimizers of refimpl.inrank."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import seeds, well_conditioned_matrices

from refimpl.inrank import (
    aligned_init,
    end_to_end,
    forward,
    gradients,
    loss,
    orthogonal_init,
    small_gaussian_init,
    teacher,
    teacher_data,
)
from refimpl.inrank.backprop import forward_backward
from refimpl.inrank.layers import DenseLayer, LowRankUpdateLayer
from refimpl.inrank.mlp import mlp_gradients, mlp_init, mlp_loss
from refimpl.inrank.mlp_task import relu_teacher
from refimpl.inrank.optim import Adam, make_optimizer

widths_st = st.lists(st.integers(1, 5), min_size=3, max_size=5)


def _central_differences(f, weights, h=1e-6):
    """Numerical gradient; central differences have error O(h²·f''') ≈ 1e-12 here."""
    grads = []
    for l, w in enumerate(weights):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):  # tiny matrices: a loop over entries is fine here
            plus = [x.copy() for x in weights]
            minus = [x.copy() for x in weights]
            plus[l][idx] += h
            minus[l][idx] -= h
            g[idx] = (f(plus) - f(minus)) / (2 * h)
        grads.append(g)
    return grads


@given(widths=widths_st, n=st.integers(1, 6), seed=seeds)
def test_linear_gradients_match_central_differences(widths, n, seed):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    X = rng.standard_normal((widths[0], n))
    Y = rng.standard_normal((widths[-1], n))
    value, grads = gradients(weights, X, Y)
    assert value == pytest.approx(float(loss(weights, X, Y)))
    numeric = _central_differences(lambda w: float(loss(w, X, Y)), weights)
    for g, gn in zip(grads, numeric, strict=True):
        # round-off of the difference quotient: ~1e-16 · |loss| / h
        np.testing.assert_allclose(g, gn, rtol=1e-5, atol=1e-7 * (1 + abs(value)))


@given(seed=seeds, hidden=st.integers(1, 6))
def test_mlp_gradients_match_central_differences(seed, hidden):
    rng = np.random.default_rng(seed)
    task = relu_teacher(3, 2, 5, rng=rng, teacher_hidden=2)
    weights = mlp_init(3, hidden, 2, rng=rng)
    value, grads = mlp_gradients(weights, task.X, task.Y)
    # A ReLU kink within h of a pre-activation breaks differentiability: skip those draws.
    assume(np.min(np.abs(weights[0] @ task.X)) > 1e-4)
    numeric = _central_differences(lambda w: float(mlp_loss(w, task.X, task.Y)), weights)
    for g, gn in zip(grads, numeric, strict=True):
        np.testing.assert_allclose(g, gn, rtol=1e-5, atol=1e-7 * (1 + abs(value)))


@given(seed=seeds, activation=st.sampled_from(["linear", "relu"]))
def test_low_rank_layer_gradients_follow_chain_rule(seed, activation):
    rng = np.random.default_rng(seed)
    m, n, k = 4, 3, 2
    base = rng.standard_normal((m, n))
    U, V = rng.standard_normal((m, 3)), rng.standard_normal((n, 3))
    low = LowRankUpdateLayer(base, U, V, rank=k)
    head = DenseLayer(rng.standard_normal((2, m)))
    X, Y = rng.standard_normal((n, 6)), rng.standard_normal((2, 6))
    value, grads = forward_backward([low, head], X, Y, activation)
    dense_value, dense_grads = forward_backward(
        [DenseLayer(low.dense()), DenseLayer(head.W)], X, Y, activation
    )
    assert value == pytest.approx(dense_value, rel=1e-12)
    G = dense_grads[0][0]  # ∇W of the first layer
    np.testing.assert_allclose(grads[0][0], G @ V[:, :k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[0][1], G.T @ U[:, :k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[1][0], dense_grads[1][0], rtol=1e-10, atol=1e-12)


def test_forward_and_loss_normalization():
    rng = np.random.default_rng(0)
    weights = orthogonal_init((3, 4, 5, 2), 1.0, rng)
    X = rng.standard_normal((3, 7))
    acts = forward(weights, X)
    assert [a.shape for a in acts] == [(3, 7), (4, 7), (5, 7), (2, 7)]
    Y = rng.standard_normal((2, 7))
    expected = 0.5 * np.sum((end_to_end(weights) @ X - Y) ** 2) / 7
    assert float(loss(weights, X, Y)) == pytest.approx(expected)


@given(seed=seeds, scale=st.floats(0.01, 2.0), widths=widths_st)
def test_orthogonal_init_has_all_singular_values_equal_scale(seed, scale, widths):
    for w in orthogonal_init(widths, scale, seed):
        np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), scale, rtol=1e-12)


@given(target=well_conditioned_matrices(rows=st.integers(1, 6)), scale=st.floats(0.05, 2.0))
def test_aligned_init_product_and_hidden_widths(target, scale):
    W1, W2, W3 = aligned_init(target, scale, rng=0)
    n = target.shape[0]
    assert W1.shape == W2.shape == W3.shape == (n, n)
    u, _, vt = np.linalg.svd(target)
    np.testing.assert_allclose(W3 @ W2 @ W1, scale**3 * u @ vt, atol=1e-12 * (1 + scale**3))
    # every layer is σ times an orthogonal matrix
    for w in (W1, W2, W3):
        np.testing.assert_allclose(w @ w.T, scale**2 * np.eye(n), atol=1e-12)


def test_aligned_init_rectangular_target():
    T = teacher([2.0, 1.0], n_out=3, n_in=5, rng=0).target
    W1, W2, W3 = aligned_init(T, 0.5, rng=1)
    assert (W1.shape, W2.shape, W3.shape) == ((3, 5), (3, 3), (3, 3))


def test_small_gaussian_init_statistics():
    (w,) = small_gaussian_init((200, 300), 1e-3, rng=0)
    # sample std of 6e4 entries: relative standard error 1/sqrt(2·6e4) ≈ 0.003
    assert np.std(w) == pytest.approx(1e-3, rel=0.015)


@given(seed=seeds, noise=st.one_of(st.just(0.0), st.floats(0.01, 0.5)))
def test_teacher_data_whitened_and_noise(seed, noise):
    t = teacher([3.0, 1.0, 0.5], 4, 5, rng=seed)
    np.testing.assert_allclose(np.linalg.svd(t.target, compute_uv=False)[:3], [3.0, 1.0, 0.5])
    X, Y = teacher_data(t.target, 40, rng=seed, noise=noise)
    np.testing.assert_allclose(X @ X.T / 40, np.eye(5), atol=1e-12)
    resid = Y - t.target @ X
    if noise == 0:
        assert np.max(np.abs(resid)) < 1e-12
    else:
        # 160 draws: the sample std has relative standard error 1/sqrt(2·160) ≈ 0.056, so
        # 25 % is 4.5 standard errors; rounding in Y − T X (~1e-15) is far below 0.01.
        assert np.std(resid) == pytest.approx(noise, rel=0.25, abs=0.0)


def test_teacher_data_correlated_inputs_have_exact_covariance():
    lam = np.array([5.0, 2.0, 1.0, 0.1])
    X, _ = teacher_data(np.eye(4), 30, rng=3, input_spectrum=lam)
    np.testing.assert_allclose(np.linalg.eigvalsh(X @ X.T / 30), np.sort(lam), rtol=1e-10)


def test_adam_first_step_is_sign_and_gd_is_minus_lr_grad():
    g = np.array([[3.0, -0.5]])
    adam = Adam(0.01)
    adam.begin_step()
    np.testing.assert_allclose(adam.update("w", g), -0.01 * np.sign(g), rtol=1e-6)
    gd = make_optimizer("gd", 0.1)
    gd.begin_step()
    np.testing.assert_allclose(gd.update("w", g), -0.1 * g)


def test_adam_column_slices_keep_separate_state():
    adam = Adam(0.1)
    adam.begin_step()
    adam.update("u", np.ones((2, 1)), shape=(2, 3), cols=1)
    adam.begin_step()
    step = adam.update("u", np.ones((2, 2)), shape=(2, 3), cols=2)
    # column 0 has history: m = 0.19, v = 0.001999, so m̂ = 0.19/(1 − 0.9²) = 1 and
    # v̂ = 0.001999/(1 − 0.999²) = 1; column 1 is fresh at t = 2: m = 0.1, v = 0.001.
    expected_0 = -0.1 * 1.0 / (1.0 + 1e-8)
    expected_1 = -0.1 * (0.1 / 0.19) / (np.sqrt(0.001 / 0.001999) + 1e-8)
    np.testing.assert_allclose(step, [[expected_0, expected_1]] * 2, rtol=1e-12)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: gradients([np.ones((2, 3)), np.ones((2, 3))], np.ones((3, 1)), None), "weights"),
        (lambda: loss([np.ones((2, 3))], np.ones((4, 1)), np.ones((2, 1))), "X"),
        (lambda: loss([np.ones((2, 3))], np.ones((3, 1)), np.ones((2, 2))), "Y"),
        (lambda: loss([np.ones((2, 3))], np.full((3, 1), np.inf), np.ones((2, 1))), "X"),
        (lambda: loss([np.full((2, 3), np.nan)], np.ones((3, 1)), np.ones((2, 1))), "weights"),
        (lambda: orthogonal_init((3, 4), -1.0, 0), "scale"),
        (lambda: orthogonal_init((3,), 1.0, 0), "widths"),
        (lambda: aligned_init(np.ones(3), 1.0, 0), "target"),
        (lambda: teacher([1.0, 2.0, 3.0], 2, 5, 0), "singular_values"),
        (lambda: teacher_data(np.eye(3), 2, 0), "n_samples"),
        (lambda: teacher_data(np.eye(2), 5, 0, input_spectrum=[1.0, -1.0]), "input_spectrum"),
        (lambda: make_optimizer("gd", 0.0), "lr"),
        (lambda: make_optimizer("rmsprop", 0.1), "optimizer"),
        (lambda: make_optimizer("gd", 0.1, {"beta1": 0.5}), "adam_options"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_backend_in_backend_out(xp):
    rng = np.random.default_rng(1)
    weights = [xp.asarray(rng.standard_normal((3, 3))) for _ in range(3)]
    X = xp.asarray(rng.standard_normal((3, 4)))
    Y = xp.asarray(rng.standard_normal((3, 4)))
    value, grads = gradients(weights, X, Y)
    assert all(type(g) is type(X) for g in grads)
    ref_value, ref = gradients(
        [np.asarray(w.get() if hasattr(w, "get") else w) for w in weights],
        np.asarray(X.get() if hasattr(X, "get") else X),
        np.asarray(Y.get() if hasattr(Y, "get") else Y),
    )
    assert float(value) == pytest.approx(float(ref_value))
