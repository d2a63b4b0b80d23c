"""Noisy observations: zero fill-in incomplete Cholesky, the naive factor, divergences.

Closed forms: on the full pattern the incomplete factor is the Cholesky factor; on
any pattern C Cᵀ reproduces A there; with ρ = ∞ every approximation is exact, so
the posterior mean equals dense GP regression and both divergences equal the dense
KL. Tolerances come from backward stability of Cholesky (n · eps · κ).
"""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from refimpl.vecchia import Matern, Pattern, dense_inverse_cholesky, full_pattern, kl_divergence
from refimpl.vecchia.incomplete_factorization import incomplete_cholesky, lower_triangle_pattern
from refimpl.vecchia.noise import (
    naive_kl_cholesky,
    noise_factor,
    noisy_kl_cholesky,
    noisy_precision,
)
from refimpl.vecchia.noise_kl import (
    expected_log_likelihood_error,
    noisy_covariance,
    noisy_kl_divergences,
    woodbury_kl_divergence,
    woodbury_precision,
)
from refimpl.vecchia.noisy_posterior import noisy_posterior_mean

EPS = np.finfo(float).eps


def dense_kl(sigma, approx):
    """KL(N(0, Σ) ‖ N(0, approx)) from the dense closed form."""
    n = sigma.shape[0]
    _, logdet_a = np.linalg.slogdet(approx)
    _, logdet_s = np.linalg.slogdet(sigma)
    return 0.5 * (np.trace(np.linalg.solve(approx, sigma)) + logdet_a - logdet_s - n)


def noisy_setting(n=300, seed=0, length_scale=0.3, nu=1.5):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2))
    noise = np.exp(rng.standard_normal(n)) * 0.1
    return x, noise, Matern(nu, length_scale)


# ----------------------------------------------------------------- incomplete Cholesky


@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_full_pattern_gives_the_cholesky_factor(n, seed):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    A = B @ B.T + n * np.eye(n)  # κ(A) ≤ (‖B‖² + n) / n, at most ~10 here
    C = incomplete_cholesky(sp.csc_matrix(A), full_pattern(n)).toarray()
    kappa = np.linalg.cond(A)
    assert np.abs(C - np.linalg.cholesky(A)).max() <= 50 * n * EPS * kappa * np.sqrt(
        np.abs(A).max()
    )


@given(st.integers(2, 25), st.floats(0.05, 0.6), st.integers(0, 2**32 - 1))
def test_product_equals_a_on_the_pattern(n, density, seed):
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, density=density, random_state=rng, data_rvs=rng.standard_normal)
    M = sp.tril(M + M.T, k=-1)
    off = M + M.T
    # strictly diagonally dominant (an H-matrix): zero fill-in IC exists on any pattern
    diagonal = np.asarray(abs(off).sum(axis=1)).ravel() + 1.0
    A = (off + sp.diags(diagonal)).tocsc()
    keep = rng.uniform(size=off.nnz) < 0.7  # drop some entries of A from the pattern
    pattern_matrix = sp.coo_matrix(
        (np.ones(keep.sum()), (off.tocoo().row[keep], off.tocoo().col[keep])), shape=(n, n)
    )
    pattern = lower_triangle_pattern(pattern_matrix)
    C = incomplete_cholesky(A, pattern)
    product = (C @ C.T).toarray()
    rows = pattern.indices
    cols = np.repeat(np.arange(n), np.diff(pattern.indptr))
    scale = np.abs(A).max()
    assert np.abs(product[rows, cols] - A.toarray()[rows, cols]).max() <= 100 * n * EPS * scale
    assert sp.triu(C, k=1).nnz == 0 and C.nnz == pattern.nnz


def test_default_pattern_is_the_lower_triangle_of_a():
    A = sp.csc_matrix(np.array([[4.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 4.0]]))
    C = incomplete_cholesky(A)  # tridiagonal: no fill-in, so the factor is exact
    assert np.allclose(C.toarray(), np.linalg.cholesky(A.toarray()), atol=1e-15)


