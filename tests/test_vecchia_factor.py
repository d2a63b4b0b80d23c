"""Sparsity patterns, supernodes and KL-optimal factors against closed forms.

Tolerances: a column of the factor solves a system with the block Θ_ss, so its
relative rounding error is about κ(Θ_ss)·ε ≤ κ(Θ)·ε (ε = 2.2e-16, interlacing
bounds the block's condition number by the whole matrix's). The KL divergence
is a sum of N terms each computed to about κ(Θ)·ε.
"""

import unittest.mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from refimpl.vecchia import (
    Matern,
    ball_pattern,
    dense_inverse_cholesky,
    full_pattern,
    kl_cholesky,
    kl_divergence,
    kl_divergence_from_variances,
    kl_factor,
    knn_pattern,
    maximin_ordering,
    patterns,
    supernodal_kl_factor,
    supernodes,
)
from tests.strategies import point_clouds

EPS = np.finfo(float).eps


def separated(points, gap=1e-3):
    # point_clouds already keeps points 1e-3 apart; larger gaps are asked for here
    return len(points) < 2 or pdist(points).min() >= gap


def ordered(points, p=1):
    order, lengths = maximin_ordering(points, p=p)
    return points[order], lengths


def dense_ball_pattern(x, lengths, rho):
    D = np.linalg.norm(x[:, None] - x[None], axis=-1)
    n = len(x)
    return (D <= rho * lengths[None, :]) & (np.arange(n)[:, None] >= np.arange(n)[None, :])


def as_mask(pattern):
    return pattern.to_sparse().toarray() > 0


@given(point_clouds(n=st.integers(2, 70), d=st.integers(1, 3)), st.floats(0.5, 6.0))
def test_ball_pattern_is_the_definition(points, rho):
    x, lengths = ordered(points)
    pattern = ball_pattern(x, lengths, rho)
    np.testing.assert_array_equal(as_mask(pattern), dense_ball_pattern(x, lengths, rho))
    for j in range(len(x)):
        column = pattern.column(j)
        assert column[0] == j and np.all(np.diff(column) > 0)


@pytest.mark.parametrize("excess", [-np.inf, np.inf], ids=["ball queries", "self-joins"])
@given(
    point_clouds(n=st.integers(2, 70), d=st.integers(1, 3)),
    st.floats(0.5, 6.0),
    st.booleans(),
    st.booleans(),
)
def test_either_search_of_ball_pattern_gives_the_definition(excess, points, rho, unsorted, inf):
    # The sampled choice between the two searches steers only the cost: forced either way,
    # the pattern is the definition, also for lengths that are not sorted (prediction
    # points with other lengths placed first) and with an infinite length among them.
    x, lengths = ordered(points)
    if unsorted:
        lengths = lengths.copy()
        lengths[: len(x) // 3] = lengths[: len(x) // 3][::-1] * 1.7
    if inf:
        lengths = lengths.copy()
        lengths[len(x) // 2] = np.inf
    with unittest.mock.patch.object(patterns, "SELF_JOIN_EXCESS", excess):
        pattern = ball_pattern(x, lengths, rho)
    np.testing.assert_array_equal(as_mask(pattern), dense_ball_pattern(x, lengths, rho))
    for j in range(len(x)):  # each row once
        assert np.all(np.diff(pattern.column(j)) > 0)


@given(point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)), st.integers(0, 8))
def test_knn_pattern_is_the_definition(points, m):
    x, _ = ordered(points)
    pattern = knn_pattern(x, m)
    D = np.linalg.norm(x[:, None] - x[None], axis=-1)
    for j in range(len(x)):
        later = np.arange(j + 1, len(x))
        nearest = later[np.argsort(D[j, later], kind="stable")[:m]]
        assert set(pattern.column(j).tolist()) == {j, *nearest.tolist()}


def test_full_pattern_is_the_infinite_ball():
    x, lengths = ordered(np.random.default_rng(0).uniform(size=(30, 2)))
    np.testing.assert_array_equal(
        as_mask(ball_pattern(x, lengths, np.inf)), as_mask(full_pattern(30))
    )


