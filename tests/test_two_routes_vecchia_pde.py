"""Pairs of routes to one quantity in ``refimpl.vecchia`` and ``refimpl.pde`` agree.

Each test computes one quantity two ways (a front door and its hand-run steps, a fast
path and a general one, a chunked loop and one block, two solvers, two formulas) and
checks that the two agree. Where both routes run the same arithmetic the check is exact;
elsewhere the tolerance is derived in the test's docstring (rounding: ε times a count of
operations, a size and a condition number computed from the inputs; iterative solvers:
their stopping residual times the sensitivity of the answer) and written in the body as
``atol = ...``.
"""

import unittest.mock

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl.pde import (
    CollocationSystem,
    MeasurementKernel,
    Measurements,
    NonlinearElliptic,
    RadialDerivatives,
    SparseSolver,
    concatenate,
    first_derivatives,
    kernel_matvec,
    solve,
)
from refimpl.pde import dense as pde_dense
from refimpl.vecchia import (
    Gaussian,
    Matern,
    ball_pattern,
    conditional_maximin_ordering,
    diagnostics,
    full_pattern,
    kl_cholesky,
    kl_factor,
    maximin_ordering,
    maximin_ordering_brute_force,
    naive_kl_cholesky,
    noise_factor,
    noisy_covariance,
    noisy_kl_cholesky,
    noisy_kl_divergences,
    noisy_posterior_mean,
    noisy_precision,
    predict_variant,
    supernodal_kl_factor,
    supernodes,
    woodbury_precision,
)
from tests.strategies import point_clouds, seeds

EPS = np.finfo(float).eps

# Kernels whose blocks stay well enough conditioned on point_clouds for a rounding bound
# to be far below a relative perturbation of 1e-6 on most draws.
POINT_KERNELS = [Matern(0.5, 0.3), Matern(1.5, 0.2), Matern(0.5, 0.1), Matern(1.5, 0.1)]
# Measurement kernels with second derivatives (Laplacians need order 2).
SMOOTH_KERNELS = [Matern(2.5, 0.5), Matern(3.5, 0.3), Gaussian(0.4), Matern(2.5, 0.8, 2.0)]


def ordered(points, p=1):
    order, lengths = maximin_ordering(points, p=p)
    return points[order], lengths


def noise_variances(seed, n):
    # heteroscedastic, as in the paper's experiments: σ = exp(z) / √10
    return 0.1 * np.exp(np.random.default_rng(seed).standard_normal(n))


def exact_noise_setting(points, kernel, rho, seed):
    """An inexact L (finite ρ) with the exact C of L Lᵀ + R⁻¹ (the full pattern)."""
    L, order = kl_cholesky(points, kernel, rho)
    noise = noise_variances(seed, len(points))[order]
    C = noise_factor(L, noise, full_pattern(len(points)))
    return L, C, noise, order


# ----------------------------------------------------------------- vecchia: factors


@given(
    point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)),
    st.sampled_from(POINT_KERNELS),
    st.floats(1.0, 4.0),
    st.floats(1.0, 3.0),
    st.integers(1, 3),
    st.sampled_from([0.0, 1e-6]),
)
def test_kl_cholesky_is_the_hand_run_pipeline_of_its_four_steps(
    points, kernel, rho, lam, p, nugget
):
    """kl_cholesky = maximin_ordering → ball_pattern → supernodes → supernodal_kl_factor.

    The front door calls the same four steps on the same arrays, so order and factor are
    equal bit for bit (``assert_array_equal``).
    """
    L, order = kl_cholesky(points, kernel, rho, lam=lam, p=p, nugget=nugget)
    hand_order, lengths = maximin_ordering(points, p=p)
    x = points[hand_order]  # the factor lives in the elimination order
    groups = supernodes(ball_pattern(x, lengths, rho), lengths, lam)
    hand = supernodal_kl_factor(x, kernel, groups, nugget=nugget)
    np.testing.assert_array_equal(order, hand_order)
    np.testing.assert_array_equal(L.toarray(), hand.toarray())