def test_ic_of_a_dropped_update_by_hand():
    # A = [[4,2,2],[2,5,0],[2,0,5]] on the pattern without (2, 1): C_21 would be
    # (0 − 1·1)/2 in the exact factor, and the update of A_22 by C_21² is the only
    # one lost. By hand: C = [[2,0,0],[1,2,0],[1,0,2]].
    A = np.array([[4.0, 2.0, 2.0], [2.0, 5.0, 0.0], [2.0, 0.0, 5.0]])
    pattern = Pattern(np.array([0, 3, 4, 5]), np.array([0, 1, 2, 1, 2]))
    C = incomplete_cholesky(A, pattern).toarray()
    assert np.allclose(C, [[2, 0, 0], [1, 2, 0], [1, 0, 2]], atol=1e-15)


def test_lower_triangle_pattern_of_a_product():
    L = sp.csc_matrix(np.array([[1.0, 0, 0], [1.0, 1.0, 0], [0, 1.0, 1.0]]))
    P = lower_triangle_pattern(L @ L.T)
    # LLᵀ = [[1,1,0],[1,2,1],[0,1,2]]: lower triangle (0,0),(1,0),(1,1),(2,1),(2,2)
    assert P.indptr.tolist() == [0, 2, 4, 5] and P.indices.tolist() == [0, 1, 1, 2, 2]


# ----------------------------------------------------------------- bad input


def test_breakdown_names_the_column_and_the_remedies():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # indefinite: pivot 1 − 4 in column 1
    with pytest.raises(np.linalg.LinAlgError, match="column 1") as info:
        incomplete_cholesky(A, full_pattern(2))
    message = str(info.value)
    assert "rho" in message and "denser pattern" in message and "diagonal shift" in message


def unchecked_pattern(indptr, indices):
    """A Pattern built around its own validation, as a foreign or stale object could be."""
    pattern = object.__new__(Pattern)
    object.__setattr__(pattern, "indptr", np.asarray(indptr))
    object.__setattr__(pattern, "indices", np.asarray(indices))
    return pattern


@pytest.mark.parametrize(
    "indptr, indices",
    [([0, 2, 2], [0, 1]), ([0, 1, 2], [1, 1]), ([0, 2, 3], [0, 0, 1]), ([0, 1, 2], [0, 5])],
    ids=["empty column", "no diagonal", "repeated row", "row out of range"],
)
def test_pattern_without_the_diagonal_is_refused(indptr, indices):
    with pytest.raises(ValueError, match="pattern"):
        incomplete_cholesky(np.eye(2), unchecked_pattern(indptr, indices))


@pytest.mark.parametrize(
    "noise", [np.array([0.1, np.nan, 0.1]), np.array([0.1, -1.0, 0.1]), np.ones(2), 0.0]
)
def test_noise_must_be_finite_positive_and_of_the_right_length(noise):
    with pytest.raises(ValueError, match="noise"):
        noisy_precision(np.eye(3), noise)


# ----------------------------------------------------------------- exactness at rho = inf


def test_exact_factors_give_exact_covariance_and_divergences():
    x, noise, kernel = noisy_setting(n=60)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=np.inf)
    theta = kernel(x[order], x[order])
    sigma = theta + np.diag(noise[order])
    X = noisy_covariance(L, C, noise[order])
    assert np.abs(X - sigma).max() <= 1e-8 * np.abs(sigma).max() * np.linalg.cond(theta) ** 0.5
    scores = noisy_kl_divergences(theta, noise[order], L, C)
    assert abs(scores["expected_log_likelihood_error"]) < 1e-6
    assert abs(scores["woodbury_kl"]) < 1e-6
    assert scores["woodbury_min_eigenvalue"] > 0


def test_score_equals_the_kl_whenever_c_is_exact():
    # an inexact L (ρ = 2) with the exact C of L Lᵀ + R⁻¹ (full pattern)
    x, noise, kernel = noisy_setting(n=120)
    L, _, order = noisy_kl_cholesky(x, kernel, noise, rho=2.0)
    n = len(x)
    C = noise_factor(L, noise[order], full_pattern(n))
    theta = kernel(x[order], x[order])
    sigma = theta + np.diag(noise[order])
    approx = np.linalg.inv((L @ L.T).toarray()) + np.diag(noise[order])
    truth = dense_kl(sigma, approx)
    assert truth > 1e-3  # the test can fail: L is not exact
    assert expected_log_likelihood_error(theta, noise[order], L, C) == pytest.approx(truth, 1e-6)
    assert woodbury_kl_divergence(theta, noise[order], L, C) == pytest.approx(truth, 1e-6)


