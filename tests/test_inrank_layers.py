"""The public methods of InRank's layers and optimizers check their arguments (issue 23).

The training loops call the unchecked ``_forward``, ``_backward``, ``_apply``,
``_update`` and ``_next``; the public methods check their arguments and their result,
and otherwise give the very same numbers.
"""

import numpy as np
import pytest

from refimpl.inrank.layers import DenseLayer, LowRankUpdateLayer
from refimpl.inrank.loop import run_training
from refimpl.inrank.optim import Adam, GradientDescent, MiniBatches

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((5, 4))
U0 = RNG.standard_normal((5, 3))
V0 = RNG.standard_normal((4, 3))
A = RNG.standard_normal((4, 6))
DELTA = RNG.standard_normal((5, 6))


def _dense():
    return DenseLayer(W0.copy())


def _low_rank():
    return LowRankUpdateLayer(W0.copy(), U0.copy(), V0.copy(), rank=1, buffer=1)  # 2 active


def _nan(x):
    x = np.array(x, dtype=float)
    x.flat[0] = np.nan
    return x


@pytest.mark.parametrize("make", [_dense, _low_rank])
def test_checked_methods_give_the_unchecked_numbers(make):
    layer = make()
    Z, cache = layer.forward(A)
    Z0, cache0 = layer._forward(A)
    np.testing.assert_array_equal(Z, Z0)
    grads, d_input = layer.backward(DELTA, A, cache, True)
    grads0, d_input0 = layer._backward(DELTA, A, cache0, True)
    for g, g0 in zip([*grads, d_input], [*grads0, d_input0], strict=True):
        np.testing.assert_array_equal(g, g0)
    other = make()
    layer.apply([0.1 * g for g in grads])
    other._apply([0.1 * g for g in grads])
    np.testing.assert_array_equal(layer.dense(), other.dense())


@pytest.mark.parametrize("make", [_dense, _low_rank])
@pytest.mark.parametrize(
    "bad, name",
    [
        (lambda: None, "A"),  # used to raise numpy's matmul ValueError, naming nothing
        (lambda: A[:-1], "A"),  # one feature short
        (lambda: A[None], "A"),  # an extra axis used to be broadcast
        (lambda: _nan(A), "A"),  # used to return NaN
        (lambda: A + 1j, "A"),  # complex used to be accepted
    ],
)
def test_forward_names_a_bad_input(make, bad, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        make().forward(bad())


@pytest.mark.parametrize("make", [_dense, _low_rank])
def test_backward_names_each_bad_argument(make):
    layer = make()
    cache = layer.forward(A)[1]
    cases = [
        (lambda: layer.backward(None, A, cache, True), "delta"),
        (lambda: layer.backward(_nan(DELTA), A, cache, True), "delta"),
        (lambda: layer.backward(DELTA, A[:, :-1], cache, True), "A"),  # another batch
        (lambda: layer.backward(DELTA, A, cache, "yes"), "need_input"),  # was accepted
        (lambda: layer.backward(DELTA, A, "abc", True), "cache"),  # was accepted / TypeError
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=f"^{name}:"):
            call()


def test_low_rank_backward_checks_its_cache():
    layer = _low_rank()
    cache = layer.forward(A)[1]
    for bad in (None, cache[:-1], _nan(cache)):  # None used to raise AttributeError
        with pytest.raises(ValueError, match="^cache:"):
            layer.backward(DELTA, A, bad, True)


@pytest.mark.parametrize("make", [_dense, _low_rank])
def test_apply_refuses_bad_updates_and_leaves_the_layer_unchanged(make):
    layer = make()
    before = layer.dense().copy()
    updates = [
        np.zeros(shape if cols is None else (shape[0], cols))
        for _, shape, cols in layer.param_keys()
    ]
    bad_updates = [
        None,  # TypeError before
        [],  # IndexError before
        [_nan(u) for u in updates],  # NaN weights before
        [u.T for u in updates],  # a broadcast error naming nothing before
    ]
    for bad in bad_updates:
        with pytest.raises(ValueError, match="^updates:"):
            layer.apply(bad)
        np.testing.assert_array_equal(layer.dense(), before)
    huge = [np.full_like(u, 1e308) for u in updates]
    if hasattr(layer, "W"):
        layer.apply(huge)  # a dense weight of 1e308 is still finite
    before = [a.copy() for a in ([layer.W] if hasattr(layer, "W") else [layer.U, layer.V])]
    with pytest.raises(ValueError, match="^updates:"):  # the sums (or U Vᵀ) overflow
        layer.apply(huge)
    after = [layer.W] if hasattr(layer, "W") else [layer.U, layer.V]
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_with_factors_checks_its_arguments():
    layer = _low_rank()
    P, Q = U0[:, :2], V0[:, :2]
    assert layer.with_factors(P, Q).dense() == pytest.approx(W0 + P @ Q.T)
    with pytest.raises(ValueError, match="^keep_base:"):  # "no" used to be taken as True
        layer.with_factors(P, Q, keep_base="no")
    with pytest.raises(ValueError, match="^U:"):  # used to be blamed on V
        layer.with_factors(np.zeros((0, 0)), Q)
    with pytest.raises(ValueError, match="^U:"):
        layer.with_factors(P[:-1], Q)
    with pytest.raises(ValueError, match="^V:"):
        layer.with_factors(P, Q[:-1])


@pytest.mark.parametrize("batch_size, optimizer", [(2, "sgd"), (None, "gd")])
def test_mini_batches_next_checks_the_data(batch_size, optimizer):
    X, Y = RNG.standard_normal((3, 8)), RNG.standard_normal((2, 8))
    batches = MiniBatches(8, batch_size, 0, optimizer)
    assert batches.next(X, Y)[0].shape == (3, 8 if batch_size is None else 2)
    for bad_x, bad_y, name in [
        (None, Y, "X"),  # TypeError before (mini-batches) or returned None (full batch)
        (X, "abc", "Y"),
        (_nan(X), Y, "X"),  # NaN returned before
        (X[:, :-1], Y, "X"),  # IndexError before
        (X, Y[None], "Y"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}:"):
            batches.next(bad_x, bad_y)


def test_gradient_descent_step_that_overflows_is_reported():
    with pytest.raises(ValueError, match="^grad:"):  # used to return -inf
        GradientDescent(1e300).update("w", np.array([1e10]))


def test_training_loop_uses_the_unchecked_methods_with_the_same_numbers():
    X = RNG.standard_normal((4, 8))
    Y = RNG.standard_normal((5, 8))
    log = run_training([_dense()], X, Y, 0.1, 5, optimizer="adam", record_every=5)
    # the same five Adam steps through the public, checked methods
    layer, opt = _dense(), Adam(0.1)
    for _ in range(5):
        Z, cache = layer.forward(X)
        grads, _ = layer.backward((Z - Y) / X.shape[1], X, cache, False)
        opt.begin_step()
        layer.apply([opt.update((0, "W"), grads[0], shape=layer.W.shape)])
    loss = 0.5 * np.sum((layer.forward(X)[0] - Y) ** 2) / X.shape[1]
    assert log.loss[-1] == loss


def test_adam_refuses_a_gradient_whose_square_overflows():
    adam = Adam(0.1)
    adam.begin_step()
    with pytest.raises(ValueError, match="^grad:"):  # used to store v = inf and step 0
        adam.update("w", np.array([1e200, 1.0]))
    assert "w" not in adam._m  # the state is untouched
    np.testing.assert_allclose(adam.update("w", np.array([1e150, -1.0])), [-0.1, 0.1])
