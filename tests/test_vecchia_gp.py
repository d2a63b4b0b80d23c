"""Using the factor: with the full pattern every quantity equals its dense formula."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.spatial.distance import pdist
from scipy.stats import multivariate_normal

from refimpl.vecchia import (
    Matern,
    apply_covariance,
    kl_cholesky,
    kl_divergence,
    log_likelihood,
    logdet,
    predict,
    sample,
    solve,
)
from refimpl.vecchia.prediction import joint_factor as _joint_factor
from tests.strategies import point_clouds

EPS = np.finfo(float).eps


def exact_factor(points, kernel):
    L, order = kl_cholesky(points, kernel, rho=np.inf)
    theta = kernel(points[order], points[order])
    return L, order, theta, np.linalg.cond(theta)


@given(point_clouds(n=st.integers(2, 40), d=st.integers(1, 2)), st.integers(0, 2**31))
def test_full_pattern_quantities_equal_dense_formulas(points, seed):
    assume(pdist(points).min() >= 1e-3)
    L, order, theta, kappa = exact_factor(points, Matern(0.5, 0.3))
    n = len(points)
    tolerance = 10 * n * kappa * EPS
    b = np.random.default_rng(seed).standard_normal(n)
    scale = np.linalg.norm(np.linalg.solve(theta, b))
    assert np.linalg.norm(solve(L, b) - np.linalg.solve(theta, b)) <= tolerance * scale
    assert np.linalg.norm(apply_covariance(L, b) - theta @ b) <= tolerance * np.linalg.norm(
        theta @ b
    )
    sign, reference = np.linalg.slogdet(theta)
    assert sign == 1 and logdet(L) == pytest.approx(reference, abs=tolerance)
    dense = multivariate_normal(np.zeros(n), theta).logpdf(b)
    assert log_likelihood(L, b) == pytest.approx(
        dense, abs=tolerance * (1 + b @ np.linalg.solve(theta, b))
    )


def test_log_likelihood_of_several_columns():
    x = np.random.default_rng(0).uniform(size=(30, 2))
    L, order, theta, _ = exact_factor(x, Matern(1.5, 0.2))
    Y = np.random.default_rng(1).standard_normal((30, 3))
    values = log_likelihood(L, Y)
    assert values.shape == (3,)
    for k in range(3):
        assert values[k] == pytest.approx(
            multivariate_normal(np.zeros(30), theta).logpdf(Y[:, k]), rel=1e-9
        )


@given(point_clouds(n=st.integers(3, 40), d=st.integers(1, 2)), st.integers(0, 2**31))
def test_prediction_with_full_pattern_equals_dense_gp_regression(points, seed):
    rng = np.random.default_rng(seed)
    split = max(1, len(points) // 3)
    test_points, train = points[:split], points[split:]
    assume(len(train) >= 1 and pdist(points).min() >= 1e-3)
    kernel = Matern(0.5, 0.3)
    y = rng.standard_normal(len(train))
    mean, variance = predict(train, y, test_points, kernel, rho=np.inf)
    K = kernel(train, train)
    cross = kernel(test_points, train)
    dense_mean = cross @ np.linalg.solve(K, y)
    dense_var = 1.0 - np.sum(cross * np.linalg.solve(K, cross.T).T, axis=1)
    kappa = np.linalg.cond(kernel(points, points))
    tolerance = 10 * len(points) * kappa * EPS
    np.testing.assert_allclose(mean, dense_mean, atol=tolerance * (1 + np.abs(y).max()))
    np.testing.assert_allclose(variance, dense_var, atol=tolerance)


def test_sparse_prediction_error_is_bounded_by_the_joint_kl():
    rng = np.random.default_rng(2)
    train, test_points = rng.uniform(size=(400, 2)), rng.uniform(size=(50, 2))
    kernel = Matern(1.5, 0.1)
    y = sample(exact_factor(train, kernel)[0], rng=3)  # a draw from the prior
    y_input = np.empty_like(y)
    y_input[exact_factor(train, kernel)[1]] = y
    exact_mean, exact_var = predict(train, y_input, test_points, kernel, rho=np.inf)
    mean, variance = predict(train, y_input, test_points, kernel, rho=3.0, p=3)
    assert np.all(variance > 0)
    # The joint factor's KL bounds the error of the conditional (chain rule for KL):
    # KL_joint = KL(train marginals) + E_y KL(p(·|y) ‖ q(·|y)), and the conditional KL
    # is ½[r − 1 − log r] per marginal variance ratio r = exact/approx plus the mean
    # part ½ Δμᵀ Σ̃⁻¹ Δμ with Σ̃⁻¹ = L_pp L_ppᵀ.
    L, order, new_order = _joint_factor(train, None, test_points, kernel, 3.0, 1.5, 3, 0.0)
    # predict factors only the supernodes of the prediction columns: the same columns
    m = len(test_points)
    partial, *_ = _joint_factor(
        train, None, test_points, kernel, 3.0, 1.5, 3, 0.0, prediction_only=True
    )
    np.testing.assert_array_equal(partial[:, :m].toarray(), L[:, :m].toarray())
    assert partial.nnz < L.nnz / 2
    joint = np.concatenate([test_points[new_order], train[order]])
    kl_joint = kl_divergence(kernel(joint, joint), L)
    assert 0 < kl_joint < 1.0
    r = exact_var / variance
    assert np.all(0.5 * (r - 1 - np.log(r)) <= kl_joint)
    # the mean part holds in expectation over y ~ prior; Markov's inequality makes
    # a single draw exceed KL_joint / α with probability at most α = 1 %
    delta = (mean - exact_mean)[new_order]
    mean_part = 0.5 * np.sum((L[:m, :m].T @ delta) ** 2)
    assert mean_part <= kl_joint / 0.01


def test_samples_whiten_to_standard_normals_and_are_reproducible():
    x = np.random.default_rng(3).uniform(size=(25, 2))
    L, *_ = exact_factor(x, Matern(1.5, 0.2))
    n_samples = 20_000
    white = L.T @ sample(L, size=n_samples, rng=11)  # (25, n): Lᵀx ~ N(0, I)
    empirical = white @ white.T / n_samples
    # standard error of a sample covariance entry of N(0, I): sqrt((1 + δ_ij) / n)
    stderr = np.sqrt((1.0 + np.eye(25)) / n_samples)
    assert np.all(np.abs(empirical - np.eye(25)) < 5 * stderr)
    np.testing.assert_array_equal(sample(L, size=3, rng=4), sample(L, size=3, rng=4))
    assert sample(L, rng=11).shape == (25,)


def test_sample_covariance_matches_the_model():
    x = np.random.default_rng(4).uniform(size=(6, 2))
    L, order, theta, _ = exact_factor(x, Matern(0.5, 0.5))
    n_samples = 40_000
    draws = sample(L, size=n_samples, rng=5)
    empirical = draws @ draws.T / n_samples
    # standard error of a sample covariance entry: sqrt((Σ_ii Σ_jj + Σ_ij²) / n)
    stderr = np.sqrt((np.outer(np.diag(theta), np.diag(theta)) + theta**2) / n_samples)
    assert np.all(np.abs(empirical - theta) < 5 * stderr)