def test_naive_factor_at_rho_inf_is_the_inverse_cholesky_of_theta_plus_r():
    x, noise, kernel = noisy_setting(n=50)
    L, order = naive_kl_cholesky(x, kernel, noise, rho=np.inf)
    sigma = kernel(x[order], x[order]) + np.diag(noise[order])
    assert np.allclose(L.toarray(), dense_inverse_cholesky(sigma), atol=1e-8)


@pytest.mark.parametrize("form", ["paper", "precision"])
@pytest.mark.parametrize("method", ["direct", "pcg", "cg"])
def test_posterior_mean_is_dense_gp_regression_at_rho_inf(method, form):
    x, noise, kernel = noisy_setting(n=80)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=np.inf)
    y = np.random.default_rng(1).standard_normal(len(x))
    theta = kernel(x[order], x[order])
    exact = theta @ np.linalg.solve(theta + np.diag(noise[order]), y[order])
    mean, _ = noisy_posterior_mean(
        L, C, noise[order], y[order], method=method, form=form, tol=1e-12
    )
    assert np.abs(mean - exact).max() <= 1e-6 * np.abs(exact).max()


def test_the_two_forms_of_the_posterior_mean_agree():
    # μ = L⁻ᵀL⁻¹R⁻¹A⁻¹LLᵀy equals A⁻¹R⁻¹y for any L when A = LLᵀ + R⁻¹ is applied exactly
    x, noise, kernel = noisy_setting(n=100)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=2.0)
    y = np.random.default_rng(2).standard_normal(len(x))
    A = noisy_precision(L, noise[order]).toarray()
    mean, _ = noisy_posterior_mean(L, C, noise[order], y[order], method="pcg", tol=1e-13)
    assert np.allclose(mean, np.linalg.solve(A, y[order] / noise[order]), rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------- approximation quality


def test_direct_paper_form_amplifies_the_incomplete_factor_error():
    # measured (N = 300, l = 0.5, noise std exp(z_i), ρ = 3, pattern of L): largest error
    # 24 for the paper's form applied directly, 0.16 for the precision form, 0.07 for PCG
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(300, 2))
    noise = np.exp(2 * rng.standard_normal(300))
    kernel = Matern(1.5, 0.5)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, 3.0)
    theta = kernel(x[order], x[order])
    sigma = theta + np.diag(noise[order])
    y = np.linalg.cholesky(sigma) @ rng.standard_normal(300)
    exact = theta @ np.linalg.solve(sigma, y)
    errors = {
        (method, form): np.abs(
            noisy_posterior_mean(L, C, noise[order], y, method=method, form=form)[0] - exact
        ).max()
        for method in ("direct", "pcg")
        for form in ("paper", "precision")
    }
    scale = np.abs(exact).max()
    assert errors["direct", "paper"] > 3 * scale  # unusable
    assert errors["direct", "precision"] < 0.2 * scale
    assert errors["pcg", "paper"] < 0.1 * scale
    assert errors["pcg", "paper"] == pytest.approx(errors["pcg", "precision"], rel=1e-3, abs=1e-6)


def test_pcg_needs_fewer_iterations_than_cg():
    x, noise, kernel = noisy_setting(n=400)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=3.0)
    y = np.random.default_rng(3).standard_normal(len(x))
    _, plain = noisy_posterior_mean(L, C, noise[order], y[order], method="cg", tol=1e-8)
    _, preconditioned = noisy_posterior_mean(L, C, noise[order], y[order], method="pcg", tol=1e-8)
    assert preconditioned < plain
    assert preconditioned <= 20  # measured 4–6: C is close to the Cholesky factor of A


def test_score_falls_as_rho_grows():
    x, noise, kernel = noisy_setting(n=300, length_scale=0.3)
    scores = []
    for rho in (1.5, 2.5, 4.0):
        L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=rho)
        theta = kernel(x[order], x[order])
        scores.append(expected_log_likelihood_error(theta, noise[order], L, C))
    assert scores[0] > scores[1] > scores[2] > 0


