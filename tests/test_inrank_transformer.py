"""The NumPy transformer: gradients, causality, InRank layers, corpus, experiments, figures."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from refimpl.inrank.attention import (
    causal_attention_backward,
    causal_attention_forward,
    gelu_backward,
    gelu_forward,
    layer_norm_backward,
    layer_norm_forward,
)
from refimpl.inrank.corpus import grammar_corpus, sample_windows, validation_windows
from refimpl.inrank.layers import LowRankUpdateLayer
from refimpl.inrank.transformer import Transformer
from refimpl.inrank.transformer_experiments import learned_order
from refimpl.inrank.transformer_train import train_transformer

ROOT = Path(__file__).resolve().parents[1]
H = 1e-6  # central differences: truncation O(h²)·f''' ~ 1e-12, rounding ~ 1e-16/h ~ 1e-10


def _central(f, x, idx):
    old = x[idx]
    x[idx] = old + H
    up = f()
    x[idx] = old - H
    down = f()
    x[idx] = old
    return (up - down) / (2 * H)


def _check_component(forward, backward, x, params=(), seed=0):
    """Scalar ⟨R, forward(x, *params)⟩ with random R; compare every gradient entry."""
    rng = np.random.default_rng(seed)
    y, cache = forward(x, *params)
    R = rng.standard_normal(y.shape)
    grads = backward(R, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for arr, g in zip((x, *params), grads, strict=True):
        for idx in np.ndindex(arr.shape):
            fd = _central(lambda: float(np.sum(R * forward(x, *params)[0])), arr, idx)
            assert g[idx] == pytest.approx(fd, abs=1e-7, rel=1e-6)


def test_layer_norm_gradient_matches_central_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5))
    _check_component(
        layer_norm_forward, layer_norm_backward, x, (rng.standard_normal(5), rng.standard_normal(5))
    )


def test_gelu_gradient_and_values():
    x = np.linspace(-4, 4, 17)
    _check_component(gelu_forward, gelu_backward, x)
    # closed form: gelu(x) → x for large x, → 0 for very negative x, gelu(0) = 0
    assert gelu_forward(np.array([10.0, -10.0, 0.0]))[0] == pytest.approx([10.0, 0.0, 0.0])


@pytest.mark.parametrize("n_heads", [1, 2])
def test_attention_gradient_matches_central_differences(n_heads):
    qkv = np.random.default_rng(2).standard_normal((2, 4, 12))
    _check_component(lambda z: causal_attention_forward(z, n_heads), causal_attention_backward, qkv)


def test_attention_rows_are_probabilities_and_causal():
    _, (_, _, _, P) = causal_attention_forward(
        np.random.default_rng(3).standard_normal((1, 5, 6)), 2
    )
    assert np.allclose(P.sum(-1), 1.0)
    assert np.all(P[..., np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0.0)


def _generic_model(tied, inrank, seed=0):
    m = Transformer(7, 8, 2, 2, 5, tied=tied, rng=seed)
    rng = np.random.default_rng(seed + 10)
    for k, v in m.params.items():  # leave the special point gains = 1, biases = 0
        m.params[k] = v + 0.1 * rng.standard_normal(v.shape)
    if inrank:
        m.to_inrank(["fc", "qkv"], initial_rank=2, buffer=1, rng=1, init_scale=0.3)
        for layer in m.layers.values():
            if isinstance(layer, LowRankUpdateLayer):
                layer.V[:] = 0.3 * rng.standard_normal(layer.V.shape)
    return m, rng.integers(0, 7, (3, 6))


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("inrank", [False, True])
def test_end_to_end_gradient_matches_central_differences(tied, inrank):
    m, tokens = _generic_model(tied, inrank)
    _, grads = m.loss_and_gradients(tokens)
    rng = np.random.default_rng(5)
    for key, arr in m.params.items():
        for _ in range(3):
            idx = tuple(int(rng.integers(s)) for s in arr.shape)
            fd = _central(lambda: m.loss(tokens), arr, idx)
            assert grads[key][idx] == pytest.approx(fd, abs=1e-8, rel=1e-5), key
    for key, layer in m.layers.items():
        arrays = [layer.W] if hasattr(layer, "W") else [layer.U, layer.V]
        for arr, g in zip(arrays, grads[key], strict=True):
            for _ in range(3):
                idx = tuple(int(rng.integers(s)) for s in g.shape)  # active columns only
                fd = _central(lambda: m.loss(tokens), arr, idx)
                assert g[idx] == pytest.approx(fd, abs=1e-8, rel=1e-5), key


def test_changing_a_later_token_never_changes_an_earlier_output():
    m, tokens = _generic_model(True, True)
    x = tokens[:, :5]
    base = m.logits(x)
    for t in range(5):
        changed = x.copy()
        changed[:, t] = (changed[:, t] + 3) % 7
        out = m.logits(changed)
        assert np.array_equal(out[:, :t], base[:, :t])  # exactly: masked weights are 0
        assert not np.allclose(out[:, t:], base[:, t:])


def test_fresh_inrank_layers_leave_the_model_unchanged():
    m, tokens = _generic_model(True, False)
    before = m.loss(tokens)
    m.to_inrank(rng=0)  # V = 0, so W = W0
    assert m.loss(tokens) == before


def test_inrank_layer_gradient_is_the_dense_gradient_through_the_factors():
    # ∇U = ∇W V_k and ∇V = ∇Wᵀ U_k, with ∇W the gradient of the dense model at the same W.
    m, tokens = _generic_model(True, True)
    _, grads = m.loss_and_gradients(tokens)
    dense = Transformer(7, 8, 2, 2, 5, rng=0)
    dense.params = {k: v.copy() for k, v in m.params.items()}
    for key, layer in m.layers.items():
        dense.layers[key].W = layer.dense().copy()
    value, dgrads = dense.loss_and_gradients(tokens)
    assert value == pytest.approx(m.loss(tokens), rel=1e-13)
    for key, layer in m.layers.items():
        if isinstance(layer, LowRankUpdateLayer):
            k = layer.active
            np.testing.assert_allclose(grads[key][0], dgrads[key][0] @ layer.V[:, :k], atol=1e-13)
            np.testing.assert_allclose(grads[key][1], dgrads[key][0].T @ layer.U[:, :k], atol=1e-13)


def test_threshold_one_with_full_cap_grows_to_full_rank_and_trains_like_full_rank():
    # The factored parameterization changes the optimization path (∇U = ∇W V), so the
    # trajectories cannot agree to rounding; what must hold: threshold 1 grows every layer
    # to its cap = full rank, and both models reach the same validation loss up to a
    # tolerance well below the loss drop (measured 2.5× apart on this problem: 0.05).
    c = grammar_corpus(4000, rng=0)
    logs = {}
    for name, options in (
        ("full", None),
        ("inrank", dict(threshold=1.0, cap=16, buffer=4, warmup=5, gap=5)),
    ):
        m = Transformer(c.vocab_size, 16, 2, 1, 8, rng=0)
        logs[name] = train_transformer(
            m,
            c.train,
            c.validation,
            120,
            3e-3,
            batch_size=8,
            record_every=40,
            inrank=options,
            rng=0,
        )
    assert all(r[-1] == 16 for r in logs["inrank"]["ranks"].values())
    drop = logs["full"]["val_loss"][0] - logs["full"]["val_loss"][-1]
    assert drop > 0.5
    assert logs["inrank"]["val_loss"][-1] == pytest.approx(logs["full"]["val_loss"][-1], abs=0.2)


def test_corpus_split_is_fixed_and_disjoint():
    a, b = grammar_corpus(5000, 0.1, rng=3), grammar_corpus(5000, 0.1, rng=3)
    assert a.text == b.text and np.array_equal(a.validation, b.validation)
    ids = np.concatenate([a.train, a.validation])
    assert "".join(a.vocabulary[i] for i in ids) == a.text and a.validation.size == 500
    # number agreement: a plural subject right before its verb takes the plural form
    assert ". the dogs see" in a.text and ". the dogs sees" not in a.text
    w = sample_windows(a.train, 4, 6, rng=0)
    assert w.shape == (4, 7) and np.all(np.diff(validation_windows(np.arange(50), 6)[:, 0]) == 6)


def test_learned_order_is_nondecreasing_for_a_staircase():
    t = np.arange(10)[:, None]
    s = np.hstack([np.minimum(t, 3.0), np.clip(t - 4.0, 0, 2), np.clip(t - 7.0, 0, 1)])
    assert learned_order(s, 3).tolist() == [2, 5, 8]


def _figure_json(name, tmp_path):
    spec = importlib.util.spec_from_file_location(name, ROOT / "figures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make(tmp_path, quick=True)
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_spectra_figure_effective_ranks_match_an_independent_count(tmp_path):
    data = _figure_json("inrank_transformer_spectra", tmp_path)
    for run in data["runs"].values():
        for key, spectra in run["spectra"].items():
            for s, r in zip(spectra, run["rank_energy"][key], strict=True):
                e = np.cumsum(np.square(s)) / max(np.sum(np.square(s)), 1e-300)
                expected = int(np.argmax(e > 0.9)) + 1 if np.any(e > 0.9) else len(s)
                assert r == (expected if np.sum(np.square(s)) > 0 else 0)


def test_inrank_figure_parameter_counts_match_the_architecture(tmp_path):
    data = _figure_json("inrank_transformer_inrank", tmp_path)
    z = data["sizes"]
    d, L, T, V = z["d_model"], z["n_layers"], z["context"], 24  # 24 characters
    dense = V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d
    assert data["runs"]["full"]["parameters"] == {"trainable": dense, "stored": dense}
    eff = data["runs"]["efficient"]
    mlp = L * 2 * 4 * d * d  # the two MLP matrices, replaced by rank-r factors
    factors = sum((5 * d) * ranks[-1] for ranks in eff["ranks"].values())
    assert eff["parameters"]["stored"] == dense - mlp + factors


def test_mlp_heldout_figure_noise_floor_and_a_test_loss_recomputed(tmp_path):
    data = _figure_json("inrank_mlp_heldout", tmp_path)
    z = data["sizes"]
    assert data["noise_floor"] == pytest.approx(0.5 * z["n_out"] * data["noise"] ** 2)
    # recompute the full-rank held-out loss of the first budget independently: plain Adam
    # on the same task and init, written out here (no refimpl training loop)
    from refimpl.inrank.mlp import mlp_init
    from refimpl.inrank.mlp_task import relu_teacher

    n, m = z["n_train"], z["n_test"]
    task = relu_teacher(
        z["n_in"], z["n_out"], n + m, rng=0, teacher_hidden=z["teacher_hidden"], noise=data["noise"]
    )
    X, Y, Xt, Yt = task.X[:, :n], task.Y[:, :n], task.X[:, n:], task.Y[:, n:]
    W = [w.copy() for w in mlp_init(z["n_in"], z["hidden"], z["n_out"], rng=1)]
    mom = [np.zeros_like(w) for w in W]
    sq = [np.zeros_like(w) for w in W]
    for t in range(1, data["budgets"][0] + 1):
        A = W[0] @ X
        Hd = np.maximum(A, 0.0)
        E = (W[1] @ Hd - Y) / n  # (n_out, n)
        grads = [((W[1].T @ E) * (A > 0)) @ X.T, E @ Hd.T]
        for i, g in enumerate(grads):
            mom[i] = 0.9 * mom[i] + 0.1 * g
            sq[i] = 0.999 * sq[i] + 0.001 * g * g
            W[i] -= z["lr"] * (mom[i] / (1 - 0.9**t)) / (np.sqrt(sq[i] / (1 - 0.999**t)) + 1e-8)
    test = 0.5 * np.sum((W[1] @ np.maximum(W[0] @ Xt, 0.0) - Yt) ** 2) / m
    assert data["full"]["test_loss"][0] == pytest.approx(test, rel=1e-9)
    W0 = mlp_init(z["n_in"], z["hidden"], z["n_out"], rng=1)
    for got, w, w0 in zip(data["full"]["update_sv"][0], W, W0, strict=True):
        np.testing.assert_allclose(got, np.linalg.svd(w - w0, compute_uv=False), atol=1e-9)
    assert all(max(r) <= data["rank_cap"] for r in data["inrank"]["ranks"])


# --- issue 23: the contract at the boundary of every public function and method


def _small_memory(monkeypatch, n_bytes):
    """Pretend the machine has ``n_bytes`` of memory (the size checks read it)."""
    import refimpl.validation

    monkeypatch.setattr(refimpl.validation, "_memory_bytes", lambda: n_bytes)


def _backward_cases():
    x = np.random.default_rng(0).standard_normal((2, 3, 6))
    return {
        "layer_norm": (
            layer_norm_backward,
            np.ones((2, 3, 6)),
            layer_norm_forward(x, np.ones(6), np.zeros(6))[1],
        ),
        "gelu": (gelu_backward, np.ones((2, 3, 6)), gelu_forward(x)[1]),
        "attention": (
            causal_attention_backward,
            np.ones((2, 3, 2)),
            causal_attention_forward(x, 1)[1],
        ),
    }


@pytest.mark.parametrize("piece", ["layer_norm", "gelu", "attention"])
def test_backward_refuses_a_missing_or_broken_cache_by_name(piece):
    backward, dy, cache = _backward_cases()[piece]
    backward(dy, cache)  # the valid call works
    nan = [c.copy() for c in cache]
    nan[0].flat[0] = np.nan
    short = list(cache)[:-1]
    for bad in (None, "abc", short, nan):  # None used to raise TypeError
        with pytest.raises(ValueError, match="^cache:"):
            backward(dy, bad)


def test_layer_norm_backward_refuses_a_cache_of_inconsistent_shapes():
    xhat, rstd, gain = layer_norm_forward(
        np.ones((2, 3)) * [1.0, 2.0, 4.0], np.ones(3), np.zeros(3)
    )[1]
    with pytest.raises(ValueError, match="^cache:"):
        layer_norm_backward(np.ones((2, 3)), (xhat, rstd, np.ones(2)))
    with pytest.raises(ValueError, match="^cache:"):
        layer_norm_backward(np.ones((2, 3)), (xhat, -rstd, gain))  # 1/σ is positive


@pytest.mark.parametrize(
    "dtype", [np.int64, np.int32, np.complex128, np.float16, bool, "abc", None]
)
def test_transformer_accepts_only_real_floating_dtypes(dtype):
    # int64 used to build a model whose weights were all rounded to zero
    with pytest.raises(ValueError, match="^dtype:"):
        Transformer(7, 8, 2, 1, 4, rng=0, dtype=dtype)


def test_transformer_float32_keeps_its_dtype_and_float64_values():
    m64 = Transformer(7, 8, 2, 1, 4, rng=0)
    m32 = Transformer(7, 8, 2, 1, 4, rng=0, dtype="float32")
    for key, value in m32.params.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, m64.params[key].astype(np.float32))
    # the in-place scaling of the initial draw gives the values std * draw gave
    draw = 0.02 * np.random.default_rng(0).standard_normal((7, 8))
    np.testing.assert_array_equal(m64.params["wte"], draw)


@pytest.mark.parametrize(
    "sizes, name",
    [
        ((10**12, 8, 2, 1, 4), "vocab_size"),  # used to blame d_model
        ((7, 8, 2, 10**13, 4), "n_layers"),  # used to blame d_model
        ((7, 10**13, 1, 1, 4), "d_model"),  # used to blame context
        ((7, 8, 2, 1, 10**13), "context"),
    ],
)
def test_transformer_too_large_names_the_size_the_caller_passed(sizes, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        Transformer(*sizes)


def test_transformer_size_check_counts_every_parameter(monkeypatch):
    # The position table (51 200 entries, 410 kB) and the block (49 984 entries, 400 kB)
    # each fit in 500 kB, which the old checks looked at one by one; together they do not.
    Transformer(7, 64, 2, 1, 800)
    _small_memory(monkeypatch, 500_000)
    with pytest.raises(ValueError, match="^context:"):
        Transformer(7, 64, 2, 1, 800)


def test_activations_are_counted_before_the_forward_pass(monkeypatch):
    model = Transformer(7, 8, 2, 1, 64, rng=0)
    tokens = np.zeros((16, 65), dtype=np.int64)
    # per window: 64 (2 · 2 · 64 + 32 · 8) + 5 · 64 · 7 = 35 008 entries; 16 windows
    # hold 4.5 MB, more than 1 MB
    _small_memory(monkeypatch, 10**6)
    for method, arg in ((model.loss, tokens), (model.logits, tokens[:, :-1])):
        with pytest.raises(ValueError, match="^tokens:"):
            method(arg)
    with pytest.raises(ValueError, match="^qkv:"):  # (1, 1, 400, 400) weights: 1.28 MB
        causal_attention_forward(np.zeros((1, 400, 3)), 1)


def test_sample_windows_checks_the_product_of_sizes_before_allocating(monkeypatch):
    _small_memory(monkeypatch, 10**6)
    with pytest.raises(ValueError, match="^batch, length:"):  # 1000 × 501 ids: 4 MB
        sample_windows(np.arange(1000), 1000, 500, rng=0)
    assert sample_windows(np.arange(1000), 10, 50, rng=0).shape == (10, 51)


def test_overflowing_weights_are_reported_not_returned():
    model = Transformer(7, 8, 2, 1, 4, rng=0)
    model.params["lnf_g"][:] = 1e306  # the logits overflow
    model.params["wte"][:] *= 1e6
    tokens = np.arange(10).reshape(2, 5) % 7
    for method, arg in (
        (model.loss, tokens),
        (model.logits, tokens[:, :4]),
        (model.loss_and_gradients, tokens),
    ):
        with pytest.raises(ValueError, match="diverged"):
            method(arg)


def test_train_transformer_counts_the_activations_before_training(monkeypatch):
    corpus = grammar_corpus(600, rng=0)
    model = Transformer(corpus.vocab_size, 8, 2, 1, 16, rng=0)
    # 64 windows of 16: 64 (16 (2 · 2 · 16 + 32 · 8) + 5 · 16 · 24) = 419 840 entries
    _small_memory(monkeypatch, 10**6)
    with pytest.raises(ValueError, match="^batch_size, length:"):
        train_transformer(model, corpus.train, corpus.validation, 2, 1e-3, batch_size=2)


def test_train_transformer_blames_overflowing_initial_weights_on_the_model():
    corpus = grammar_corpus(600, rng=0)
    model = Transformer(corpus.vocab_size, 8, 2, 1, 4, rng=0)
    model.params["lnf_g"][:] = 1e306  # the logits overflow before any step
    model.params["wte"][:] *= 1e6
    with pytest.raises(ValueError, match="^model:"):  # was a DivergenceError at step 1
        train_transformer(model, corpus.train, corpus.validation, 2, 1e-3, batch_size=2)
