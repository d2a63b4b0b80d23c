"""The readable core (refimpl.inrank.core) against the public routes of refimpl.inrank.

Each core function is compared with the public function that computes the same thing:
bit for bit where both run the same arithmetic, otherwise within a rounding bound derived
in the test's docstring. The closed forms of the mode dynamics are also checked against
ODE integration, at the tolerance of tests/test_inrank_dynamics.py.
"""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import seeds

from refimpl import backend
from refimpl.inrank import core, network, orthogonal_init, teacher, teacher_data
from refimpl.inrank.algorithm import inrank
from refimpl.inrank.dynamics import integrate_mode_ode, mode_strength, mode_time
from refimpl.inrank.rank import explained_ratio, select_rank

EPS = np.finfo(float).eps
widths_st = st.lists(st.integers(1, 5), min_size=2, max_size=5)  # depth 1 to 4


# ---------------------------------------------------------------- helpers


def _network(widths, n, seed):
    """Random weights ``W_l`` of shape ``(widths[l+1], widths[l])`` and data X, Y."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    return weights, rng.standard_normal((widths[0], n)), rng.standard_normal((widths[-1], n))


def _linear_problem(seed=0, hidden=6, noise=0.1):
    """From tests/test_inrank_algorithm.py, with a choice of hidden width."""
    s = np.array([3.0, 2.5, 2.0, 1.5, 1.2, 1.0])
    t = teacher(s, 6, 6, rng=seed)
    X, Y = teacher_data(t.target, 12, rng=seed + 1, noise=noise)
    return orthogonal_init((6, hidden, hidden, 6), 0.5, rng=seed + 2), X, Y


@st.composite
def modes(draw):
    """Arrays ``s, u0, t`` of shape ``(k,)`` and a time scale ``tau``.

    Most modes grow from ``u0 ≤ s/2`` (InRank's regime), some decay from ``u0 ∈ [2s, 4s]``;
    ``u0`` never equals ``s`` (a mode at its target does not move).
    """
    rng = np.random.default_rng(draw(seeds))
    k = draw(st.integers(1, 6))
    s = rng.uniform(0.2, 6.0, k)
    below = s * np.exp(rng.uniform(np.log(1e-6), np.log(0.5), k))
    u0 = np.where(rng.random(k) < 0.75, below, s * rng.uniform(2.0, 4.0, k))
    t = rng.uniform(0.01, 30.0, k)
    return s, u0, t, float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))


spectra = st.lists(st.floats(0.01, 10.0), min_size=1, max_size=8).map(
    lambda v: np.sort(np.array(v))[::-1]
)


# ---------------------------------------------------------------- (a) the linear network


@given(widths=widths_st, n=st.integers(1, 6), seed=seeds)
def test_forward_loss_gradients_are_the_public_ones_bit_for_bit(widths, n, seed):
    """Tolerance 0 (exact equality): same products in the same order.

    The core runs ``A_l = W_l A_{l-1}``, ``δ_L = (A_L − Y)/n``, ``∇W_l = δ_l A_{l-1}ᵀ``,
    ``δ_{l-1} = W_lᵀ δ_l`` and ``½ Σ R∘R / n``, exactly the operations of
    ``network.forward`` and of the shared backward pass behind ``network.gradients``.
    """
    weights, X, Y = _network(widths, n, seed)
    for a, b in zip(core.forward(weights, X), network.forward(weights, X), strict=True):
        np.testing.assert_array_equal(a, b)
    value, grads = network.gradients(weights, X, Y)
    assert core.loss(weights, X, Y) == value
    for a, b in zip(core.gradients(weights, X, Y), grads, strict=True):
        np.testing.assert_array_equal(a, b)


@given(widths=widths_st, n=st.integers(1, 6), seed=seeds)
def test_loss_is_the_public_loss_within_rounding(widths, n, seed):
    """``|Δ| ≤ 4 * (d + n_out * n) * EPS * scale``: another association of the same product.

    ``network.loss`` forms ``(W_L⋯W_1) X``, the core ``W_L(⋯(W_1 X))``. Each is within
    ``γ_d P`` of the exact output, entry by entry, with ``P = |W_L|⋯|W_1||X|`` and ``d`` the
    sum of the inner dimensions (``n_in + h_1 + ⋯``), so the residuals ``R`` differ by at most
    ``2 d EPS P`` and the losses by ``Σ 2 d EPS P (|R| + P) / n``; squaring and summing the
    ``n_out·n`` entries adds ``n_out·n·EPS`` relative per route. With
    ``scale = Σ (P + |R|)² / n``, which bounds both, the sum is below the tolerance.
    """
    weights, X, Y = _network(widths, n, seed)
    P = np.abs(X)
    for W in weights:
        P = np.abs(W) @ P  # (width_l, n)
    R = core.forward(weights, X)[-1] - Y
    d, n_out = sum(widths[:-1]), widths[-1]
    scale = np.sum((P + np.abs(R)) ** 2) / n
    tol = 4 * (d + n_out * n) * EPS * scale
    assert abs(core.loss(weights, X, Y) - float(network.loss(weights, X, Y))) <= tol


# ---------------------------------------------------------------- (b) mode dynamics


@given(m=modes(), depth=st.sampled_from([1, 2, 3]))
def test_mode_strength_is_the_public_one(m, depth):
    """Tolerance 0 (exact equality): ``dynamics.mode_strength`` calls the core.

    For a moving mode (``s > 0``, ``u0 > 0``, ``t > 0``, ``u0`` off its target, as every
    draw here) the public function passes the arrays through unchanged: depth 1 is the
    same expression, depth 2 the same logistic divided through by ``max(s, u0)``, depth 3
    the same ``F`` bisected over the same bracket 64 times.
    """
    s, u0, t, tau = m
    u = core.mode_strength(s, u0, t, depth, tau)
    ref = mode_strength(s, u0, t, depth, tau)
    np.testing.assert_array_equal(u, ref)


@given(m=modes(), fraction=st.floats(0.01, 0.99), depth=st.sampled_from([1, 2, 3]))
def test_mode_time_is_the_public_one_bit_for_bit(m, fraction, depth):
    """Tolerance 0 (exact equality): the same closed forms, operation for operation.

    ``τ ln((s − u0)/(s − u1))``, ``τ/(2s) ln(u1(s − u0)/(u0(s − u1)))`` and
    ``τ[F(u1^{1/3}) − F(u0^{1/3})]``, for ``u1`` a ``fraction`` of the way from ``u0`` to s.
    """
    s, u0, _, tau = m
    u1 = u0 + fraction * (s - u0)
    np.testing.assert_array_equal(
        core.mode_time(s, u0, u1, depth, tau), mode_time(s, u0, u1, depth, tau)
    )


@given(m=modes(), fraction=st.floats(0.01, 0.99), depth=st.sampled_from([1, 2, 3]))
def test_closed_forms_follow_the_mode_ode(m, fraction, depth):
    """``rel 1e-7, abs 1e-12`` against LSODA, as in tests/test_inrank_dynamics.py.

    ``integrate_mode_ode`` runs at relative tolerance 1e-11 and the closed forms are exact,
    so they agree to about 1e-9. ``u(t)`` is compared directly; ``mode_time`` by running
    the ODE for the time it returns and landing on ``u1``.
    """
    s, u0, t, tau = m
    u = core.mode_strength(s, u0, t, depth, tau)
    np.testing.assert_allclose(u, integrate_mode_ode(s, u0, t, depth, tau), rtol=1e-7, atol=1e-12)
    u1 = u0 + fraction * (s - u0)
    t1 = core.mode_time(s, u0, u1, depth, tau)
    np.testing.assert_allclose(integrate_mode_ode(s, u0, t1, depth, tau), u1, rtol=1e-7, atol=1e-12)


# ---------------------------------------------------------------- (c) the rank rule


def _ratio_tolerance(s, length):
    """``8 * N * EPS * mean(s²) / var(s)`` over the ``N`` padded values.

    Both routes cancel sums of size ``mean(s²)``: the core a two-pass variance, the public
    route suffix sums of deviations (tests/test_inrank_rank.py derives the same bound).
    """
    padded = np.concatenate([s, np.zeros(length - s.size)])
    return 8 * length * EPS * np.mean(padded**2) / np.var(padded)


@given(s=spectra, extra=st.integers(1, 20), zero=st.booleans())
def test_variance_ratio_is_the_public_one_within_rounding(s, extra, zero):
    """``|Δρ| ≤ 8 * N * EPS * mean(s²) / var(s)`` (see ``_ratio_tolerance``); ``s = 0``: exact.

    ``extra ≥ 1`` zeros pad the spectrum, so its variance is not zero (the public route
    defines a flat non-zero spectrum apart; the core does not). The all-zero spectrum
    (``V = 0`` before the first step) explains everything in both: every ratio is 1.
    """
    length = s.size + extra
    s = np.zeros_like(s) if zero else s
    rho = core.variance_ratio(s, length)
    tol = 0.0 if zero else _ratio_tolerance(s, length)
    assert np.all(np.abs(rho - explained_ratio(s, "variance", length=length)) <= tol)
    assert rho[-1] == 1.0


@settings(max_examples=100)  # a few milliseconds each; the cap and buffer need many draws
@given(
    s=spectra,
    extra=st.integers(1, 20),
    rank_index=st.integers(0, 7),
    buffer=st.integers(0, 4),
    extra_cap=st.integers(0, 6),
    threshold=st.floats(0.5, 1.0) | st.just(1.0),
)
def test_select_rank_is_the_public_rule(s, extra, rank_index, buffer, extra_cap, threshold):
    """Exact equality of the rank, away from ties.

    The ratios agree within ``_ratio_tolerance`` (previous test); the end points
    ``ρ(0) = 0`` and ``ρ(n) = 1`` are exact in both. A draw with an inner candidate's ratio
    within that tolerance of the threshold is a tie that rounding may break either way, and
    is skipped.
    """
    rank = 1 + rank_index % s.size  # InRank checks k = rank + buffer ≥ rank values
    length, cap = s.size + extra, rank + extra_cap
    ref = select_rank(s, rank, buffer, cap, threshold, "variance", length)
    rho = explained_ratio(s, "variance", length=length)
    inner = rho[rank : min(rank + buffer, cap, s.size - 1) + 1]
    assume(np.all(np.abs(inner - threshold) > _ratio_tolerance(s, length)))
    assert core.select_rank(s, rank, buffer, cap, threshold, length) == ref


# ---------------------------------------------------------------- (d), (e) InRank


@given(
    seed=seeds.map(lambda x: x % 1000),
    hidden=st.integers(6, 10),
    threshold=st.floats(0.5, 1.0) | st.just(1.0),
    warmup=st.integers(1, 8),
    gap=st.integers(1, 6),
)
def test_inrank_is_the_public_inrank(seed, hidden, threshold, warmup, gap):
    """Ranks exactly; losses within ``10 * steps * d * EPS * loss0``, weights with ``max|W|``.

    Same seed, same ``U`` draws, same rank checks. The routes associate the products of a
    step differently (``(W0 + U Vᵀ) A`` against ``W0 A + U (Vᵀ A)``, ``(δ Aᵀ) V`` against
    ``δ (Aᵀ V)``), inner dimensions at most ``d = n_samples + Σ widths``: each step's update
    differs by ``≲ d EPS`` relative (``γ_d``), the ``steps`` updates add up, and at
    ``lr · steps = 1.5`` the GD map amplifies them by a modest factor, which 10 covers
    (measured: the losses differ by less than 0.002 of ``steps * d * EPS * loss0``). The
    rank rule sees singular values that differ at rounding level, far from a tie with a
    threshold drawn from a continuum.
    """
    weights, X, Y = _linear_problem(seed, hidden)
    lr, steps = 0.05, 30
    kwargs = {"threshold": threshold, "warmup": warmup, "gap": gap, "init_scale": 0.1}
    ref = inrank(weights, X, Y, lr, steps, rng=seed, **kwargs)
    losses, ranks, layers = core.inrank(weights, X, Y, lr, steps, seed, **kwargs)
    np.testing.assert_array_equal(np.array(ranks), ref.ranks)
    np.testing.assert_array_equal([core.active(layer) for layer in layers], ref.active[-1])
    d = X.shape[1] + sum(w.shape[1] for w in weights) + weights[-1].shape[0]  # n + Σ widths
    loss0 = ref.loss[0]
    assert np.all(np.abs(np.array(losses) - ref.loss) <= 10 * steps * d * EPS * loss0)
    for layer, W in zip(layers, ref.weights, strict=True):
        error = np.max(np.abs(core.dense(layer) - W))
        assert error <= 10 * steps * d * EPS * np.max(np.abs(W))


# ---------------------------------------------------------------- backends


def test_core_runs_on_the_inputs_backend(xp):
    """Arrays in give arrays of the same backend out, with the values of the public routes.

    On NumPy this repeats the comparisons above for one draw; with CuPy (``pytest -m gpu``)
    it checks that the core uses only functions both namespaces have. CuPy's BLAS may sum
    in another order: gradients within ``4 * size * EPS * a``, ``size = n + Σ widths`` and
    ``a`` the gradient formula on absolute values, which bounds every product's rounding; CuPy's
    ``log``/``arctan`` may differ by ulps, which moves the depth-3 root by about 1e-15
    relative, so ``rtol=1e-12``; InRank's losses within the bound of the InRank test.
    """
    weights, X, Y = _linear_problem(0, 8)
    wx, Xx, Yx = [xp.asarray(w) for w in weights], xp.asarray(X), xp.asarray(Y)
    grads = core.gradients(wx, Xx, Yx)
    assert type(grads[0]) is type(Xx)
    _, ref = network.gradients(weights, X, Y)
    size = X.shape[1] + sum(w.shape[1] for w in weights) + weights[-1].shape[0]
    absolute = core.gradients([np.abs(w) for w in weights], np.abs(X), -np.abs(Y))
    for g, r, a in zip(grads, ref, absolute, strict=True):
        assert np.all(np.abs(backend.to_numpy(g) - r) <= 4 * size * EPS * a)
    s, u0, t = np.array([3.0, 1.0]), np.array([1e-3, 2.5]), np.array([4.0, 0.5])
    u = core.mode_strength(xp.asarray(s), xp.asarray(u0), xp.asarray(t), 3)
    assert type(u) is type(Xx)
    np.testing.assert_allclose(backend.to_numpy(u), mode_strength(s, u0, t, 3), rtol=1e-12)
    kwargs = {"threshold": 1.0, "warmup": 4, "gap": 4, "init_scale": 0.1}
    losses, ranks, layers = core.inrank(wx, Xx, Yx, 0.05, 20, 0, **kwargs)
    assert type(layers[0]["U"]) is type(Xx)
    res = inrank(weights, X, Y, 0.05, 20, rng=0, **kwargs)
    np.testing.assert_array_equal(np.array(ranks), res.ranks)
    steps, d, loss0 = 20, size, res.loss[0]
    assert np.all(np.abs(np.array(losses) - res.loss) <= 10 * steps * d * EPS * loss0)