def test_incomplete_cholesky_beats_the_naive_factor_with_heteroscedastic_noise():
    # the paper's claim, at small scale: N = 400, l = 0.5, noise variances exp(z_i),
    # Matérn-3/2, ρ = 3
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(400, 2))
    noise = np.exp(rng.standard_normal(400))
    kernel = Matern(1.5, 0.5)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=3.0)
    naive, naive_order = naive_kl_cholesky(x, kernel, noise, rho=3.0)
    assert np.array_equal(order, naive_order)
    theta = kernel(x[order], x[order])
    sigma = theta + np.diag(noise[order])
    naive_kl = kl_divergence(sigma, naive)
    assert naive_kl == pytest.approx(
        dense_kl(sigma, np.linalg.inv((naive @ naive.T).toarray())), rel=1e-6
    )
    score = expected_log_likelihood_error(theta, noise[order], L, C)
    assert naive_kl > 10 * score


def test_woodbury_form_can_be_indefinite_with_an_inexact_c():
    # measured: N = 300, l = 0.5, noise std exp(z_i), ρ = 3, pattern of L: the smallest
    # eigenvalue of I − GᵀG is −0.0085, so the symmetric (Woodbury) form is not a covariance
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(300, 2))
    noise = np.exp(2 * rng.standard_normal(300))
    kernel = Matern(1.5, 0.5)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=3.0)
    theta = kernel(x[order], x[order])
    out = noisy_kl_divergences(theta, noise[order], L, C)
    assert out["woodbury_min_eigenvalue"] < 0
    assert np.linalg.eigvalsh(woodbury_precision(C, noise[order]))[0] < 0  # independent check
    assert out["woodbury_kl"] is None
    with pytest.raises(np.linalg.LinAlgError, match="infinite"):
        woodbury_kl_divergence(theta, noise[order], L, C)
    assert 0 < out["expected_log_likelihood_error"] < 1  # measured 0.24: still informative


def test_woodbury_kl_exceeds_the_score_where_both_are_defined():
    # measured (N = 500, ρ = 2): Woodbury KL 33.6 against a score of 0.78
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(500, 2))
    noise = np.exp(rng.standard_normal(500))
    kernel = Matern(1.5, 0.5)
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=2.0)
    theta = kernel(x[order], x[order])
    out = noisy_kl_divergences(theta, noise[order], L, C)
    sigma = theta + np.diag(noise[order])
    truth = dense_kl(sigma, np.linalg.inv(woodbury_precision(C, noise[order])))
    assert out["woodbury_kl"] == pytest.approx(truth, rel=1e-6)
    assert out["woodbury_kl"] > 10 * out["expected_log_likelihood_error"]


def test_product_pattern_is_at_least_as_accurate_as_the_factor_pattern():
    x, noise, kernel = noisy_setting(n=300, length_scale=0.5)
    scores = {}
    for pattern in ("factor", "product"):
        L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=2.0, pattern=pattern)
        theta = kernel(x[order], x[order])
        scores[pattern] = expected_log_likelihood_error(theta, noise[order], L, C)
    assert C.nnz >= L.nnz
    assert scores["product"] <= scores["factor"] * 1.05


def test_noisy_precision_is_the_dense_sum():
    L = sp.csc_matrix(np.array([[2.0, 0.0], [-1.0, 1.5]]))
    noise = np.array([0.5, 2.0])
    expected = L.toarray() @ L.toarray().T + np.diag(1 / noise)
    assert np.allclose(noisy_precision(L, noise).toarray(), expected, atol=1e-15)
    assert scipy.linalg.issymmetric(noisy_precision(L, noise).toarray())


# ----------------------------------------------------------------- the figure's numbers


