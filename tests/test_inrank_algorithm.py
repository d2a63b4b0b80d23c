"""The InRank algorithm (refimpl.inrank.algorithm): rank rule, growth, efficient variant, costs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import seeds

from refimpl.inrank import (
    full_rank_train,
    inrank,
    inrank_efficient,
    orthogonal_init,
    teacher,
    teacher_data,
)
from refimpl.inrank.cost import cost_model
from refimpl.inrank.mlp import mlp_init, train_mlp
from refimpl.inrank.mlp_task import relu_teacher
from refimpl.inrank.rank import explained_ratio, select_rank
from refimpl.validation import DivergenceError

spectra = st.lists(st.floats(0.0, 10.0), min_size=1, max_size=10).map(
    lambda v: np.sort(np.array(v))[::-1]
)


@given(
    s=spectra,
    current=st.integers(1, 5),
    buffer=st.integers(0, 4),
    extra_cap=st.integers(0, 6),
    threshold=st.floats(0.05, 1.0),
    ratio=st.sampled_from(["variance", "energy"]),
)
def test_select_rank_is_first_candidate_above_threshold(
    s, current, buffer, extra_cap, threshold, ratio
):
    cap = current + extra_cap
    r = select_rank(s, current, buffer, cap, threshold, ratio)
    top = max(current, min(current + buffer, cap, s.size))
    assert current <= r <= top  # never decreases, never above the cap
    rho = explained_ratio(s, ratio)
    candidates = [k for k in range(current, top + 1) if k < rho.size and rho[k] > threshold]
    assert r == (candidates[0] if candidates else top)
    if threshold == 1.0:
        assert r == top


def _linear_problem(seed=0, noise=0.1):
    s = np.array([3.0, 2.5, 2.0, 1.5, 1.2, 1.0])  # full rank: no slow null modes
    t = teacher(s, 6, 6, rng=seed)
    X, Y = teacher_data(t.target, 12, rng=seed + 1, noise=noise)
    return orthogonal_init((6, 6, 6, 6), 0.5, rng=seed + 2), X, Y


def test_threshold_one_grows_to_cap_and_matches_full_rank_loss():
    weights, X, Y = _linear_problem()
    full = full_rank_train(weights, X, Y, 0.05, 2000, record_every=500)
    grown = inrank(
        weights,
        X,
        Y,
        0.05,
        2000,
        threshold=1.0,
        rank_cap=6,
        initial_rank=1,
        buffer=1,
        warmup=20,
        gap=5,
        record_every=500,
        rng=0,
    )
    assert np.all(grown.ranks[-1] == 6)
    # Both converge linearly to the least-squares floor ½‖Y − Σyx X‖²/n (label noise);
    # after 2000 steps both are within 1e-6 of it, so their difference is below 2e-6.
    floor = 0.5 * np.sum((Y - (Y @ np.linalg.pinv(X)) @ X) ** 2) / X.shape[1]
    assert full.loss[-1] == pytest.approx(floor, rel=1e-6)
    assert grown.loss[-1] == pytest.approx(full.loss[-1], rel=2e-6)


@settings(max_examples=8)
@given(
    seed=seeds.map(lambda x: x % 1000),
    threshold=st.floats(0.3, 1.0),
    ratio=st.sampled_from(["variance", "energy"]),
    cap=st.integers(1, 6),
    buffer=st.integers(0, 3),
)
def test_rank_is_non_decreasing_and_within_cap(seed, threshold, ratio, cap, buffer):
    weights, X, Y = _linear_problem(seed)
    res = inrank(
        weights,
        X,
        Y,
        0.05,
        200,
        threshold=threshold,
        ratio=ratio,
        rank_cap=cap,
        initial_rank=1,
        buffer=buffer,
        warmup=10,
        gap=5,
        record_every=5,
        rng=seed,
    )
    assert np.all(np.diff(res.ranks, axis=0) >= 0)
    assert np.all((res.ranks >= 1) & (res.ranks <= cap))
    assert np.all(res.active <= np.minimum(res.ranks + buffer, 6))


def test_default_threshold_stops_at_the_targets_rank():
    s = np.array([3.0, 2.0, 1.0])
    t = teacher(s, 16, 16, rng=0)
    X, Y = teacher_data(t.target, 32, rng=1)
    res = inrank(
        orthogonal_init((16, 16, 16, 16), 0.5, rng=2),
        X,
        Y,
        0.05,
        1500,
        initial_rank=1,
        buffer=2,
        warmup=100,
        record_every=100,
        rng=3,
    )
    # the update needs rank 3 (plus the cancellation of W0's product, which the
    # 0.9 threshold treats as unexplained tail): rank 3 explains it, and stays below cap 8
    assert np.all(res.ranks[-1] <= 3) and res.ranks[-1, 0] == 3
    assert np.all(res.ranks[-1] < 8)


def _mlp_task():
    task = relu_teacher(16, 4, 128, rng=0, teacher_hidden=2)
    return mlp_init(16, 32, 4, rng=1), task


def test_inrank_trains_relu_mlp_like_full_rank():
    weights, task = _mlp_task()
    full = train_mlp(weights, task.X, task.Y, 0.01, 1500, optimizer="adam", record_every=500)
    low = inrank(
        weights,
        task.X,
        task.Y,
        0.01,
        1500,
        activation="relu",
        optimizer="adam",
        warmup=50,
        gap=10,
        record_every=500,
        rng=0,
    )
    # Both fit the noiseless teacher by more than four orders of magnitude.
    assert full.loss[-1] < 1e-4 * full.loss[0]
    assert low.loss[-1] < 1e-4 * low.loss[0]
    caps = [16, 2]  # min(m, n) // 2 of the (32, 16) and (4, 32) layers
    assert np.all(low.ranks[-1] <= caps)
    assert low.counts_final["trainable"] < full.counts_full["trainable"]


@pytest.mark.parametrize("truncate", ["weight", "update"])
def test_efficient_variant_truncates_then_keeps_rank_fixed(truncate):
    weights, task = _mlp_task()
    res = inrank_efficient(
        weights,
        task.X,
        task.Y,
        0.01,
        1200,
        adapt_steps=400,
        truncate=truncate,
        activation="relu",
        optimizer="adam",
        warmup=50,
        gap=10,
        record_every=100,
        rng=0,
    )
    stage2 = res.steps > 400  # the record at step 400 is the state before truncation
    assert res.stage2_step == 400
    ranks2 = res.ranks[stage2]
    assert np.all(ranks2 == ranks2[0]) and np.all(res.active[stage2] == ranks2)
    before, after = res.truncation_loss
    assert np.isfinite(before) and np.isfinite(after)
    assert res.loss[-1] < 0.1 * after  # stage 2 recovers from the truncation
    bases = [layer.base is None for layer in res.layers]
    assert all(bases) if truncate == "weight" else not any(bases)
    # Without W0 a step only touches the factors; keeping W0 stores it on top of them.
    if truncate == "weight":
        assert res.counts_final["macs_step"] < res.counts_full["macs_step"]
        assert res.counts_final["stored"] < res.counts_full["stored"]
    else:
        assert res.counts_final["stored"] > res.counts_full["stored"]
    assert res.counts_final["trainable"] < res.counts_full["trainable"]


def test_efficient_without_truncation_loss_when_rank_covers_update():
    # buffer 0 and threshold 1: the trained update has exactly `rank` columns, so truncating
    # the update to that rank is exact up to rounding.
    weights, X, Y = _linear_problem()
    res = inrank_efficient(
        weights,
        X,
        Y,
        0.05,
        300,
        adapt_steps=150,
        truncate="update",
        threshold=1.0,
        buffer=0,
        initial_rank=3,
        rank_cap=3,
        warmup=10,
        gap=5,
        record_every=50,
        rng=0,
    )
    before, after = res.truncation_loss
    assert after == pytest.approx(before, rel=1e-10)


def test_cost_model_counts():
    dense = cost_model([(1024, 1024), (1024, 1024)], 256)
    low = cost_model([(1024, 1024), (1024, 1024)], 256, ranks=[32, 32])
    assert dense["trainable"] == 2 * 1024**2 and low["trainable"] == 2 * 2048 * 32
    # dense: first layer 2mnB (no input gradient), second 3mnB
    assert dense["macs_step"] == 5 * 1024**2 * 256
    # factored: first layer (m+n)kB forward + (2m+n)kB backward; second adds nkB
    assert low["macs_step"] == (2048 * 32 + 3072 * 32 + 2048 * 32 + 3072 * 32 + 1024 * 32) * 256
    assert dense["macs_step"] / low["macs_step"] == pytest.approx(5 * 1024 / (11 * 32))  # ≈ 14.5
    with_base = cost_model([(1024, 1024)], 1, ranks=[32], base=True)
    assert with_base["stored"] == 1024**2 + 2048 * 32


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.01}, "threshold"),
        ({"rank_cap": 0}, "rank_cap"),
        ({"rank_cap": 7}, "rank_cap"),
        ({"rank_cap": [2, 2]}, "rank_cap"),
        ({"initial_rank": 4, "rank_cap": 3}, "initial_rank"),
        ({"lr": 0.0}, "lr"),
        ({"activation": "tanh"}, "activation"),
        ({"ratio": "entropy"}, "ratio"),
        ({"gap": 0}, "gap"),
        ({"optimizer": "sgdm"}, "optimizer"),
        ({"init_scale": 0.0}, "init_scale"),  # U = V = 0 is a saddle: nothing would move
        ({"batch_size": 4}, "batch_size"),  # "gd" is full batch
        ({"adam_options": {"beta2": 0.9}}, "adam_options"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    weights, X, Y = _linear_problem()
    args = {"lr": 0.05, "steps": 2} | kwargs
    with pytest.raises(ValueError, match=name):
        inrank(weights, X, Y, **args)


def test_bad_data_and_efficient_options():
    weights, X, Y = _linear_problem()
    with pytest.raises(ValueError, match="X"):
        inrank(weights, X[:3], Y, 0.05, 2)
    with pytest.raises(ValueError, match="Y"):
        inrank(weights, X, np.where(Y > 0, np.inf, Y), 0.05, 2)
    with pytest.raises(ValueError, match="adapt_steps"):
        inrank_efficient(weights, X, Y, 0.05, 10, adapt_steps=11)
    with pytest.raises(ValueError, match="truncate"):
        inrank_efficient(weights, X, Y, 0.05, 10, adapt_steps=5, truncate="all")
    with pytest.raises(ValueError, match="ranks"):
        cost_model([(4, 4)], 1, ranks=[5])


def test_inrank_divergence_is_reported_with_step():
    weights, X, Y = _linear_problem()
    args = {"init_scale": 1.0, "rng": 0}
    with pytest.raises(DivergenceError, match="smaller learning rate") as info:
        inrank(weights, X, Y, 50.0, 100, **args)
    step = info.value.step
    assert f"step {step}" in str(info.value) and 1 <= step < 100
    # the named step is the first non-finite one: one step fewer runs cleanly
    assert np.isfinite(inrank(weights, X, Y, 50.0, step - 1, **args).loss[-1])
    with pytest.raises(DivergenceError, match=rf"step {step};"):
        inrank(weights, X, Y, 50.0, step, **args)


def test_inrank_backend_in_backend_out(xp):
    weights, X, Y = _linear_problem()
    res = inrank(
        [xp.asarray(w) for w in weights],
        xp.asarray(X),
        xp.asarray(Y),
        0.05,
        60,
        warmup=10,
        gap=5,
        record_every=30,
        rng=0,
    )
    ref = inrank(weights, X, Y, 0.05, 60, warmup=10, gap=5, record_every=30, rng=0)
    assert type(res.weights[0]) is type(xp.asarray(X))
    np.testing.assert_allclose(res.loss, ref.loss, rtol=1e-9)
    np.testing.assert_array_equal(res.ranks, ref.ranks)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("adam", 0.01)])
def test_inrank_with_mini_batches(optimizer, lr):
    weights, X, Y = _linear_problem(noise=0.0)
    res = inrank(
        weights,
        X,
        Y,
        lr,
        2000,
        optimizer=optimizer,
        batch_size=4,
        warmup=50,
        gap=10,
        initial_rank=2,
        rank_cap=6,
        threshold=1.0,
        record_every=500,
        rng=0,
    )
    assert np.all(np.diff(res.ranks, axis=0) >= 0)
    np.testing.assert_array_equal(res.ranks[-1], [6, 6, 6])  # threshold 1: up to the cap
    # From W0 = 0.5 Q one mode of this target starts anti-aligned: full-batch GD sits at
    # its saddle, loss ½·1² = 0.5 ≈ 0.042·L0, for ~1200 steps. Mini-batch InRank must at
    # least get down to that plateau (a tenth of L0).
    assert res.loss[-1] < 0.1 * res.loss[0]
