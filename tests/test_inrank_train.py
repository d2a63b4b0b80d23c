"""Training the three-layer linear network against the closed-form mode dynamics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import seeds

from refimpl.inrank import (
    aligned_init,
    dynamics,
    orthogonal_init,
    teacher,
    teacher_data,
    train,
)
from refimpl.inrank.experiments import staircase
from refimpl.validation import DivergenceError

# Distinct target singular values, at least 30% apart, so modes are well defined.
distinct_s = st.lists(st.floats(0.5, 3.0), min_size=2, max_size=3).filter(
    lambda v: all(abs(a - b) > 0.3 * max(a, b) for i, a in enumerate(v) for b in v[:i])
)


def _aligned_errors(seed, s, sigma, lr, horizon):
    """Max deviation from the closed forms of (mode strengths, layer-2 update SVs, e2e SVs)."""
    s = np.sort(np.asarray(s))[::-1]
    n = s.size + 1  # one null mode
    t = teacher(list(s) + [0.0], n, n, rng=seed)
    X, Y = teacher_data(t.target, n + 3, rng=seed + 1)
    steps = int(round(horizon / lr))
    res = train(
        aligned_init(t.target, sigma, rng=seed + 2),
        X,
        Y,
        lr,
        steps,
        record_every=max(1, steps // 40),
        target=t.target,
    )
    time = res.steps * lr  # τ = 1 in units where t = η · step
    s_all = np.append(s, 0.0)
    u = dynamics.mode_strength(s_all[None, :], sigma**3, time[:, None], depth=3)  # (R, n)
    err_modes = np.max(np.abs(res.mode_strengths[:, : s.size] - u[:, : s.size]))
    a = np.cbrt(u)
    layer2 = np.sort(np.abs(a - sigma), axis=1)[:, ::-1]
    err_layer2 = np.max(np.abs(res.layer_update_singular_values[1] - layer2))
    e2e = np.sort(u, axis=1)[:, ::-1]  # singular values of W3W2W1: modes and the null mode
    err_e2e = np.max(np.abs(np.linalg.svd(res.end_to_end, compute_uv=False) - e2e))
    null_pred = dynamics.null_mode_strength(sigma**3, time, depth=3)
    null_sim = np.linalg.svd(res.end_to_end, compute_uv=False)[:, -1]
    err_null = np.max(np.abs(null_sim - null_pred) / null_pred)
    return np.array([err_modes, err_layer2, err_e2e, err_null])


def _rate(u, s):
    """Right-hand side f(u) = 3 u^{4/3} (s − u) of the depth-3 mode ODE with τ = 1."""
    return 3.0 * u ** (4.0 / 3.0) * (s - u)


def _euler_error_bound(s, u0, lr):
    """First-order error of forward Euler on the mode ODE, maximized over the modes."""
    bounds = []
    for si in s:
        u = np.linspace(u0, si, 2001)
        f = _rate(u, si)
        bounds.append(0.5 * lr * f.max() * np.log(f.max() / f[0]))
    return max(bounds)


@settings(max_examples=6)
@given(seed=seeds.map(lambda x: x % 1000), s=distinct_s, sigma=st.floats(0.3, 0.6))
def test_aligned_gd_follows_mode_strength_with_error_of_order_lr(seed, s, sigma):
    horizon = 1.5 * float(dynamics.learning_time(min(s), sigma**3, 3))
    coarse = _aligned_errors(seed, s, sigma, 0.02, horizon)
    fine = _aligned_errors(seed, s, sigma, 0.01, horizon)
    # Gradient descent is forward Euler on the mode ODE: global error C·η + O(η²), so
    # halving η halves the error; 0.65 leaves room for the O(η²) term at η = 0.02.
    assert np.all(fine <= 0.65 * coarse + 1e-12), (coarse, fine)
    # and C is the modified-equation one: Euler follows u̇ = f − (η/2) f' f, i.e. the exact
    # path delayed by δt = (η/2) ln(f(u)/f(u0)), so |error| ≲ (η/2) max f · ln(max f / f(u0))
    # (measured: 0.1–0.4 of this bound).
    assert np.all(fine[:3] <= _euler_error_bound(s, sigma**3, 0.01)), fine


def test_modes_learned_in_order_with_times_scaling_like_inverse_s():
    s = np.array([4.0, 2.0, 1.0])
    sigma, lr = 0.05, 0.01
    t = teacher(s, 4, 4, rng=0)
    X, Y = teacher_data(t.target, 8, rng=1)
    predicted = dynamics.learning_time(s, sigma**3, 3, fraction=0.5, tau=1 / lr)
    res = train(aligned_init(t.target, sigma, 2), X, Y, lr, int(1.2 * predicted[-1]))
    learned = res.learned_steps(0.5)[:3]
    assert np.all(np.diff(learned) > 0)  # largest s first
    # Euler's delay (modified equation, see _euler_error_bound) is δt = (η/2) ln(f(s/2)/f(u0))
    # in time, i.e. ½ ln(f(s/2)/f(u0)) steps, plus < 1 step because steps are integers.
    u0 = sigma**3
    delay = 0.5 * np.log(_rate(s / 2, s) / _rate(u0, s)) + 1.0  # ≈ 6–7 steps of ~500–1900
    assert np.all(np.abs(learned - predicted) <= delay), (learned, predicted)
    # t s ≈ τ / a0: equal across modes up to the x0 = a0/s^{1/3} correction (slope −0.85)
    ts = learned * s
    np.testing.assert_allclose(ts / ts[0], 1.0, atol=sigma + lr * 4 ** (4 / 3))


@settings(max_examples=5)
@given(seed=seeds.map(lambda x: x % 1000))
def test_narrow_hidden_layer_converges_to_best_rank_h_approximation(seed):
    s = np.array([3.0, 2.0, 1.0, 0.5])
    t = teacher(s, 5, 5, rng=seed)
    X, Y = teacher_data(t.target, 10, rng=seed + 1)
    res = train(
        orthogonal_init((5, 2, 2, 5), 0.5, rng=seed + 2), X, Y, 0.05, 3000, record_every=3000
    )
    best = (t.left[:, :2] * s[:2]) @ t.right[:, :2].T  # Eckart–Young, rank h = 2
    # The optimum is a strict minimum up to the rotation symmetry; after 3000 steps the
    # linear convergence at rate ≈ η·(s_2 − s_3)·s^{1/3} has gone far below 1e-8.
    np.testing.assert_allclose(res.end_to_end[-1], best, atol=1e-8)
    assert res.loss[-1] == pytest.approx(0.5 * (1.0**2 + 0.5**2), rel=1e-8)


@settings(max_examples=5)
@given(seed=seeds.map(lambda x: x % 1000))
def test_random_orthogonal_small_scale_switches_modes_on_one_at_a_time(seed):
    s = np.array([4.0, 2.0, 1.0])  # ratios of 2: learning times τ/(s a0) a factor 2 apart
    sigma, lr = 0.05, 0.02
    t = teacher(s, 6, 6, rng=seed)
    X, Y = teacher_data(t.target, 12, rng=seed + 1)
    steps = int(2.5 * dynamics.learning_time(1.0, sigma**3, 3, tau=1 / lr))
    res = train(orthogonal_init((6, 6, 6, 6), sigma, rng=seed + 2), X, Y, lr, steps, record_every=5)
    sv = res.update_singular_values  # (R, 6), of W_t − W_0
    final = sv[-1]
    np.testing.assert_allclose(final[:3], s, rtol=1e-3)
    for k in range(2):
        half_k = res.steps[np.argmax(sv[:, k] >= 0.5 * final[k])]
        tenth_next = res.steps[np.argmax(sv[:, k + 1] >= 0.1 * final[k + 1])]
        assert half_k < tenth_next


def test_divergence_names_step_and_suggests_smaller_lr():
    t = teacher([3.0, 1.0], 3, 3, rng=0)
    X, Y = teacher_data(t.target, 6, rng=1)
    weights = orthogonal_init((3, 3, 3, 3), 1.0, rng=2)
    with pytest.raises(DivergenceError, match="smaller learning rate") as info:
        train(weights, X, Y, lr=5.0, steps=200)
    step = info.value.step
    assert f"step {step}" in str(info.value) and 1 <= step < 200
    # the named step is the first with a non-finite loss: one step fewer runs cleanly
    assert np.isfinite(train(weights, X, Y, lr=5.0, steps=step - 1).loss[-1])
    with pytest.raises(DivergenceError, match=rf"step {step};"):
        train(weights, X, Y, lr=5.0, steps=step)


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "adam"])
def test_every_optimizer_fits_the_teacher(optimizer):
    t = teacher([2.0, 1.0], 4, 4, rng=0)
    X, Y = teacher_data(t.target, 32, rng=1)
    lr = 0.01 if optimizer == "adam" else 0.05
    res = train(
        orthogonal_init((4, 4, 4, 4), 0.5, rng=2),
        X,
        Y,
        lr,
        1500,
        optimizer=optimizer,
        record_every=500,
        rng=3,
        batch_size=8 if optimizer != "gd" else None,
    )
    np.testing.assert_array_equal(res.steps, [0, 500, 1000, 1500])
    assert res.end_to_end.shape == (4, 4, 4)
    assert res.loss[-1] < 1e-2 * res.loss[0]


def test_tracking_records_shapes_and_effective_ranks():
    s = np.array([4.0, 1.0])
    t = teacher(s, 5, 5, rng=0)
    X, Y = teacher_data(t.target, 10, rng=1, noise=0.0)
    res = train(
        aligned_init(t.target, 0.1, 2), X, Y, 0.02, 700, record_every=7, rank_threshold=0.99
    )  # 16/17 of the energy is in mode 1: 0.99 needs both
    R = res.steps.size
    assert [v.shape for v in res.layer_update_singular_values] == [(R, 5)] * 3
    assert res.update_singular_values.shape == (R, 5)
    learned = res.learned_steps(0.5)
    assert learned[0] < learned[1] and np.all(learned[2:] == -1)
    # At first the update is ∝ the gradient ∝ T (rank 2, energy split 16:1); once mode 1 is
    # learned and mode 2 is not, the update has rank 1; at the end rank(T) = 2. Null
    # modes only decay by σ³ − u_null ≤ 1e-3: far below 1% of the energy.
    between = np.searchsorted(res.steps, learned[0])
    for ranks in (res.effective_rank_energy, res.effective_rank_variance):
        assert ranks[0] == 0 and ranks[between] == 1 and ranks[-1] == 2
        assert np.max(ranks) == 2


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"steps": -1}, "steps"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"record_every": 0}, "record_every"),
        ({"batch_size": 100}, "batch_size"),
        ({"batch_size": 2}, "batch_size"),  # "gd" is full batch
        ({"optimizer": "sgd", "adam_options": {"beta1": 0.5}}, "adam_options"),
        ({"adam_options": {"eps": 1e-6}}, "adam_options"),
        ({"target": np.ones((2, 2))}, "target"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    X, Y = np.eye(3), np.eye(3)
    args = {"lr": 0.1, "steps": 1} | kwargs
    with pytest.raises(ValueError, match=name):
        train(orthogonal_init((3, 3, 3, 3), 1.0, 0), X, Y, **args)


def test_bad_data_names_the_argument():
    weights = orthogonal_init((3, 3, 3, 3), 1.0, 0)
    with pytest.raises(ValueError, match="X"):
        train(weights, np.full((3, 3), np.nan), np.eye(3), 0.1, 1)
    with pytest.raises(ValueError, match="Y"):
        train(weights, np.eye(3), np.eye(2), 0.1, 1)


def test_train_backend_in_backend_out(xp):
    t = teacher([2.0, 1.0], 3, 3, rng=0)
    X, Y = teacher_data(t.target, 6, rng=1)
    weights = [xp.asarray(w) for w in aligned_init(t.target, 0.3, 2)]
    res = train(weights, xp.asarray(X), xp.asarray(Y), 0.05, 50, record_every=25)
    assert type(res.end_to_end) is type(weights[0])
    ref = train(aligned_init(t.target, 0.3, 2), X, Y, 0.05, 50, record_every=25)
    np.testing.assert_allclose(res.loss, ref.loss, rtol=1e-10)


def test_aligned_update_singular_values_match_simulation():
    s = np.array([3.0, 1.0])
    sigma, lr = 0.4, 0.01
    t = teacher(s, 4, 4, rng=5)  # two null modes
    X, Y = teacher_data(t.target, 8, rng=6)
    res = train(aligned_init(t.target, sigma, 7), X, Y, lr, 600, record_every=20)
    predicted = dynamics.aligned_update_singular_values(s, sigma, res.steps, 3, 1 / lr, 4)
    # forward-Euler error of the modes: ≲ 10 η s (as in the O(η) test above)
    np.testing.assert_allclose(res.update_singular_values, predicted, atol=10 * lr * 3.0)
    # the two null modes: σ³ − u_null(t), equal, and growing toward σ³
    assert predicted[-1, 2] == pytest.approx(predicted[-1, 3])
    assert 0 < predicted[-1, 3] < sigma**3


def test_recorded_cumulative_updates_match_their_singular_values():
    t = teacher([2.0, 1.0], 3, 3, rng=0)
    X, Y = teacher_data(t.target, 6, rng=1)
    res = train(
        orthogonal_init((3, 3, 3, 3), 0.3, 2), X, Y, 0.05, 100, record_every=50, record_updates=True
    )
    for updates, sv in zip(res.layer_updates, res.layer_update_singular_values, strict=True):
        assert updates.shape == (3, 3, 3)
        np.testing.assert_allclose(np.linalg.svd(updates, compute_uv=False), sv, atol=1e-12)
    np.testing.assert_allclose(
        np.linalg.svd(res.end_to_end_update, compute_uv=False),
        res.update_singular_values,
        atol=1e-12,
    )
    assert np.all(res.end_to_end_update[0] == 0)
    final = res.end_to_end[-1] - res.end_to_end[0]
    np.testing.assert_allclose(res.end_to_end_update[-1], final)


def test_staircase_sorts_modes_and_shares_one_init():
    out = staircase(sigmas=(0.05, 0.1), singular_values=(1.0, 3.0), n=4, lr=0.05, steps=3000, rng=0)
    np.testing.assert_array_equal(out["singular_values"], [3.0, 1.0])
    for run in out["runs"]:
        learned, predicted = run["learned_steps"], run["predicted_learning_steps"]
        assert learned[0] < learned[1]  # the larger mode first, aligned with the prediction
        assert np.all(predicted > 0) and predicted[0] < predicted[1]
        # a random init projects less than σ³ onto the modes: learning lags the aligned
        # prediction, never leads it by more than Euler's few-step delay
        assert np.all(learned >= predicted - 10)
    # One Q scaled by σ: the first end-to-end update is η Σ_l (products of σQ's) T, a
    # fixed matrix times σ⁴, plus the σ⁷ part from W(0) = σ³Q; its top two singular values
    # scale by (0.1/0.05)⁴ = 16 up to relative O(σ³/s_min) = 1e-3 (not so for two Q's).
    assert out["runs"][0]["steps"][1] == out["runs"][1]["steps"][1] == 1
    first = [run["update_sv"][1, :2] for run in out["runs"]]
    np.testing.assert_allclose(first[1] / first[0], 16.0, rtol=8 * 0.1**3)


def test_staircase_with_correlated_inputs():
    out = staircase(
        sigmas=(0.1,),
        n=4,
        steps=400,
        singular_values=(2.0, 1.0),
        rng=0,
        input_spectrum=(3.0, 1.0, 1.0, 0.3),
    )
    with pytest.raises(ValueError, match="input_spectrum"):
        staircase(sigmas=(0.1,), n=4, steps=1, input_spectrum=(1.0, -1.0, 1.0, 1.0))
    assert out["runs"][0]["loss"][-1] < out["runs"][0]["loss"][0]