@given(
    point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)),
    st.sampled_from(POINT_KERNELS),
    st.floats(1.0, 4.0),
    st.integers(1, 3),
)
def test_supernodes_at_lambda_one_give_the_column_factor_on_the_ball_pattern(
    points, kernel, rho, p
):
    """At λ = 1 a column k joins leader j only if k ∈ s_j and l_k = l_j (lengths do not
    decrease). With distinct finite lengths (random points) only the last p columns, of
    infinite length, are merged, and column N − p's ball is already every later row: the
    enlarged pattern is the ρ-ball pattern, and the supernodal factor is kl_factor on it.
    The two factor the same blocks, padded and batched differently: each column solves
    with a block Θ_ss, κ(Θ_ss) ≤ κ(Θ) (interlacing), so they differ by at most
    ``10 * n * cond * EPS`` times the largest entry.
    """
    x, lengths = ordered(points, p)
    finite = lengths[np.isfinite(lengths)]
    assume(np.unique(finite).size == finite.size)
    pattern = ball_pattern(x, lengths, rho)
    groups = supernodes(pattern, lengths, 1.0)
    enlarged = groups.pattern()
    np.testing.assert_array_equal(enlarged.indptr, pattern.indptr)  # the stated condition
    np.testing.assert_array_equal(enlarged.indices, pattern.indices)
    supernodal = supernodal_kl_factor(x, kernel, groups)
    column = kl_factor(x, kernel, pattern)
    n = len(x)
    cond = np.linalg.cond(kernel(x, x))
    atol = 10 * n * cond * EPS * np.abs(column.data).max()
    np.testing.assert_array_equal(supernodal.indptr, column.indptr)
    np.testing.assert_array_equal(supernodal.indices, column.indices)
    assert np.abs(supernodal.data - column.data).max() <= atol


@given(
    point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)),
    st.sampled_from(POINT_KERNELS),
    seeds,
    st.floats(1.0, 4.0),
    st.floats(1.0, 3.0),
    st.integers(1, 3),
)
def test_noisy_kl_cholesky_keeps_the_noise_free_factor_of_kl_cholesky(
    points, kernel, seed, rho, lam, p
):
    """The first factor of noisy_kl_cholesky is kl_cholesky's, from the same call: exact.
    (C on the full pattern, whose Cholesky cannot break down as zero fill-in can.)
    """
    noise = noise_variances(seed, len(points))
    full = full_pattern(len(points))
    L_noisy, _, order_noisy = noisy_kl_cholesky(
        points, kernel, noise, rho, lam=lam, p=p, pattern=full
    )
    L, order = kl_cholesky(points, kernel, rho, lam=lam, p=p)
    np.testing.assert_array_equal(order_noisy, order)
    np.testing.assert_array_equal(L_noisy.toarray(), L.toarray())


@given(
    point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)),
    st.sampled_from(POINT_KERNELS),
    st.floats(1e-3, 1.0),
    st.floats(1.0, 4.0),
    st.floats(1.0, 3.0),
    st.integers(1, 3),
)
def test_naive_factor_with_constant_noise_is_kl_cholesky_with_that_nugget(
    points, kernel, variance, rho, lam, p
):
    """With the same σ² everywhere the naive factor of Θ + σ²I is kl_cholesky with nugget
    σ²: the same ordering, pattern and supernodes, and blocks k(x_a, x_b) + σ²[a = b]
    formed by the same additions (off the diagonal the naive kernel adds an exact 0).
    Exact.
    """
    naive, naive_order = naive_kl_cholesky(points, kernel, variance, rho, lam=lam, p=p)
    L, order = kl_cholesky(points, kernel, rho, lam=lam, p=p, nugget=variance)
    np.testing.assert_array_equal(naive_order, order)
    np.testing.assert_array_equal(naive.toarray(), L.toarray())