@given(point_clouds(n=st.integers(2, 70), d=st.integers(1, 3)), st.floats(1.0, 3.0))
def test_supernodes_partition_columns_and_enlarge_the_pattern(points, lam):
    x, lengths = ordered(points)
    pattern = ball_pattern(x, lengths, 2.0)
    groups = supernodes(pattern, lengths, lam)
    np.testing.assert_array_equal(np.sort(groups.members), np.arange(len(x)))
    enlarged = groups.pattern()
    assert enlarged.contains(pattern)
    for s in range(groups.count):
        members, rows = groups.member_columns(s), groups.row_set(s)
        leader = members[0]
        assert set(members) <= set(pattern.column(leader))
        assert np.all(lengths[members] <= lam * lengths[leader])
        union = np.unique(np.concatenate([pattern.column(k) for k in members]))
        np.testing.assert_array_equal(rows, union)
        for k in members:
            np.testing.assert_array_equal(enlarged.column(k), rows[rows >= k])


def condition(theta):
    return np.linalg.cond(theta)


@given(point_clouds(n=st.integers(2, 50), d=st.integers(1, 3)))
def test_full_pattern_gives_the_exact_inverse_cholesky_factor(points):
    assume(separated(points))
    kernel = Matern(0.5, 0.3)
    x, lengths = ordered(points)
    theta = kernel(x, x)
    exact = dense_inverse_cholesky(theta)
    np.testing.assert_allclose(
        exact @ exact.T @ theta, np.eye(len(x)), atol=1e3 * condition(theta) * EPS
    )
    assert np.all(np.triu(exact, 1) == 0)
    tolerance = 10 * len(x) * condition(theta) * EPS
    column_wise = kl_factor(x, kernel, full_pattern(len(x))).toarray()
    groups = supernodes(ball_pattern(x, lengths, np.inf), lengths, 1.5)
    supernodal = supernodal_kl_factor(x, kernel, groups).toarray()
    scale = np.abs(exact).max()
    assert np.abs(column_wise - exact).max() <= tolerance * scale
    assert np.abs(supernodal - exact).max() <= tolerance * scale


def test_full_pattern_relative_error_is_about_1e_minus_10():
    x = np.random.default_rng(4).uniform(size=(200, 2))
    kernel = Matern(1.5, 0.1)
    L, order = kl_cholesky(x, kernel, rho=np.inf)
    exact = dense_inverse_cholesky(kernel(x[order], x[order]))
    assert np.abs(L.toarray() - exact).max() <= 1e-10 * np.abs(exact).max()


def test_matern_half_in_1d_is_markov_so_one_neighbour_is_exact():
    x = np.sort(np.random.default_rng(5).uniform(size=60))[:, None]
    kernel = Matern(0.5, 0.2)
    theta = kernel(x, x)
    # sorted points, each column holds the point and its right neighbour
    L = kl_factor(x, kernel, knn_pattern(x, 1))
    n = len(x)
    np.testing.assert_array_equal(np.diff(L.indptr), [2] * (n - 1) + [1])
    np.testing.assert_array_equal(L.indices[L.indptr[:-1]], np.arange(n))  # diagonal first
    np.testing.assert_array_equal(L.indices[L.indptr[:-2] + 1], np.arange(1, n))  # then j + 1
    # the Ornstein–Uhlenbeck process is Markov: θ_i | θ_{>i} = θ_i | θ_{i+1}
    kl = kl_divergence(theta, L)
    assert abs(kl) <= 10 * len(x) * condition(theta) * EPS
    np.testing.assert_allclose(L.toarray(), dense_inverse_cholesky(theta), atol=1e-9)


@given(point_clouds(n=st.integers(3, 40), d=st.integers(1, 2)), st.data())
def test_perturbing_an_entry_raises_the_kl_by_the_closed_form(points, data):
    assume(separated(points, 1e-2))
    kernel = Matern(1.5, 0.2)
    x, lengths = ordered(points)
    theta = kernel(x, x)
    L = kl_factor(x, kernel, ball_pattern(x, lengths, 1.5)).tocoo()
    base = kl_divergence(theta, L)
    k = data.draw(st.integers(0, L.nnz - 1))
    a, b, value = L.row[k], L.col[k], L.data[k]
    delta = data.draw(st.sampled_from([-1e-2, 1e-2])) * abs(value)
    perturbed = L.copy()
    perturbed.data[k] += delta
    # KL(L + δ e_a e_bᵀ) − KL(L): the gradient vanishes at the optimum, leaving
    # ½ δ² Θ_aa off the diagonal and δ/L_bb + ½ δ² Θ_bb − log(1 + δ/L_bb) on it
    if a != b:
        expected = 0.5 * delta**2 * theta[a, a]
    else:
        expected = delta / value + 0.5 * delta**2 * theta[b, b] - np.log1p(delta / value)
    increase = kl_divergence(theta, perturbed) - base
    assert increase > 0
    rounding = 20 * len(x) * condition(theta) * EPS
    assert increase == pytest.approx(expected, rel=1e-6, abs=rounding)


