"""inrank and the transformer on a device: device arrays in give device arrays out.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy) and compares the device route with the NumPy route.

Tolerances. The device route does the NumPy route's arithmetic in another summation order
at most: each product of the d = 6 wide layers moves by ≤ 6 · EPS relative to the sums of
absolute values, and gradient descent at lr = 0.05 on this well-conditioned problem
(‖W‖ ≤ 2, loss decreasing) carries an initial difference δ to at most
(1 + lr · 3 · 2²)^steps · δ. For the 20 and 30 steps below that is a few hundred times the
per-step rounding: ``rtol = 1e-9`` on the losses leaves a decade of margin on top. The
ranks are integers and must be equal. The transformer (d_model = 8, two layers) uses
``rtol = 1e-9`` in float64 and ``1e-4`` in float32 (≈ 1e3 · float32's EPS, the same
margin); the stand-in itself computes with NumPy underneath and agrees to far less.
"""

import numpy as np
import pytest
import standin
from device_checks import default_backend, on_backend

from refimpl import backend, inrank
from refimpl.inrank import orthogonal_init, teacher, teacher_data
from refimpl.inrank.experiments import log_spaced_indices
from refimpl.inrank.transformer import Transformer
from refimpl.inrank.transformer_train import train_transformer


def _problem():
    s = np.array([3.0, 2.5, 2.0, 1.5, 1.2, 1.0])
    t = teacher(s, 6, 6, rng=0)
    X, Y = teacher_data(t.target, 12, rng=1, noise=0.1)
    return orthogonal_init((6, 6, 6, 6), 0.5, rng=2), X, Y


FRONT_DOORS = {
    "inrank": lambda w, X, Y: inrank.inrank(w, X, Y, 0.05, 30, warmup=10, gap=5, rng=0),
    "inrank_efficient": lambda w, X, Y: inrank.inrank_efficient(w, X, Y, 0.05, 30, 10, rng=0),
    "inrank_efficient-update": lambda w, X, Y: inrank.inrank_efficient(
        w, X, Y, 0.05, 30, 10, truncate="update", rng=0
    ),
    "full_rank_train": lambda w, X, Y: inrank.full_rank_train(w, X, Y, 0.05, 30),
    "train": lambda w, X, Y: inrank.train(w, X, Y, 0.05, 20, record_every=10),
}


@pytest.mark.parametrize("door", sorted(FRONT_DOORS))
def test_front_doors_on_the_device(xp, door):
    weights, X, Y = _problem()
    run = FRONT_DOORS[door]
    device = run([xp.asarray(w) for w in weights], xp.asarray(X), xp.asarray(Y))
    host = run(weights, X, Y)
    final = device.weights if hasattr(device, "weights") else [device.end_to_end]
    on_backend(xp, *final)
    np.testing.assert_allclose(np.asarray(device.loss), host.loss, rtol=1e-9)
    if hasattr(host, "ranks"):
        np.testing.assert_array_equal(np.asarray(device.ranks), host.ranks)
    reference = host.weights if hasattr(host, "weights") else [host.end_to_end]
    for d, h in zip(final, reference, strict=True):
        np.testing.assert_allclose(backend.to_numpy(d), h, rtol=0, atol=1e-9 * np.abs(h).max())


def _tokens(batch=3, length=5, vocab=7):
    return np.random.default_rng(0).integers(0, vocab, size=(batch, length))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-4)])
def test_transformer_forward_and_backward_on_the_device(xp, dtype, rtol):
    """Created with xp's backend as the default, every parameter lives there; the loss
    and every gradient equal the NumPy model's (same host draws, same values)."""
    with default_backend(xp):
        model = Transformer(7, 8, 2, 2, 4, rng=0, dtype=dtype)
    host_model = Transformer(7, 8, 2, 2, 4, rng=0, dtype=dtype)
    on_backend(xp, *model.params.values(), *(layer.W for layer in model.layers.values()))
    tokens = _tokens()
    for given in (tokens, xp.asarray(tokens)):  # host tokens move to the device once
        value, grads = model.loss_and_gradients(given)
        host_value, host_grads = host_model.loss_and_gradients(tokens)
        assert value == pytest.approx(host_value, rel=rtol)
        for name, grad in host_grads.items():
            device = grads[name] if not isinstance(grad, list) else grads[name][0]
            grad = grad if not isinstance(grad, list) else grad[0]
            on_backend(xp, device)
            assert device.dtype == grad.dtype
            np.testing.assert_allclose(
                backend.to_numpy(device), grad, rtol=0, atol=rtol * np.abs(grad).max()
            )
    logits = model.logits(xp.asarray(tokens[:, :4]))
    on_backend(xp, logits)


def test_transformer_refuses_tokens_of_another_device():
    model = Transformer(7, 8, 2, 2, 4, rng=0)  # NumPy parameters
    with pytest.raises(ValueError, match="^tokens: expected a NumPy array or one on"):
        model.loss_and_gradients(standin.namespace.asarray(_tokens()))


@pytest.mark.parametrize("options", [{}, {"inrank": {}}, {"optimizer": "sgd"}], ids=str)
def test_transformer_training_steps_on_the_device(xp, options):
    """Three training steps (Adam, Adam with InRank's low-rank layers, SGD): the model
    stays on the device and the recorded losses follow the NumPy run's."""
    ids = np.random.default_rng(0).integers(0, 7, size=400)
    runs = []
    for default in (xp, np):
        with default_backend(default):
            model = Transformer(7, 8, 2, 2, 4, rng=0)
        history = train_transformer(
            model, ids, ids[:100], 3, 0.01, batch_size=4, record_every=1, rng=0, **options
        )
        runs.append((model, history))
    (model, history), (_, host_history) = runs
    on_backend(xp, *model.params.values())
    np.testing.assert_allclose(history["train_loss"], host_history["train_loss"], rtol=1e-9)
    np.testing.assert_allclose(history["val_loss"], host_history["val_loss"], rtol=1e-9)
    assert history["ranks"] == host_history["ranks"]


@pytest.mark.parametrize(
    "steps, count",
    [(np.arange(1000), 5), (np.arange(0, 30001, 10), 150), (np.array([0]), 3), ([0, 1, 1], 2)],
    ids=["arange", "recorded", "one", "list"],
)
def test_log_spaced_indices_on_the_device(xp, steps, count):
    """Integer indices of the steps' backend (to index records kept beside them), equal
    to the NumPy route's exactly: the targets are built on the host from max(steps) and
    count alike, and searching integers among integers has no rounding."""
    given = xp.asarray(np.asarray(steps, dtype=float)) if not isinstance(steps, list) else steps
    result = log_spaced_indices(given, count)
    host = log_spaced_indices(steps, count)
    on_backend(xp if not isinstance(steps, list) else np, result)
    assert result.dtype == host.dtype and result.dtype.kind == "i"
    np.testing.assert_array_equal(backend.to_numpy(result), host)