def test_noise_figure_numbers_match_an_independent_dense_computation(tmp_path):
    import json

    from refimpl import figures as registry

    (figure,) = [f for f in registry.discover() if f.name == "vecchia_noise_kl"]
    registry.load(figure)(tmp_path, quick=True)
    data = json.loads((tmp_path / "vecchia_noise_kl.json").read_text())
    entry = data["kernels"]["matern_1.5"]
    at = entry["rho"].index(3.0)
    reported = entry["by_rho"][at]
    rng = np.random.default_rng(data["seed"])
    x = rng.uniform(size=(data["n"], 2))
    noise = np.exp(rng.standard_normal(data["n"]))  # variances exp(z_i), as the figure says
    kernel = Matern(1.5, data["length_scale"])
    # naive: the dense KL of the factor of Θ + R
    naive, order = naive_kl_cholesky(x, kernel, noise, 3.0, lam=data["lam"])
    sigma = kernel(x[order], x[order]) + np.diag(noise[order])
    approx = np.linalg.inv((naive @ naive.T).toarray())
    assert reported["naive_kl"] == pytest.approx(dense_kl(sigma, approx), rel=1e-6)
    # IC on the pattern of L: the score from dense matrices, X = (LLᵀ)⁻¹ CCᵀ R
    L, C, order = noisy_kl_cholesky(x, kernel, noise, 3.0, lam=data["lam"])
    X = np.linalg.solve((L @ L.T).toarray(), (C @ C.T).toarray()) * noise[order][None, :]
    _, logdet_x = np.linalg.slogdet(X)
    _, logdet_s = np.linalg.slogdet(sigma)
    score = 0.5 * (np.trace(np.linalg.solve(X, sigma)) + logdet_x - logdet_s - len(x))
    assert reported["ic_factor_score"] == pytest.approx(score, rel=1e-5, abs=1e-8)
    assert reported["naive_kl"] > 10 * reported["ic_factor_score"]


# ----------------------------------------------------- the maths' preconditions (issue 23)

SMALL = noisy_setting(n=40, seed=4)


def _small_factors():
    x, noise, kernel = SMALL
    L, C, order = noisy_kl_cholesky(x, kernel, noise, rho=2.0)
    return kernel(x[order], x[order]), noise[order], L, C


@pytest.mark.parametrize(
    "measure", [expected_log_likelihood_error, woodbury_kl_divergence, noisy_kl_divergences]
)
def test_every_noisy_measure_refuses_an_asymmetric_theta(measure):
    """theta was read as it came: an asymmetric one gave a number (Σ = Θ + R is a
    covariance only for symmetric Θ); now the same check as kl_divergence's."""
    theta, noise, L, C = _small_factors()
    asymmetric = theta + np.triu(np.full_like(theta, 0.01), 1)
    with pytest.raises(ValueError, match=r"^theta: expected a symmetric matrix"):
        measure(asymmetric, noise, L, C)
    with pytest.raises(ValueError, match=r"^theta: expected a symmetric matrix"):
        kl_divergence(asymmetric, L)  # the same words on the noise-free path
    measure(theta + 1e-14 * np.triu(theta, 1), noise, L, C)  # symmetric to rounding: fine


def _complex_kernel(X, Y=None):
    return Matern(1.5, 0.3)(X, Y) + 1e-3j


def _scalar_kernel(X, Y=None):
    return 1.0


@pytest.mark.parametrize("kernel", [_complex_kernel, _scalar_kernel], ids=["complex", "scalar"])
def test_naive_and_noisy_factors_refuse_a_bad_kernel_alike(kernel):
    """naive_kl_cholesky cast the kernel's block to float, dropping an imaginary part that
    noisy_kl_cholesky refuses, and broadcast a scalar to a block of ones."""
    x, noise, _ = SMALL
    errors = []
    for factor in (noisy_kl_cholesky, naive_kl_cholesky):
        with pytest.raises(ValueError, match=r"^kernel: ") as caught:
            factor(x, kernel, noise, rho=2.0)
        errors.append(str(caught.value).rsplit("it returned", 1)[-1])
    assert errors[0] == errors[1]  # the same diagnosis on both paths


def test_factor_mismatches_name_what_they_are_matched_against():
    """woodbury_precision said `noise: ... to match L`, but it takes no L; a short L was
    blamed on C alone."""
    theta, noise, L, C = _small_factors()
    with pytest.raises(ValueError, match=r"^noise: expected 40 noise variances to match C"):
        woodbury_precision(C, noise[:-1])
    short = sp.csc_matrix(L.toarray()[:-1, :-1])
    with pytest.raises(ValueError, match=r"^C: expected shape \(39, 39\) to match L"):
        noisy_posterior_mean(short, C, noise[:-1], np.zeros(39))
    with pytest.raises(ValueError, match=r"^C: expected shape \(39, 39\) to match L"):
        noisy_covariance(short, C, noise[:-1])
