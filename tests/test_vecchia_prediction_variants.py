"""Prediction with the prediction points not in the ordering, ordered first, ordered last.

With ρ = ∞ every variant is exact GP regression (closed form, dense); with finite ρ
the variant "first" is what ``predict`` computes, and all three errors fall as ρ
grows.
"""

import numpy as np
import pytest

from refimpl.vecchia import Matern, predict
from refimpl.vecchia.prediction import VARIANTS, predict_variant


def setting(n=200, m=30, seed=0, nu=1.5, length_scale=0.2):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2))
    new = rng.uniform(size=(m, 2))
    kernel = Matern(nu, length_scale)
    y = np.linalg.cholesky(kernel(x, x) + 1e-10 * np.eye(n)) @ rng.standard_normal(n)
    return x, y, new, kernel


def exact(x, y, new, kernel, nugget=0.0):
    K = kernel(x, x) + nugget * np.eye(len(x))
    cross = kernel(new, x)
    mean = cross @ np.linalg.solve(K, y)
    variance = kernel.variance + nugget - np.sum(cross * np.linalg.solve(K, cross.T).T, axis=1)
    return mean, variance


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("nugget", [0.0, 0.05])
def test_every_variant_is_exact_at_rho_inf(variant, nugget):
    x, y, new, kernel = setting(n=120, m=15)
    mean, variance = predict_variant(x, y, new, kernel, np.inf, nugget=nugget, variant=variant)
    true_mean, true_variance = exact(x, y, new, kernel, nugget)
    # κ(Θ) ≈ 1e6 for these points (Matérn-3/2, l = 0.2): allow 1e-6 relative
    assert np.abs(mean - true_mean).max() <= 1e-6 * np.abs(true_mean).max()
    assert np.abs(variance - true_variance).max() <= 1e-6


def test_variant_first_is_predict():
    x, y, new, kernel = setting()
    mean, variance = predict_variant(x, y, new, kernel, 2.0, p=3, variant="first")
    reference_mean, reference_variance = predict(x, y, new, kernel, 2.0, p=3)
    assert np.allclose(mean, reference_mean, rtol=1e-10, atol=1e-12)
    assert np.allclose(variance, reference_variance, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_errors_fall_as_rho_grows(variant):
    x, y, new, kernel = setting(n=300, m=40)
    true_mean, _ = exact(x, y, new, kernel)
    errors = [
        np.abs(predict_variant(x, y, new, kernel, rho, p=3, variant=variant)[0] - true_mean).max()
        for rho in (1.5, 3.0, 6.0)
    ]
    assert errors[0] > errors[2]
    assert errors[2] < 0.05 * np.abs(true_mean).max()


def test_first_and_last_give_positive_variances():
    x, y, new, kernel = setting(n=300, m=40)
    for variant in ("first", "last"):
        _, variance = predict_variant(x, y, new, kernel, 2.0, p=3, variant=variant)
        assert np.all(variance > 0)


def test_bad_input():
    x, y, new, kernel = setting(n=30, m=5)
    with pytest.raises(ValueError, match="variant"):
        predict_variant(x, y, new, kernel, 2.0, variant="middle")
    with pytest.raises(ValueError, match="new_points"):
        predict_variant(x, y, x[:3], kernel, 2.0, variant="first")
    with pytest.raises(ValueError, match="y"):
        predict_variant(x, y[:-1], new, kernel, 2.0)
    # "none" does not put the prediction points in the ordering: training points are fine
    mean, _ = predict_variant(x, y, x[:3], kernel, np.inf, variant="none")
    assert np.allclose(mean, y[:3], atol=1e-6)
