"""Fitting Matérn hyperparameters with the Vecchia likelihood.

Closed forms: with ρ = ∞ the Vecchia likelihood is the dense Gaussian one, so its
values and its optimum are the dense ones. Statistics: on data drawn from a known
Matérn the sparse estimate lies within the spread of the dense estimator over
repeated draws.
"""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

from refimpl.vecchia import Matern
from refimpl.vecchia.fitting import VecchiaLikelihood, fit_hyperparameters

TRUE = {"variance": 1.5, "length_scale": 0.15, "noise": 0.05}


def draw(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2))
    sigma = Matern(1.5, TRUE["length_scale"], TRUE["variance"])(x, x) + TRUE["noise"] * np.eye(n)
    return x, np.linalg.cholesky(sigma) @ rng.standard_normal(n)


def dense_log_likelihood(x, y, variance, length_scale, noise):
    sigma = Matern(1.5, length_scale, variance)(x, x) + noise * np.eye(len(x))
    factor = scipy.linalg.cho_factor(sigma, lower=True)
    quadratic = y @ scipy.linalg.cho_solve(factor, y)
    logdet = 2 * np.sum(np.log(np.diag(factor[0])))
    return -0.5 * (quadratic + logdet + len(x) * math.log(2 * math.pi))


def dense_fit(x, y, x0):
    def objective(t):
        return -dense_log_likelihood(x, y, math.exp(t[0]), math.exp(t[1]), math.exp(t[2]))

    bounds = [(v - 12.0, v + 12.0) for v in x0]
    return scipy.optimize.minimize(objective, x0, method="L-BFGS-B", bounds=bounds)


@pytest.mark.parametrize("params", [(1.0, 0.1, 0.01), (2.0, 0.3, 0.5), (0.5, 0.05, 1e-3)])
def test_likelihood_at_rho_inf_is_the_dense_likelihood(params):
    x, y = draw(150, 0)
    like = VecchiaLikelihood(x, y, nu=1.5, rho=np.inf)
    assert like(*params) == pytest.approx(dense_log_likelihood(x, y, *params), rel=1e-9)


def test_optimum_at_rho_inf_is_the_dense_optimum():
    x, y = draw(150, 1)
    fit = fit_hyperparameters(x, y, nu=1.5, rho=np.inf)
    x0 = fit.optimizer.x  # the dense optimizer must not move from the sparse optimum ...
    dense = dense_fit(x, y, x0)
    assert np.allclose(dense.x, x0, atol=1e-3)
    # ... and a dense fit from the same default start lands on the same point
    start = [
        math.log(np.var(y)),
        math.log(0.1 * np.linalg.norm(np.ptp(x, axis=0))),
        math.log(0.1 * np.var(y)),
    ]
    assert np.allclose(dense_fit(x, y, np.array(start)).x, x0, atol=2e-2)
    assert fit.log_likelihood == pytest.approx(-dense.fun, abs=1e-4)
    assert fit.optimizer.success


def test_estimates_recover_the_truth_within_the_spread_of_the_dense_estimator():
    n, draws = 150, 5
    dense = []
    for seed in range(draws):
        x, y = draw(n, 100 + seed)
        start = np.log([np.var(y), 0.1 * np.linalg.norm(np.ptp(x, axis=0)), 0.1 * np.var(y)])
        dense.append(dense_fit(x, y, start).x)
    dense = np.array(dense)  # (draws, 3) log-estimates
    spread = dense.std(axis=0, ddof=1)
    x, y = draw(n, 100)
    fit = fit_hyperparameters(x, y, nu=1.5, rho=3.0, p=3)
    estimate = np.log([fit.variance, fit.length_scale, fit.noise])
    truth = np.log([TRUE["variance"], TRUE["length_scale"], TRUE["noise"]])
    assert np.all(np.abs(estimate - truth) <= 3 * spread), (estimate, truth, spread)
    # and the sparse estimate is close to the dense one on the same draw
    assert np.all(np.abs(estimate - dense[0]) <= spread)


def test_fixed_noise_and_anisotropic_length_scales():
    x, y = draw(150, 2)
    fit = fit_hyperparameters(x, y, rho=3.0, noise=TRUE["noise"], anisotropic=True)
    assert fit.noise == TRUE["noise"]
    assert fit.length_scale.shape == (2,)
    assert len(fit.optimizer.x) == 3  # log variance and two log length scales
    assert np.all(np.abs(np.log(fit.length_scale / TRUE["length_scale"])) < 1.0)


def test_bad_input():
    x, y = draw(40, 3)
    with pytest.raises(ValueError, match="options"):
        fit_hyperparameters(x, y, options={"tolerance": 1e-6})
    with pytest.raises(ValueError, match="noise"):
        fit_hyperparameters(x, y, noise=-1.0)
    with pytest.raises(ValueError, match="initial"):
        fit_hyperparameters(x, y, initial={"length_scale": -1.0})
    with pytest.raises(ValueError, match="y"):
        VecchiaLikelihood(x, y[:-1])
