"""CGD and its relatives on f = αxy and quadratic games, against closed forms."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import seeds, step_sizes

from refimpl import cgd
from refimpl.cgd import BilinearGame, QuadraticGame

EPS = np.finfo(float).eps
alphas = st.floats(0.05, 10.0).flatmap(lambda a: st.sampled_from([a, -a]))
starts = st.tuples(st.floats(-2, 2), st.floats(-2, 2)).filter(lambda z: np.hypot(*z) > 1e-3)


def one_step(method, game, x, y, eta, gamma=1.0):
    result = cgd.run(
        game,
        method,
        x,
        y,
        steps=1,
        eta=eta,
        **({"gamma": gamma} if method in ("sga", "conopt") else {}),
    )
    return np.r_[result.x[-1], result.y[-1]]


@given(alphas, step_sizes(1e-3, 2.0), starts)
def test_cgd_step_equals_iteration_matrix(alpha, eta, z0):
    z1 = one_step("cgd", BilinearGame(alpha), z0[0], z0[1], eta)
    expected = cgd.iteration_matrix("cgd", alpha, eta) @ np.array(z0)
    # Both sides are a few flops on O(|z|) numbers; the solve adds cond ≤ 1 + (ηα)².
    tol = 10 * EPS * (1 + (eta * alpha) ** 2) * np.linalg.norm(z0)
    np.testing.assert_allclose(z1, expected, rtol=0, atol=tol)


@pytest.mark.parametrize("method", cgd.LINEAR_METHODS)
@given(alpha=alphas, eta=step_sizes(1e-3, 1.0), gamma=st.floats(0.0, 2.0), z0=starts)
def test_every_linear_method_step_equals_its_matrix(method, alpha, eta, gamma, z0):
    game = BilinearGame(alpha)
    z0 = np.array(z0)
    M = cgd.iteration_matrix(method, alpha, eta, gamma)
    if method == "ogda":  # first OGDA step uses z_{-1} = z_0; check the second step
        result = cgd.run(game, "ogda", z0[0], z0[1], steps=2, eta=eta)
        state = np.r_[z0, z0]
        expected = (M @ (M @ state))[:2]
        got = np.r_[result.x[-1], result.y[-1]]
    else:
        got = one_step(method, game, z0[0], z0[1], eta, gamma)
        expected = M @ z0
    scale = (1 + abs(eta * alpha) + eta * gamma * alpha**2) ** 4 * np.linalg.norm(z0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=20 * EPS * scale)


@pytest.mark.parametrize("method", cgd.LINEAR_METHODS)
@given(alpha=alphas, eta=step_sizes(1e-3, 1.0), gamma=st.floats(0.0, 2.0))
def test_scalar_closed_form_matches_game_block_formula(method, alpha, eta, gamma):
    # Two independent derivations: the scalar table and the block formulas.
    scalar = cgd.iteration_matrix(method, alpha, eta, gamma)
    block = cgd.game_iteration_matrix(method, BilinearGame(alpha), eta, eta, gamma)
    np.testing.assert_allclose(block, scalar, rtol=0, atol=1e-12 * (1 + (eta * alpha) ** 2) ** 2)
    # Eigenvalues of a defective matrix (altgda at η|α| = 2, ogda at 2η|α| = 1) are only
    # accurate to sqrt(eps); a margin of 1e-3 keeps the error near eps / sqrt(1e-3).
    a = eta * abs(alpha)
    assume(abs(a - 2) > 1e-3 and abs(2 * a - 1) > 1e-3)
    radius = cgd.spectral_radius(method, alpha, eta, gamma)
    eig = np.max(np.abs(np.linalg.eigvals(scalar)))
    assert abs(radius - eig) <= 1e3 * EPS * max(1.0, radius)


@given(alphas, step_sizes(1e-2, 1.0), starts, st.integers(1, 60))
def test_cgd_norm_contracts_exactly(alpha, eta, z0, k):
    result = cgd.run(BilinearGame(alpha), "cgd", z0[0], z0[1], steps=k, eta=eta)
    expected = np.hypot(*z0) * (1 + (eta * alpha) ** 2) ** (-k / 2)
    # (I + ηαJ)^{-1} is a scaled rotation, so each step only rounds: ~k eps relative.
    np.testing.assert_allclose(result.norm[-1], expected, rtol=1e-12)
    gda = cgd.run(BilinearGame(alpha), "gda", z0[0], z0[1], steps=k, eta=eta)
    ratios = gda.norm[1:] / gda.norm[:-1]
    np.testing.assert_allclose(ratios, np.sqrt(1 + (eta * alpha) ** 2), rtol=1e-12)


def _growth_bounds(M, w, K):
    """Rigorous bounds on (‖M^K w‖/‖w‖)^(1/K) / ρ from the eigendecomposition M = VΛV⁻¹."""
    lam, V = np.linalg.eig(M)
    rho = np.max(np.abs(lam))
    c = np.linalg.solve(V, w)
    dominant = np.abs(lam) >= rho * (1 - 1e-12)
    sv = np.linalg.svd(V, compute_uv=False)
    low = np.log(sv[-1] * np.linalg.norm(c[dominant]) / np.linalg.norm(w)) / K
    high = np.log(sv[0] * np.linalg.norm(c) / np.linalg.norm(w)) / K
    return low, high, np.linalg.cond(V)


@pytest.mark.slow
@pytest.mark.parametrize("method", cgd.LINEAR_METHODS)
@given(alpha=st.floats(0.2, 6.0), eta=step_sizes(0.01, 0.5), seed=seeds)
def test_observed_growth_matches_spectral_radius(method, alpha, eta, seed):
    rng = np.random.default_rng(seed)
    z0 = rng.standard_normal(2)
    K = 200
    M = cgd.iteration_matrix(method, alpha, eta)
    state = np.r_[z0, z0] if method == "ogda" else z0
    low, high, cond = _growth_bounds(M, state, K)
    assume(cond < 1e6)  # skip (near-)defective matrices, where the bounds degenerate
    rho = cgd.spectral_radius(method, alpha, eta)
    assume(rho**K < 1e250 and rho**K > 1e-250)
    result = cgd.run(BilinearGame(alpha), method, z0[0], z0[1], steps=K, eta=eta)
    assert result.status == "completed"
    if method == "ogda":
        # ‖(z_K, z_{K-1})‖ is what the 4×4 matrix acts on
        final = np.hypot(result.norm[-1], result.norm[-2])
    else:
        final = result.norm[-1]
    log_rate = np.log(final / np.linalg.norm(state)) / K - np.log(rho)
    slack = 1e-9  # rounding over K steps
    assert low - slack <= log_rate <= high + slack


def test_ogda_closed_form_is_right_at_known_point():
    # ηα = 1/2: √(1 − 4η²α²) = 0, so both roots are (1 − i)/2, modulus 1/√2.
    assert cgd.spectral_radius("ogda", 1.0, 0.5) == pytest.approx(2**-0.5, rel=1e-14)
    assert cgd.spectral_radius("altgda", 1.0, 1.0) == 1.0
    # ηα = 3: t = 2 - 9 = -7, ρ = (7 + √45)/2
    assert cgd.spectral_radius("altgda", 3.0, 1.0) == pytest.approx((7 + 45**0.5) / 2)


@given(seed=seeds, n=st.integers(1, 6), m=st.integers(1, 6), rank=st.integers(0, 6))
def test_cgd_contracts_each_singular_direction(seed, n, m, rank):
    rng = np.random.default_rng(seed)
    rank = min(rank, n, m)
    A = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, m))
    eta = 0.3
    x0, y0 = rng.standard_normal(n), rng.standard_normal(m)
    result = cgd.run(BilinearGame(A), "cgd", x0, y0, steps=1, eta=eta, solver="dense")
    U, s, Vt = np.linalg.svd(A)
    factors = cgd.cgd_bilinear_contraction(A, eta)
    k = s.size
    before = np.hypot((U.T @ x0)[:k], (Vt @ y0)[:k])
    after = np.hypot((U.T @ result.x[1])[:k], (Vt @ result.y[1])[:k])
    # rounding of the dense solve and of the SVD: eps times (1 + η‖A‖)² ‖z0‖, with margin
    atol = 1e3 * EPS * (1 + eta * np.linalg.norm(A, 2)) ** 2 * np.linalg.norm(np.r_[x0, y0])
    np.testing.assert_allclose(after, factors * before, rtol=0, atol=atol)
    # null-space components (beyond the shared min(n, m) directions, or σ = 0) stay put
    np.testing.assert_allclose((U.T @ result.x[1])[k:], (U.T @ x0)[k:], atol=atol)
    np.testing.assert_allclose((Vt @ result.y[1])[k:], (Vt @ y0)[k:], atol=atol)
    zero = s < 1e-10 * max(1.0, s.max(initial=0.0))
    np.testing.assert_allclose(factors[zero], 1.0)


@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 5), k=st.integers(0, 30))
def test_cgd_closed_form_trajectory_matches_run(seed, n, m, k):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    x0, y0 = rng.standard_normal(n), rng.standard_normal(m)
    xk, yk = cgd.cgd_bilinear_closed_form(A, x0, y0, 0.4, k)
    result = cgd.run(BilinearGame(A), "cgd", x0, y0, steps=k, eta=0.4, solver="dense")
    # CGD is a contraction here, so per-step rounding (≤ c·eps·(1 + η²‖A‖²)‖z0‖) adds up
    # at most linearly in k.
    norm_A = np.linalg.norm(A, 2)
    atol = 100 * (k + 1) * EPS * (1 + (0.4 * norm_A) ** 2) * np.linalg.norm(np.r_[x0, y0])
    np.testing.assert_allclose(xk, result.x[-1], rtol=0, atol=atol)
    np.testing.assert_allclose(yk, result.y[-1], rtol=0, atol=atol)


ICR = QuadraticGame(2.0, 10.0, -2.0)  # min_x max_y x² + 10xy + y²


def test_icr_example_closed_form_radii():
    # GDA: trace and determinant of I − EH by hand.
    assert cgd.game_spectral_radius("gda", ICR, 0.09, 0.01) == pytest.approx(0.9264**0.5)
    assert cgd.game_spectral_radius("gda", ICR, 0.05, 0.05) == pytest.approx(1.24**0.5)
    assert cgd.game_spectral_radius("cgd", ICR, 0.09, 0.01) < 1
    # CGD at η = 0.05: M = [[.72, -.44], [.36, .88]], det 0.792
    assert cgd.game_spectral_radius("cgd", ICR, 0.05, 0.05) == pytest.approx(0.792**0.5)


@pytest.mark.parametrize(
    "method, eta_x, eta_y, converges",
    [
        ("gda", 0.09, 0.01, True),
        ("gda", 0.05, 0.05, False),
        ("cgd", 0.09, 0.01, True),
        ("cgd", 0.05, 0.05, True),
    ],
)
def test_icr_example_simulation(method, eta_x, eta_y, converges):
    result = cgd.run(ICR, method, 1.0, 1.0, steps=400, eta_x=eta_x, eta_y=eta_y)
    rho = cgd.game_spectral_radius(method, ICR, eta_x, eta_y)
    ratio = result.norm[-1] / result.norm[0]
    if converges:
        assert ratio < 1e-3 and rho < 1
    else:
        assert ratio > 1e3 and rho > 1


@pytest.mark.parametrize("method", cgd.LINEAR_METHODS)
@given(seed=seeds, eta_x=step_sizes(0.01, 0.5), eta_y=step_sizes(0.01, 0.5))
def test_quadratic_game_steps_equal_block_matrices(method, seed, eta_x, eta_y):
    rng = np.random.default_rng(seed)
    n, m = 3, 2
    P = rng.standard_normal((n, n))
    Q = rng.standard_normal((m, m))
    game = QuadraticGame(P + P.T, rng.standard_normal((n, m)), Q + Q.T)
    z0 = rng.standard_normal(n + m)
    M = cgd.game_iteration_matrix(method, game, eta_x, eta_y, gamma=0.7)
    opts = {"gamma": 0.7} if method in ("sga", "conopt") else {}
    steps = 2 if method == "ogda" else 1
    r = cgd.run(game, method, z0[:n], z0[n:], steps=steps, eta_x=eta_x, eta_y=eta_y, **opts)
    got = np.r_[r.x[-1], r.y[-1]]
    state = np.r_[z0, z0] if method == "ogda" else z0
    expected = (M @ M @ state)[: n + m] if method == "ogda" else M @ z0
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