@given(point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)), st.floats(0.5, 4.0))
def test_optimal_factor_has_unit_trace_terms(points, rho):
    assume(separated(points))
    kernel = Matern(0.5, 0.3)
    x, lengths = ordered(points)
    theta = kernel(x, x)
    L = kl_factor(x, kernel, ball_pattern(x, lengths, rho)).toarray()
    # each column is normalized so that (LᵀΘL)_ii = 1, hence tr(LᵀΘL) = N
    np.testing.assert_allclose(
        np.sum(L * (theta @ L), axis=0), 1.0, atol=100 * condition(theta) * EPS
    )
    kl = kl_divergence(theta, L)
    assert kl == pytest.approx(
        kl_divergence_from_variances(theta, L), abs=10 * len(x) * condition(theta) * EPS
    )


@given(point_clouds(n=st.integers(5, 60), d=st.integers(1, 3)), st.integers(1, 3))
def test_kl_does_not_increase_with_rho(points, p):
    assume(separated(points))
    kernel = Matern(1.5, 0.2)
    x, lengths = ordered(points, p)
    theta = kernel(x, x)
    rounding = 10 * len(x) * condition(theta) * EPS
    previous = np.inf
    for rho in (1.0, 1.5, 2.0, 3.0, 5.0):
        kl = kl_divergence(theta, kl_factor(x, kernel, ball_pattern(x, lengths, rho)))
        assert kl >= -rounding
        assert kl <= previous + rounding  # nested patterns: a larger feasible set
        previous = kl


@given(
    point_clouds(n=st.integers(2, 70), d=st.integers(1, 3)),
    st.floats(1.0, 3.0),
    st.floats(1.0, 4.0),
)
def test_supernodal_factor_equals_column_factor_on_enlarged_pattern(points, lam, rho):
    assume(separated(points))
    kernel = Matern(1.5, 0.2)
    x, lengths = ordered(points)
    groups = supernodes(ball_pattern(x, lengths, rho), lengths, lam)
    supernodal = supernodal_kl_factor(x, kernel, groups)
    column_wise = kl_factor(x, kernel, groups.pattern())
    np.testing.assert_array_equal(supernodal.indptr, column_wise.indptr)
    np.testing.assert_array_equal(supernodal.indices, column_wise.indices)
    tolerance = 10 * len(x) * condition(kernel(x, x)) * EPS
    scale = np.abs(column_wise.data).max()
    assert np.abs(supernodal.data - column_wise.data).max() <= tolerance * scale