@given(
    point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)),
    st.data(),
)
def test_conditional_ordering_is_the_tail_of_the_brute_force_ordering_after_the_reference(
    points, data
):
    """Maximin of the new points after all reference points were chosen is the brute-force
    sequence of [reference; new] started from the reference points in order. Random points
    have no ties in distance, and both compute the same distances of the same (binary
    rescaled) coordinates: order and lengths are equal exactly.
    """
    m = data.draw(st.integers(1, len(points) - 1), label="new points")
    reference, new = points[:-m], points[-m:]
    p = data.draw(st.integers(1, len(reference)), label="p")
    order, lengths = conditional_maximin_ordering(new, reference, p=p)
    joint = np.concatenate([reference, new])
    n = len(reference)
    brute_order, brute_lengths = maximin_ordering_brute_force(joint, p=p, initial=range(n))
    # reversed (finest first): the new points first, then the reference in reverse
    np.testing.assert_array_equal(brute_order[m:], np.arange(n)[::-1])
    np.testing.assert_array_equal(order, brute_order[:m] - n)
    np.testing.assert_array_equal(lengths, brute_lengths[:m])


# ----------------------------------------------------------------- vecchia: prediction


@settings(max_examples=15)
@given(
    point_clouds(n=st.integers(4, 40), d=st.integers(1, 3)),
    st.sampled_from(POINT_KERNELS),
    seeds,
    st.floats(1.0, 3.0),
    st.integers(1, 3),
    st.data(),
)
def test_prediction_variants_agree_at_infinite_rho(points, kernel, seed, lam, p, data):
    """At ρ = ∞ "none", "first" and "last" are all exact GP regression, each computed from
    a Cholesky-type factorization of (a block of) the joint Θ: each is exact for a Θ
    perturbed by δ, ‖δ‖ ≤ 10·N·κ(Θ)·ε·‖Θ‖ (the rounding of a direct solve). To first
    order that moves the mean by ‖δ‖(1 + ‖B‖)‖a‖ and each variance by ‖δ‖(1 + ‖B‖)², with
    a = Θ_TT⁻¹y and B = Θ_TT⁻¹Θ_TP; two routes differ by twice that.
    """
    m = data.draw(st.integers(1, min(8, len(points) - 2)), label="new points")
    x, new = points[:-m], points[-m:]
    y = np.random.default_rng(seed).standard_normal(len(x))
    results = {
        v: predict_variant(x, y, new, kernel, np.inf, lam=lam, p=p, variant=v)
        for v in ("none", "first", "last")
    }
    joint = np.concatenate([x, new])
    theta = kernel(joint, joint)
    t = len(x)
    a = np.linalg.solve(theta[:t, :t], y)
    B = np.linalg.solve(theta[:t, :t], theta[:t, t:])
    n = len(joint)
    cond = np.linalg.cond(theta)
    size = np.linalg.norm(theta, 2)
    gain = 1 + np.linalg.norm(B, 2)
    atol_mean = 2 * 10 * n * cond * EPS * size * gain * np.linalg.norm(a)
    atol_variance = 2 * 10 * n * cond * EPS * size * gain**2
    for first, second in [("none", "first"), ("first", "last"), ("none", "last")]:
        mean_gap = np.linalg.norm(results[first][0] - results[second][0])
        assert mean_gap <= atol_mean, (first, second)
        variance_gap = np.abs(results[first][1] - results[second][1]).max()
        assert variance_gap <= atol_variance, (first, second)


# ----------------------------------------------------------------- vecchia: noisy data


@settings(max_examples=15)
@given(
    point_clouds(n=st.integers(10, 50), d=st.integers(1, 2)),
    st.sampled_from(POINT_KERNELS),
    seeds,
    st.floats(1.5, 3.0),
)
def test_posterior_mean_methods_agree_with_an_exact_noise_factor(points, kernel, seed, rho):
    """With C the exact Cholesky factor of A = LLᵀ + R⁻¹, "direct" solves A z = R⁻¹y to
    relative error 10·n·κ(A)·ε, and CG and PCG stop at relative residual ``tol``, an
    error of at most κ(A)·tol each: any two of the three differ by at most
    (2·κ(A)·tol + 10·n·κ(A)·ε)·‖μ‖ (precision form, where the mean is z itself).
    """
    L, C, noise, order = exact_noise_setting(points, kernel, rho, seed)
    y = np.random.default_rng(seed + 1).standard_normal(len(points))[order]
    n, tol = len(points), 1e-12
    means = {
        method: noisy_posterior_mean(
            L, C, noise, y, method=method, form="precision", tol=tol, maxiter=50 * n
        )[0]
        for method in ("direct", "cg", "pcg")
    }
    cond = np.linalg.cond(noisy_precision(L, noise).toarray())
    atol = (2 * cond * tol + 10 * n * cond * EPS) * np.linalg.norm(means["direct"])
    for first, second in [("direct", "cg"), ("direct", "pcg"), ("cg", "pcg")]:
        assert np.linalg.norm(means[first] - means[second]) <= atol, (first, second)


