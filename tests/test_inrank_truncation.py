"""Truncation through the factors, the layers' rank state, and the efficient variant's shape."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import seeds

from refimpl.inrank import inrank_efficient, orthogonal_init, teacher, teacher_data
from refimpl.inrank.efficient import truncate_layer
from refimpl.inrank.layers import LowRankUpdateLayer
from refimpl.inrank.truncation import truncate_update, truncate_weight

EPS = np.finfo(float).eps


def _best(A, r):
    u, s, vt = np.linalg.svd(A, full_matrices=False)
    return (u[:, :r] * s[:r]) @ vt[:r], s


@settings(max_examples=20)
@given(seed=seeds, m=st.integers(4, 30), n=st.integers(4, 30), k=st.integers(1, 6))
def test_truncate_update_is_the_eckart_young_truncation(seed, m, n, k):
    rng = np.random.default_rng(seed)
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    A = U @ V.T
    r = max(1, min(k, m, n) - 1)
    best, s = _best(A, r)
    gap = s[r - 1] - s[r] if r < s.size else s[r - 1]
    if gap < 1e-3 * s[0]:
        return  # the truncation is not unique without a gap
    P, Q = truncate_update(U, V, r)
    # Both are computed to a few ulps of ‖A‖; the truncated subspaces then differ by
    # δ ≲ ε‖A‖/gap (Davis–Kahan), moving the product by about δ‖A‖.
    tol = 100 * max(m, n) * EPS * s[0] * (1 + s[0] / gap)
    np.testing.assert_allclose(P @ Q.T, best, atol=tol)
    np.testing.assert_allclose(P.T @ P, Q.T @ Q, atol=tol)  # balanced: both Σ_r
    np.testing.assert_allclose(np.diag(P.T @ P), s[:r], rtol=1e-10, atol=tol)


def test_truncate_update_pads_when_the_rank_exceeds_the_columns():
    rng = np.random.default_rng(0)
    U, V = rng.standard_normal((8, 2)), rng.standard_normal((6, 2))
    P, Q = truncate_update(U, V, 4)
    assert P.shape == (8, 4) and Q.shape == (6, 4)
    np.testing.assert_allclose(P @ Q.T, U @ V.T, atol=1e-13)


def test_truncate_weight_is_exact_when_the_sketch_covers_the_matrix():
    rng = np.random.default_rng(1)
    W0, U, V = rng.standard_normal((9, 7)), rng.standard_normal((9, 2)), rng.standard_normal((7, 2))
    P, Q = truncate_weight(W0, U, V, 3, rng=0, oversampling=10)  # 3 + 10 ≥ 7
    best, s = _best(W0 + U @ V.T, 3)
    np.testing.assert_allclose(P @ Q.T, best, atol=1e3 * EPS * s[0] * s[0] / (s[2] - s[3]))


@pytest.mark.parametrize("q", [0, 1, 2])
def test_truncate_weight_error_is_within_the_randomized_bound(q):
    # A rank-5 update on top of a small dense W0, as after InRank's adaptive stage.
    rng = np.random.default_rng(2)
    m, n, r, p = 120, 100, 5, 10
    W0 = 0.01 * rng.standard_normal((m, n))
    U = rng.standard_normal((m, r)) * np.arange(5, 0, -1)
    V = rng.standard_normal((n, r))
    A = W0 + U @ V.T
    s = np.linalg.svd(A, compute_uv=False)
    P, Q = truncate_weight(W0, U, V, r, rng=3, power_iterations=q, oversampling=p)
    error = np.linalg.norm(A - P @ Q.T, 2)
    # Halko, Martinsson & Tropp (2011), Cor. 10.9 applied to (AAᵀ)^q A (Thm 9.2), which
    # fails with probability ≤ 6 e^{-p}, plus σ_{r+1} for the final truncation (§9.3).
    t = 2 * q + 1
    tail = np.sqrt(np.sum(s[r:] ** (2 * t)))
    sketch = (1 + 17 * np.sqrt(1 + r / p)) * s[r] ** t + 8 * np.sqrt(r + p) / (p + 1) * tail
    assert error <= s[r] + sketch ** (1 / t)
    assert error >= s[r] * (1 - 1e-12)  # never better than Eckart–Young


def test_no_dense_svd_of_a_full_weight(monkeypatch):
    """The truncation only ever takes SVDs of matrices with a dimension ≤ r + p."""
    rng = np.random.default_rng(4)
    layer = LowRankUpdateLayer(
        rng.standard_normal((200, 150)),
        rng.standard_normal((200, 9)),
        rng.standard_normal((150, 9)),
        rank=5,
        buffer=4,
    )
    shapes = []
    original = np.linalg.svd

    def recording_svd(a, *args, **kwargs):
        shapes.append(np.shape(a))
        return original(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", recording_svd)
    for mode in ("update", "weight"):
        new = truncate_layer(layer, mode, rng=0)
        assert new.rank == new.active == new.cap == 5 and new.buffer == 0
        assert (new.base is None) == (mode == "weight")
    assert shapes and max(min(shape) for shape in shapes) <= 5 + 10


def test_layer_rank_state_grows_within_its_cap():
    rng = np.random.default_rng(5)
    layer = LowRankUpdateLayer(
        None, rng.standard_normal((6, 4)), rng.standard_normal((5, 4)), rank=1, buffer=2, cap=3
    )
    assert (layer.rank, layer.active, layer.allocated) == (1, 3, 4)
    layer.rank = 3  # grows; the buffer is cut off where the allocation ends
    assert layer.active == 4
    with pytest.raises(ValueError, match="rank"):
        layer.rank = 2  # never decreases
    with pytest.raises(ValueError, match="cap"):
        LowRankUpdateLayer(None, np.ones((3, 2)), np.ones((3, 2)), rank=2, cap=1)
    with pytest.raises(TypeError, match="active"):  # removed in 0.2.0: use rank
        LowRankUpdateLayer(None, np.ones((3, 2)), np.ones((3, 2)), active=2)


def test_efficient_variant_refuses_unknown_options_and_the_old_paths_are_gone():
    t = teacher([2.0, 1.0], 4, 4, rng=0)
    X, Y = teacher_data(t.target, 8, rng=1)
    weights = orthogonal_init((4, 4, 4), 0.5, rng=2)
    with pytest.raises(ValueError, match="treshold"):
        inrank_efficient(weights, X, Y, 0.05, 10, 5, treshold=0.9)
    # 0.2.0 removed the re-exports and the deprecated alias; the names live in their homes
    algorithm = importlib.import_module("refimpl.inrank.algorithm")
    for name in ("select_rank", "cost_model", "inrank_efficient", "InRankResult"):
        assert name not in algorithm.__all__
    assert not hasattr(importlib.import_module("refimpl.inrank.train"), "check_divergence")
    inrank_package = importlib.import_module("refimpl.inrank")
    assert inrank_package.inrank_efficient is inrank_efficient
    assert callable(inrank_package.inrank) and callable(inrank_package.InRankResult)


def test_ill_conditioned_factors_keep_full_accuracy():
    # A column trained for a few steps from V = 0 is tiny: the Gram matrix would square
    # κ(V) ≈ 1e9, so the factor comes from Householder QR and stays accurate to ~ε σ₁.
    rng = np.random.default_rng(1)
    U, V = rng.standard_normal((50, 5)), rng.standard_normal((40, 5))
    U[:, 3] *= 1e-7
    V[:, 4] *= 1e-9
    for r in (2, 3, 4):
        best, s = _best(U @ V.T, r)
        P, Q = truncate_update(U, V, r)
        np.testing.assert_allclose(P @ Q.T, best, atol=100 * 50 * EPS * s[0])
