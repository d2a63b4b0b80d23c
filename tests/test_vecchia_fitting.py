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


# --- options checked by name; the optimizer's evaluations skip the checks (issue 23) -------


@pytest.mark.parametrize(
    "options, key",
    [
        ({"maxiter": -1}, "maxiter"),  # ran: the outside sweep's example
        ({"maxiter": 0}, "maxiter"),
        ({"maxiter": 2.5}, "maxiter"),
        ({"maxiter": True}, "maxiter"),
        ({"maxiter": "5"}, "maxiter"),  # TypeError inside SciPy
        ({"maxfun": 0}, "maxfun"),
        ({"maxfun": None}, "maxfun"),
        ({"ftol": np.nan}, "ftol"),
        ({"gtol": 0.0}, "gtol"),
        ({"gtol": 1e-5 + 0j}, "gtol"),
    ],
)
def test_each_option_value_is_checked_by_its_name(options, key):
    x, y = draw(30, 5)
    with pytest.raises(ValueError, match=rf"^options\['{key}'\]: "):
        fit_hyperparameters(x, y, rho=2.0, options=options)


def test_initial_values_are_named_by_their_key():
    """A per-coordinate initial length scale without anisotropic=True raised NumPy's
    broadcasting error; other bad values named only `initial`."""
    x, y = draw(30, 5)
    with pytest.raises(ValueError, match=r"^initial\['length_scale'\]: expected 2 positive"):
        fit_hyperparameters(x, y, rho=2.0, initial={"length_scale": np.array([0.1, 0.2])})
    with pytest.raises(ValueError, match=r"^initial\['variance'\]: "):
        fit_hyperparameters(x, y, rho=2.0, initial={"variance": -1.0})


def test_a_length_scale_of_the_wrong_dimension_is_blamed_on_length_scale():
    """It was blamed on `points`, which the caller of the likelihood never passes."""
    x, y = draw(30, 5)
    like = VecchiaLikelihood(x, y, rho=2.0)
    with pytest.raises(ValueError, match=r"^length_scale: expected one length scale or 2"):
        like(1.0, np.array([0.1, 0.2, 0.3]), 0.01)


def test_the_optimizer_evaluates_without_the_public_checks(monkeypatch):
    """Inside the optimizer the likelihood is the unchecked evaluation, bitwise the value of
    the checked call (factor and log-likelihood of refimpl.vecchia)."""
    from refimpl import vecchia

    x, y = draw(40, 6)
    like = VecchiaLikelihood(x, y, rho=2.0)
    for args in [(1.0, 0.2, 0.01), (2.0, np.array([0.1, 0.3]), 0.0)]:
        kernel = Matern(1.5, args[1], args[0])
        L = vecchia.supernodal_kl_factor(like.points, kernel, like.groups, nugget=args[2])
        assert like(*args) == vecchia.log_likelihood(L, like.y)

    def checked(*args, **kwargs):
        raise AssertionError("a checked public function ran inside the optimizer")

    monkeypatch.setattr(VecchiaLikelihood, "__call__", checked)
    monkeypatch.setattr(vecchia, "supernodal_kl_factor", checked)
    monkeypatch.setattr(vecchia, "log_likelihood", checked)
    fit = fit_hyperparameters(x, y, rho=2.0, options={"maxiter": 3})
    assert np.isfinite(fit.log_likelihood)