@settings(max_examples=15)
@given(
    point_clouds(n=st.integers(10, 50), d=st.integers(1, 2)),
    st.sampled_from(POINT_KERNELS),
    seeds,
    st.floats(1.5, 3.0),
)
def test_paper_and_precision_forms_of_the_posterior_mean_agree(points, kernel, seed, rho):
    """The paper's M·A⁻¹LLᵀy (M = (LLᵀ)⁻¹R⁻¹) equals A⁻¹R⁻¹y for any L. Each route solves
    with A to relative residual t = tol + 10·n·κ(A)·ε (CG's stopping rule; the backward
    error of the direct solve), so the precision form errs by ‖A⁻¹‖·t·‖R⁻¹y‖ and the
    paper's by ‖M A⁻¹‖·t·‖LLᵀy‖, plus 10·n·κ(LLᵀ)·ε·‖μ‖ for its triangular solves.
    """
    L, C, noise, order = exact_noise_setting(points, kernel, rho, seed)
    y = np.random.default_rng(seed + 1).standard_normal(len(points))[order]
    n, tol = len(points), 1e-12
    A = noisy_precision(L, noise).toarray()
    P = (L @ L.T).toarray()
    A_inv = np.linalg.inv(A)
    gain_precision = np.linalg.norm(A_inv, 2)
    gain_paper = np.linalg.norm(np.linalg.solve(P, A_inv / noise[:, None]), 2)
    cond, cond_p = np.linalg.cond(A), np.linalg.cond(P)
    t = tol + 10 * n * cond * EPS
    for method in ("direct", "cg", "pcg"):
        precision, paper = (
            noisy_posterior_mean(L, C, noise, y, method=method, form=f, tol=tol, maxiter=50 * n)[0]
            for f in ("precision", "paper")
        )
        atol = t * (
            gain_precision * np.linalg.norm(y / noise) + gain_paper * np.linalg.norm(P @ y)
        ) + 10 * n * cond_p * EPS * np.linalg.norm(precision)
        assert np.linalg.norm(paper - precision) <= atol, method


@settings(max_examples=15)
@given(
    point_clouds(n=st.integers(10, 50), d=st.integers(1, 2)),
    st.sampled_from(POINT_KERNELS),
    seeds,
    st.floats(1.5, 3.0),
)
def test_score_and_woodbury_kl_agree_with_an_exact_noise_factor(points, kernel, seed, rho):
    """With an exact C both measures are KL(N(0, Σ) ‖ N(0, (LLᵀ)⁻¹ + R)); they share
    log det Σ. The traces tr(Σ̃⁻¹Σ) come from solves with A = CCᵀ, each to relative
    10·n·κ(A)·ε of Σ|Σ̃⁻¹ ∘ Σ|, and the log-determinants from the diagonal of C (to ε
    each) and from n eigenvalues of I − GᵀG (‖·‖ ≤ 1, so each log errs by ≤ 10·n·ε/λ_min).
    """
    L, C, noise, order = exact_noise_setting(points, kernel, rho, seed)
    theta = kernel(points[order], points[order])
    result = noisy_kl_divergences(theta, noise, L, C)
    assert result["woodbury_kl"] is not None  # an exact C gives a covariance
    n = len(points)
    cond = np.linalg.cond(noisy_precision(L, noise).toarray())
    terms = np.sum(np.abs(woodbury_precision(C, noise) * (theta + np.diag(noise))))
    min_eig = result["woodbury_min_eigenvalue"]
    atol = 10 * n * cond * EPS * terms + 10 * n * n * EPS / min_eig
    gap = abs(result["expected_log_likelihood_error"] - result["woodbury_kl"])
    assert gap <= atol