def test_kl_decays_exponentially_in_rho_on_a_grid():
    g = np.stack(np.meshgrid(np.linspace(0, 1, 18), np.linspace(0, 1, 18)), -1).reshape(-1, 2)
    kernel = Matern(1.5, 0.1)
    x, lengths = ordered(g)
    theta = kernel(x, x)
    rhos = np.array([1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    kls = [kl_divergence(theta, kl_factor(x, kernel, ball_pattern(x, lengths, r))) for r in rhos]
    slope = np.polyfit(rhos, np.log(kls), 1)[0]
    # theory: KL ≤ C exp(−c ρ); we state c ≥ 1.5 per unit of ρ for this setting
    assert slope < -1.5, f"fitted log-slope {slope:.2f}"


def test_kl_cholesky_maps_back_to_the_input_order():
    x = np.random.default_rng(6).uniform(size=(150, 2))
    kernel = Matern(1.5, 0.1)
    theta_input = kernel(x, x)  # in the order of the input points
    L, order = kl_cholesky(x, kernel, rho=np.inf, p=2)
    assert order[-1] == 0
    np.testing.assert_array_equal(np.sort(order), np.arange(len(x)))
    # L Lᵀ is Θ⁻¹ in the elimination order: undo the permutation to get the input's
    inverse = np.empty(len(x), dtype=int)
    inverse[order] = np.arange(len(x))
    precision = (L @ L.T).toarray()[inverse][:, inverse]
    kappa = np.linalg.cond(theta_input)
    np.testing.assert_allclose(
        precision @ theta_input, np.eye(len(x)), atol=10 * len(x) * kappa * EPS
    )
    # a sparse factor in the same order: nonzero KL below that of a smaller ρ
    theta = kernel(x[order], x[order])
    L_sparse, order_sparse = kl_cholesky(x, kernel, rho=2.5, p=2)
    np.testing.assert_array_equal(order_sparse, order)
    L_dense = L_sparse.toarray()
    assert np.all(np.triu(L_dense, 1) == 0) and np.all(np.diag(L_dense) > 0)
    kl = kl_divergence(theta, L_sparse)
    assert 0 < kl < kl_divergence(theta, kl_cholesky(x, kernel, rho=1.0, p=2)[0])


class SpyKernel:
    """Wraps a kernel and records the largest block it was asked for."""

    def __init__(self, kernel):
        self.kernel, self.largest = kernel, 0

    def __call__(self, X, Y):
        self.largest = max(self.largest, X.shape[-2], Y.shape[-2])
        return self.kernel(X, Y)


def test_sparse_factor_never_forms_an_n_by_n_block():
    x = np.random.default_rng(8).uniform(size=(3000, 2))
    spy = SpyKernel(Matern(1.5, 0.1))
    L, order = kl_cholesky(x, spy, rho=2.0)
    groups = supernodes(*_pattern_and_lengths(x, order, 2.0))
    largest_row_set = int(np.diff(groups.row_ptr).max())
    # blocks are padded to the next size class (at most 12.5 % larger)
    assert 0 < spy.largest <= int(np.ceil(1.125 * largest_row_set)) < len(x) // 10


def _pattern_and_lengths(x, order, rho):
    _, lengths = maximin_ordering(x)
    return ball_pattern(x[order], lengths, rho), lengths


def test_dense_baseline_follows_the_array_backend(xp):
    x = np.random.default_rng(7).uniform(size=(12, 2))
    theta = xp.asarray(Matern(0.5, 0.3)(x))
    L = dense_inverse_cholesky(theta)
    assert type(L) is type(theta)
    host = L.get() if hasattr(L, "get") else L
    np.testing.assert_allclose(
        host, dense_inverse_cholesky(Matern(0.5, 0.3)(x)), rtol=1e-12, atol=1e-12
    )
    assert kl_divergence(theta, host) == pytest.approx(0.0, abs=1e-10)


@given(point_clouds(n=st.integers(3, 60), d=st.integers(1, 2)), st.integers(0, 2**31))
def test_kl_divergence_equals_the_dense_closed_form_for_any_factor(points, seed):
    # any lower-triangular L with a positive diagonal on a ρ-pattern, not only the optimal one
    assume(separated(points))
    kernel = Matern(1.5, 0.3)
    x, lengths = ordered(points)
    theta = kernel(x, x)
    L = kl_factor(x, kernel, ball_pattern(x, lengths, 1.5))
    L.data *= np.random.default_rng(seed).uniform(0.5, 1.5, size=L.nnz)  # keeps L_ii > 0
    dense = L.toarray()
    sign, log_det = np.linalg.slogdet(theta)
    n = len(x)
    expected = 0.5 * (
        np.trace(dense.T @ theta @ dense) - 2 * np.log(np.diag(dense)).sum() - log_det - n
    )
    tolerance = 10 * n * condition(theta) * EPS * (1 + abs(expected))
    assert sign == 1 and kl_divergence(theta, L) == pytest.approx(expected, abs=tolerance)


def sequential_supernodes(pattern, lengths, lam):
    """The walk of the definition, one column at a time, written independently of refimpl."""
    assigned = np.zeros(pattern.n, dtype=bool)
    members, rows = [], []
    for j in range(pattern.n):
        if not assigned[j]:
            column = pattern.column(j)
            group = column[(lengths[column] <= lam * lengths[j]) & ~assigned[column]]
            assigned[group] = True
            members.append(group.tolist())
            rows.append(sorted(set().union(*(pattern.column(k).tolist() for k in group))))
    return members, rows


@given(
    point_clouds(n=st.integers(2, 120), d=st.integers(1, 3)),
    st.floats(1.0, 3.0),
    st.sampled_from([1.5, 3.0, np.inf]),
    st.integers(1, 3),
)
def test_supernodes_equal_the_sequential_walk(points, lam, rho, p):
    x, lengths = ordered(points, p=p)
    pattern = ball_pattern(x, lengths, rho)
    groups = supernodes(pattern, lengths, lam)
    members, rows = sequential_supernodes(pattern, lengths, lam)
    assert [groups.member_columns(s).tolist() for s in range(groups.count)] == members
    assert [groups.row_set(s).tolist() for s in range(groups.count)] == rows