@settings(max_examples=15)
@given(
    point_clouds(n=st.integers(10, 50), d=st.integers(1, 2)),
    st.sampled_from(POINT_KERNELS),
    seeds,
    st.floats(1.5, 3.0),
)
def test_product_covariance_is_the_inverse_of_the_woodbury_precision_with_an_exact_c(
    points, kernel, seed, rho
):
    """With CCᵀ = LLᵀ + R⁻¹, X = (LLᵀ)⁻¹CCᵀR and W = R⁻¹ − R⁻¹(CCᵀ)⁻¹R⁻¹ are inverses.
    Rounding, from the three inversions: L⁻¹ (relative 10·n·κ(L)·ε, entering X through
    ‖(LLᵀ)⁻¹‖‖A‖‖R‖), C⁻¹ (moves W by 10·n·κ(C)·ε/min σ², and W⁻¹ by ‖X‖² times that) and
    the dense inverse of W (10·n·κ(X)·ε·‖X‖).
    """
    L, C, noise, order = exact_noise_setting(points, kernel, rho, seed)
    X = noisy_covariance(L, C, noise)
    inverse = np.linalg.inv(woodbury_precision(C, noise))
    n = len(points)
    A = noisy_precision(L, noise).toarray()
    P_inv = np.linalg.inv((L @ L.T).toarray())
    cond_l, cond_c, cond_x = (np.linalg.cond(M) for M in (L.toarray(), C.toarray(), X))
    size, size_p_inv, size_a = (np.linalg.norm(M, 2) for M in (X, P_inv, A))
    from_l = cond_l * size_p_inv * size_a * noise.max()
    from_c = cond_c * size**2 / noise.min()
    from_w = cond_x * size
    atol = 10 * n * EPS * (from_l + from_c + from_w)
    assert np.linalg.norm(inverse - X, 2) <= atol


# ----------------------------------------------------------------- vecchia: kernels, KL


@given(
    point_clouds(n=st.integers(40, 90), d=st.integers(1, 3)),
    st.floats(1.0, 2.0),
    st.floats(0.0, 1.0),
)
def test_quadratic_terms_do_not_depend_on_the_chunking_of_pairs(points, rho, fraction):
    """diag(LᵀΘL) on the gathered-pairs path, in chunks of at most _PAIR_BUDGET pairs: every
    column's products are formed and summed (bincount, in entry order) the same way in
    any chunk. Exact.
    """
    kernel = Matern(0.5, 0.2)
    L, order = kl_cholesky(points, kernel, rho)
    theta = kernel(points[order], points[order])
    n = len(points)
    pairs = np.diff(L.indptr).astype(np.int64) ** 2
    assume(pairs.sum() <= n * L.nnz // 8)  # the gathered-pairs path, not the dense one
    one_chunk = diagnostics.quadratic_terms(theta, L)
    budget = 1 + int(fraction * (pairs.sum() - 2))  # at least two chunks
    with unittest.mock.patch.object(diagnostics, "_PAIR_BUDGET", budget):
        chunked = diagnostics.quadratic_terms(theta, L)
    np.testing.assert_array_equal(chunked, one_chunk)


scaled_distances = st.lists(st.floats(0.0, 1e3), min_size=1, max_size=64).map(np.array)


@given(scaled_distances, st.sampled_from([Matern(0.5, 1.0), Matern(1.5, 1.0), Matern(3.5, 1.0)]))
def test_fused_profiles_equal_the_plain_profiles_where_the_arithmetic_is_the_same(r, kernel):
    """Matérn-1/2 and 3/2 fuse e^{-s} and (1 + s)e^{-s} with the same operations in the same
    order; Matérn-7/2 has no fused form. Exact.
    """
    np.testing.assert_array_equal(kernel._profile_overwriting(r.copy()), kernel.profile(r))


@given(scaled_distances)
def test_fused_gaussian_profile_equals_the_plain_one(r):
    """exp(−½r²): (−½r)·r and (r·r)·(−½) round alike (halving is exact). Exact."""
    kernel = Gaussian(1.0)
    np.testing.assert_array_equal(kernel._profile_overwriting(r.copy()), kernel.profile(r))


@given(scaled_distances)
def test_fused_matern_five_halves_profile_is_within_rounding_of_the_plain_one(r):
    """(1 + s + s²/3)e^{-s}: the plain form rounds 5 times, the fused one 6 (1/3 is rounded
    once more), all terms positive, so each is within 6u of the exact value and they are
    within 6ε of each other; results below the normal range round absolutely, by at most
    the smallest subnormal.
    """
    kernel = Matern(2.5, 1.0)
    plain = kernel.profile(r)
    fused = kernel._profile_overwriting(r.copy())
    atol = 6 * EPS * np.abs(plain) + np.finfo(float).smallest_subnormal
    assert np.all(np.abs(fused - plain) <= atol)


# ----------------------------------------------------------------- pde: measurement kernels


@st.composite
def values_and_laplacians(draw, n=st.integers(1, 10), d=st.integers(1, 3), laplacians=True):
    """a₀δ + λΔδ at random points (one repeated, sometimes): the solvers' measurements."""
    count, dim = draw(n), draw(d)
    rng = np.random.default_rng(draw(seeds))
    x = rng.uniform(size=(count, dim))
    if draw(st.booleans()):
        x = np.concatenate([x, x[:1]])  # a repeated point: r = 0 off the diagonal
    k = len(x)
    value = rng.standard_normal(k) * (rng.uniform(size=k) < 0.8)
    lam = rng.standard_normal(k) * (rng.uniform(size=k) < 0.8) if laplacians else np.zeros(k)
    if laplacians:
        lam[0] = lam[0] or 1.0  # keep order 2, where the Laplacian path applies
    return Measurements(x, value=value, hessian=lam[:, None, None] * np.eye(dim))


@given(values_and_laplacians(), st.sampled_from(SMOOTH_KERNELS), seeds)
def test_laplacian_fast_path_agrees_with_the_tensor_path(measurements, kernel, seed):
    """Values plus isotropic Laplacians take _laplacian_case; one first-derivative row
    forces the tensor formula, whose leading block is the same covariance. Both use the
    same distances and e^{-x}; along any term the tensor path rounds at most 27 times
    (Horner of degree ≤ 3, coefficient scaling, the unit vector's products, the weights,
    the sum of 9 terms) and the fast path 17 times, so they differ by at most
    (27 + 17)·u = 22·ε times the sum of the absolute terms (every G_{k,m} polynomial has
    one sign, so |G| is its absolute value).
    """
    K = MeasurementKernel(kernel)
    n, d = len(measurements), measurements.dim
    fast = K.gram(measurements)
    extra = first_derivatives(np.random.default_rng(seed).uniform(size=(1, d)), 0)
    tensor = K.gram(concatenate([measurements, extra]))[:n, :n]
    x = measurements.points
    r = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    G = {
        km: np.abs(g)
        for km, g in RadialDerivatives(kernel)
        .evaluate([(0, 0), (1, 0), (2, 2), (4, 4), (3, 2), (2, 0)], r)
        .items()
    }
    a0, lam = np.abs(measurements.value), np.abs(measurements.hessian[:, 0, 0])
    scale = (
        np.outer(a0, a0) * G[0, 0]
        + (np.outer(a0, lam) + np.outer(lam, a0)) * (d * G[1, 0] + G[2, 2])
        + np.outer(lam, lam) * (G[4, 4] + (2 * d + 4) * G[3, 2] + d * (d + 2) * G[2, 0])
    )
    atol = 22 * EPS * scale
    assert np.all(np.abs(fast - tensor) <= atol)


@given(
    st.sampled_from(SMOOTH_KERNELS + [Matern(0.5, 0.3), Matern(1.5, 0.3)]),
    st.data(),
)
def test_variances_are_exactly_the_gram_diagonal_for_values_and_laplacians(kernel, data):
    """For values and isotropic Laplacians (what the solvers pass) both evaluate the same
    elementwise formulas at r = 0. Exact.
    """
    K = MeasurementKernel(kernel)
    measurements = data.draw(values_and_laplacians(n=st.integers(1, 30), laplacians=K.order >= 2))
    np.testing.assert_array_equal(K.variances(measurements), np.diag(K.gram(measurements)))


@given(st.sampled_from(SMOOTH_KERNELS), st.integers(1, 30), st.integers(1, 3), seeds)
def test_variances_match_the_gram_diagonal_to_rounding_with_derivative_measurements(
    kernel, n, d, seed
):
    """With gradients and general Hessians the diagonal also needs a·a and tr(AA), which the
    Gram matrix forms by matrix products over all pairs and variances by a product per
    measurement: dot products of d and d² terms, summed in a different order (and with
    or without fused multiply-adds). At r = 0 the entry is G₀₀a₀² + G₁₀(2a₀trA − a·a) +
    G₂₀((trA)² + 2 tr(AA)); the dot products differ by at most d²·ε of their absolute
    sums and the three operations after them by 3·ε: ``(d**2 + 3) * EPS`` times the sum
    of the absolute terms.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d))
    measurements = Measurements(
        x,
        value=rng.standard_normal(n),
        gradient=rng.standard_normal((n, d)),
        hessian=rng.standard_normal((n, d, d)),
    )
    K = MeasurementKernel(kernel)
    G = RadialDerivatives(kernel).evaluate([(0, 0), (1, 0), (2, 0)], np.zeros(n))
    a0, a, A = measurements.value, measurements.gradient, measurements.hessian
    trace = np.trace(A, axis1=1, axis2=2)
    scale = (
        np.abs(G[0, 0]) * a0**2
        + np.abs(G[1, 0]) * (2 * np.abs(a0 * trace) + (a**2).sum(1))
        + np.abs(G[2, 0]) * (trace**2 + 2 * (A**2).sum((1, 2)))
    )
    atol = (d**2 + 3) * EPS * scale
    assert np.all(np.abs(K.variances(measurements) - np.diag(K.gram(measurements))) <= atol)


@given(st.sampled_from(SMOOTH_KERNELS), st.integers(0, 3), seeds, st.floats(0.0, 1.0), st.data())
def test_chunked_kernel_matvec_agrees_with_one_block(kernel, k, seed, fraction, data):
    """K(rows, others) v in chunks of rows against one block. For values and Laplacians the
    kernel entries are elementwise, so equal in any chunk; only the BLAS products of m
    terms are split differently, each within γ_m Σ_j |K_ij v_j|: the two differ by at
    most ``m * EPS`` times that sum.
    """
    d = st.just(data.draw(st.integers(1, 3), label="d"))
    rows = data.draw(values_and_laplacians(n=st.integers(1, 25), d=d), label="rows")
    others = data.draw(values_and_laplacians(n=st.integers(1, 25), d=d), label="others")
    K = MeasurementKernel(kernel)
    X, Y = rows.rows(), others.rows()
    m = len(Y)
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((m, k)) if k else rng.standard_normal(m)
    one_block = kernel_matvec(K, X, Y, v)
    entries = 1 + int(fraction * (len(X) * m - 1))
    with unittest.mock.patch.object(pde_dense, "ENTRIES_PER_CHUNK", entries):
        chunked = kernel_matvec(K, X, Y, v)
    atol = m * EPS * (np.abs(K(X, Y)) @ np.abs(v))
    assert np.all(np.abs(chunked - one_block) <= atol)


# ----------------------------------------------------------------- pde: solvers

PROBLEM = NonlinearElliptic()


def first_step(h, problem=PROBLEM):
    """The collocation system and the first Gauss–Newton step's weights and data."""
    boundary, interior = problem.collocation(h)
    system = CollocationSystem(boundary, interior, problem.basis)
    weights, data = problem.linearize(
        problem.initial_state(system.n_interior), problem.rhs(interior)
    )
    return system, weights, np.concatenate([problem.truth(boundary), data])


def test_preconditioned_and_plain_cg_give_the_same_solution():
    """Both solve Θ̃α = r with the same operator Θ̃ = A Θ̃_big Aᵀ (the big factor does not
    depend on the preconditioner); ``history`` reports each one's true relative residual
    ‖Θ̃α − r‖/‖r‖. The values are v = S α (S: the value rows of Θ̃_big Aᵀ), so each is
    G(r + e) with G = S Θ̃⁻¹ and ‖e‖ = residual·‖r‖: they differ by at most
    ‖G‖·(res_pcg + res_cg)·‖r‖. G is formed densely from the solver's own operator. At
    h = 0.125 both stop near cg_rtol = 1e-10, far above the rounding of Θ̃ (~1e-14); at
    h = 0.25 CG runs on to that floor, which this bound does not cover.
    """
    h = 0.125
    options = dict(method="sparse", steps=1, cg_rtol=1e-10, cg_maxiter=5000)
    pcg = solve(PROBLEM, h, precondition=True, **options)
    cg = solve(PROBLEM, h, precondition=False, **options)
    system, weights, rhs = first_step(h)
    solver = SparseSolver(MeasurementKernel(PROBLEM.kernel), system, PROBLEM.nugget)
    A = system.weight_matrix(weights)
    unit = np.eye(A.shape[0])
    theta = np.stack([A @ solver.apply_big(A.T @ e) for e in unit], axis=1)
    values_of = np.stack([solver.state(weights, e)[:, 0] for e in unit], axis=1)
    gain = np.linalg.norm(values_of @ np.linalg.inv(theta), 2)
    res_pcg, res_cg = pcg.history[0]["residual"], cg.history[0]["residual"]
    atol = gain * (res_pcg + res_cg) * np.linalg.norm(rhs)
    assert np.linalg.norm(pcg.values - cg.values) <= atol


def test_placements_follow_and_last_agree_at_infinite_rho():
    """At ρ = ∞ either order gives the exact factor of the same (unit-variance, nugget)
    Θ_s, so both solve Θα = r, Θ = AΘ_bigAᵀ, up to (i) CG's residuals, which move the
    values by G e (G = EΘ_bigAᵀΘ⁻¹, E: the value rows) as in the preconditioner test, and
    (ii) the rounding of the dense factor, a perturbation Δ_s of Θ_s with
    ‖Δ_s‖ ≤ 10·N·κ(Θ_s)·ε·‖Θ_s‖ (direct-solve rounding), which moves the values by
    (E − GA)D Δ_s DAᵀα (D = diag of the standard deviations): per route
    ‖(E − GA)D‖·‖Δ_s‖·‖DAᵀα‖, twice that for the pair. At h = 0.25 this is 2e-9 of the
    values (at h = 0.125, κ(Θ_s) = 7e5 makes it 2e-5).
    """
    h = 0.25
    options = dict(method="sparse", steps=1, rho=np.inf, cg_rtol=1e-10)
    follow = solve(PROBLEM, h, placement="follow", **options)
    last = solve(PROBLEM, h, placement="last", **options)
    system, weights, rhs = first_step(h)
    big = MeasurementKernel(PROBLEM.kernel).gram(system.big_measurements())
    deviation = np.sqrt(np.diag(big))
    theta_s = big / np.outer(deviation, deviation) + PROBLEM.nugget * np.eye(len(big))
    theta_big = theta_s * np.outer(deviation, deviation)
    A = system.weight_matrix(weights).toarray()
    theta = A @ theta_big @ A.T
    nb, ni = system.n_boundary, system.n_interior
    E = np.eye(len(big))[nb : nb + ni]
    G = E @ theta_big @ A.T @ np.linalg.inv(theta)
    alpha = np.linalg.solve(theta, rhs)
    n = len(big)
    cond = np.linalg.cond(theta_s)
    gain, size = np.linalg.norm(G, 2), np.linalg.norm(theta_s, 2)
    sensitivity = np.linalg.norm((E - G @ A) * deviation, 2)
    weight = np.linalg.norm(deviation * (A.T @ alpha))
    res_follow, res_last = follow.history[0]["residual"], last.history[0]["residual"]
    residuals = gain * (res_follow + res_last) * np.linalg.norm(rhs)
    atol = residuals + 2 * sensitivity * 10 * n * cond * EPS * size * weight
    assert np.linalg.norm(follow.values - last.values) <= atol
