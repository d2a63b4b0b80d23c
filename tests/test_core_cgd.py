"""The readable core of refimpl.cgd computes what the public functions compute.

Each test runs one function of ``refimpl.cgd.core`` and the public function for the same
quantity on the package's own games, and checks agreement to a bound derived from the
maths: exact equality where both run the same arithmetic, a backward-error bound
(a few ulps times a size times the norm of the system's inverse) where the two routes
use different direct solves, and the CG tolerance times a bound on the norm of the
system's inverse where they use different CG loops (the fast paths: the Cholesky-based
dense solve and the warm-started, scaled CG). The last tests check the core's closed forms
on f = αxy against the inverse of Eq. (4) and GDA's powers, and run the core on the array
backend.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import seeds, step_sizes, well_conditioned_matrices

from refimpl import backend, cgd
from refimpl.cgd import BilinearGame, GeneralSumQuadraticGame, QuadraticGame, core

EPS = np.finfo(float).eps
dims = st.integers(1, 6)
game_matrices = well_conditioned_matrices(rows=dims, cols=dims)  # D_xy f, σ in [1, 10]
norm = np.linalg.norm


def _game(rng, A, zero_sum):
    """A quadratic game with D_xy f = A: zero-sum (D_yx g = −Aᵀ) or general-sum (D_yx g = Bᵀ)."""
    n, m = A.shape
    P, Q = rng.standard_normal((n, n)), rng.standard_normal((m, m))
    P, Q = (P + P.T) / 2, (Q + Q.T) / 2
    if zero_sum:
        return QuadraticGame(P, A, Q)
    return GeneralSumQuadraticGame(P, A, rng.standard_normal((n, m)), Q)


def _point_and_steps(rng, n, m, eta_x, eta_y, per_coordinate):
    """x (n,), y (m,) and the step sizes: the scalars, or per-coordinate within a factor 2."""
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    if per_coordinate:
        eta_x, eta_y = eta_x * rng.uniform(0.5, 1.0, n), eta_y * rng.uniform(0.5, 1.0, m)
    return x, y, eta_x, eta_y


def _cg_bounds(game, x, y, h_x, h_y, tol):
    """Bounds on ‖Δx_core − Δx_public‖ and ‖Δy_core − Δy_public‖ for two CG solves of one system.

    S = I + H_x^{1/2} A H_y Aᵀ H_x^{1/2} is I plus a positive semi-definite matrix, so
    ‖S⁻¹‖ ≤ 1 and a solve that stops at relative residual tol has error ≤ ‖S⁻¹‖ tol ‖b‖;
    two such solves differ by at most twice that. Floating-point CG reaches its residual
    only to about p·EPS·cond(S)·‖w‖ (the core's loop trusts its recurrence residual), the
    second term. Δx = −H_x^{1/2} w multiplies by max √h_x; Δy = −H_y(∇_y g + D_yx g Δx) is
    the same arithmetic in both routes, so it multiplies by max h_y ‖A‖, plus rounding.
    """
    n, m = game.n, game.m
    p = n + m
    h_x, h_y = h_x * np.ones(n), h_y * np.ones(m)  # (n,), (m,)
    A = game.dxy_f_matrix(x, y)  # (n, m)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    scaled = np.sqrt(h_x)[:, None] * A * np.sqrt(h_y)[None, :]  # H_x^{1/2} A H_y^{1/2}
    S = np.eye(n) + scaled @ scaled.T  # (n, n)
    b = np.sqrt(h_x) * (gx - A @ (h_y * gy))  # (n,)
    w = np.linalg.solve(S, b)
    inverse_norm = 1.0  # ‖S⁻¹‖ ≤ 1 because S ⪰ I
    bound_w = inverse_norm * 2 * tol * norm(b) + 10 * p * EPS * np.linalg.cond(S) * norm(w)
    dx = -np.sqrt(h_x) * w
    bound_x = np.sqrt(h_x.max()) * bound_w + 2 * EPS * norm(x + dx)
    dy = -h_y * (gy + game.dyx_g(x, y, dx))
    bound_y = (
        h_y.max() * norm(A, 2) * bound_x
        + 10 * p * EPS * h_y.max() * (norm(gy) + norm(A, 2) * norm(dx))
        + 2 * EPS * norm(y + dy)
    )
    return bound_x, bound_y


@given(
    seed=seeds,
    A=game_matrices,
    eta_x=step_sizes(),
    eta_y=step_sizes(),
    per_coordinate=st.booleans(),
    zero_sum=st.booleans(),
)
def test_core_gda_equals_public_gda(seed, A, eta_x, eta_y, per_coordinate, zero_sum):
    """Exact: the public gda_step checks its arguments, calls the core and checks the
    result, so every rounding is the same."""
    rng = np.random.default_rng(seed)
    game = _game(rng, A, zero_sum)
    x, y, eta_x, eta_y = _point_and_steps(rng, *A.shape, eta_x, eta_y, per_coordinate)
    x_core, y_core = core.gda_step(game, x, y, eta_x, eta_y)
    x_public, y_public = cgd.gda_step(game, x, y, eta_x, eta_y)
    np.testing.assert_array_equal(x_core, x_public)
    np.testing.assert_array_equal(y_core, y_public)


@given(seed=seeds, A=game_matrices, eta_x=step_sizes(), eta_y=step_sizes(), zero_sum=st.booleans())
def test_core_dense_cgd_equals_public_dense_cgd(seed, A, eta_x, eta_y, zero_sum):
    """Two direct solves of Eq. (4): the core forms S_x = I − η_xη_y AB (B = D_yx g) and
    S_y = I − η_yη_x BA and solves both by LU; the package does the same by LU for
    general-sum games and, for zero-sum ones, one Cholesky of the smaller side and the
    other player's move by substitution.

    Forming S and the right-hand side in floating point perturbs them by p·EPS times
    |I| + η_xη_y|A||B| and η_x(|∇ₓf| + η_y|A||∇_y g|) (p = n + m, the length of the inner
    products; Frobenius norms bound the absolute values), a backward-stable solve adds
    the like, and a perturbation of S or b moves the solution by ‖S⁻¹‖ times it:
    10·p·EPS·‖S⁻¹‖·((1 + η_xη_y‖A‖‖B‖)‖Δ‖ + ‖rhs terms‖), the factor 10 for the
    constants and the two routes. Substitution carries an error e of one side to the
    other as η‖A‖e (derivations §3), the cross terms.
    """
    rng = np.random.default_rng(seed)
    game = _game(rng, A, zero_sum)
    n, m = A.shape
    p = n + m
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    x_core, y_core = core.cgd_step_dense(game, x, y, eta_x, eta_y)
    x_public, y_public, _ = cgd.cgd_step(game, x, y, eta_x, eta_y, solver="dense")
    B = game.dyx_g_matrix(x, y)  # (m, n)
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    norm_A, norm_B = norm(A, "fro"), norm(B, "fro")
    inverse_x = norm(np.linalg.inv(np.eye(n) - eta_x * eta_y * A @ B), 2)
    inverse_y = norm(np.linalg.inv(np.eye(m) - eta_y * eta_x * B @ A), 2)
    matrix_terms = 1 + eta_x * eta_y * norm_A * norm_B
    rhs_x = eta_x * (norm(gx) + eta_y * norm_A * norm(gy))
    rhs_y = eta_y * (norm(gy) + eta_x * norm_B * norm(gx))
    bound_x = 10 * p * EPS * inverse_x * (matrix_terms * norm(x_public - x) + rhs_x)
    bound_y = 10 * p * EPS * inverse_y * (matrix_terms * norm(y_public - y) + rhs_y)
    tol_x = bound_x + eta_x * norm_A * bound_y + 2 * EPS * norm(x_public)
    tol_y = bound_y + eta_y * norm_B * bound_x + 2 * EPS * norm(y_public)
    assert norm(x_core - x_public) <= tol_x
    assert norm(y_core - y_public) <= tol_y


@given(
    seed=seeds,
    A=game_matrices,
    eta_x=step_sizes(),
    eta_y=step_sizes(),
    per_coordinate=st.booleans(),
)
def test_core_cg_step_equals_public_cg_step(seed, A, eta_x, eta_y, per_coordinate):
    """Two CG loops on one symmetric positive definite system, each stopped at relative
    residual tol = 1e-10: they agree to the bound of ``_cg_bounds``, 2·tol·‖b‖ times
    ‖S⁻¹‖ ≤ 1, scaled to Δx and Δy."""
    rng = np.random.default_rng(seed)
    game = _game(rng, A, zero_sum=True)
    x, y, eta_x, eta_y = _point_and_steps(rng, *A.shape, eta_x, eta_y, per_coordinate)
    tol = 1e-10
    x_core, y_core = core.cgd_step_cg(game, x, y, eta_x, eta_y, tol=tol)
    x_public, y_public, info = cgd.cgd_step(game, x, y, eta_x, eta_y, solver="cg", tol=tol)
    assert info.converged
    bound_x, bound_y = _cg_bounds(game, x, y, eta_x, eta_y, tol)
    assert norm(x_core - x_public) <= bound_x
    assert norm(y_core - y_public) <= bound_y


@given(
    seed=seeds,
    k=dims,
    t=st.integers(1, 200),
    eta=step_sizes(),
    beta=st.floats(0.0, 0.999),
    eps=step_sizes(1e-8, 1e-2),
)
def test_core_adaptive_step_sizes_equal_public(seed, k, t, eta, beta, eps):
    """Exact: both compute βv + (1 − β)g·g and √(1 − βᵗ)·η/(√v + ε) by the same
    operations in the same order."""
    rng = np.random.default_rng(seed)
    v, gradient = rng.uniform(0.0, 4.0, k), rng.standard_normal(k)
    v_core, steps_core = core.adaptive_step_sizes(v, gradient, t, eta, beta, eps)
    v_public, steps_public = cgd.adaptive_step_sizes(v, gradient, t, eta, beta, eps)
    np.testing.assert_array_equal(v_core, v_public)
    np.testing.assert_array_equal(steps_core, steps_public)


@given(
    seed=seeds,
    A=game_matrices,
    eta_x=step_sizes(1e-3, 0.3),
    eta_y=step_sizes(1e-3, 0.3),
    t=st.integers(0, 30),
)
def test_core_acgd_step_equals_public_acgd_step(seed, A, eta_x, eta_y, t):
    """One ACGD step from one state (t steps taken, running means v_x, v_y; zeros when
    t = 0): the new state is exact (same arithmetic), and the step is a CG step with the
    step matrices H = diag(η_t) of that state, so the points agree to the CG bound of
    ``_cg_bounds`` with tol = 1e-10 (the package warm-starts nothing here)."""
    rng = np.random.default_rng(seed)
    game = _game(rng, A, zero_sum=True)
    n, m = A.shape
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    v_x, v_y = (rng.uniform(0.1, 4.0, n), rng.uniform(0.1, 4.0, m)) if t else (0 * x, 0 * y)
    tol = 1e-10
    x_core, y_core, state_core = core.acgd_step(game, x, y, eta_x, eta_y, (t, v_x, v_y), tol=tol)
    state = cgd.ACGDState(t, v_x, v_y)
    x_public, y_public, state_public, info = cgd.acgd_step(
        game, x, y, eta_x, eta_y, state, solver="cg", tol=tol, warm_start=False
    )
    assert info.converged
    assert state_core[0] == state_public.t
    np.testing.assert_array_equal(state_core[1], state_public.v_x)
    np.testing.assert_array_equal(state_core[2], state_public.v_y)
    _, h_x = cgd.adaptive_step_sizes(v_x, game.grad_x_f(x, y), t + 1, eta_x)
    _, h_y = cgd.adaptive_step_sizes(v_y, game.grad_y_g(x, y), t + 1, eta_y)
    bound_x, bound_y = _cg_bounds(game, x, y, h_x, h_y, tol)
    assert norm(x_core - x_public) <= bound_x
    assert norm(y_core - y_public) <= bound_y


@given(
    alpha=st.floats(-1e3, 1e3),
    eta=step_sizes(1e-3, 1e3),
)
def test_core_closed_form_is_the_inverse_of_eq_4_and_the_public_one(alpha, eta):
    """The core's M = ρ(ρI − sJ) (ρ = 1/hypot(1, a), s = aρ) against the textbook
    (I + aJ)⁻¹ by LU: I + aJ is √(1 + a²) times a rotation, condition number 1, so the
    inverse is accurate to a few ulps of ‖M‖ = ρ, and the core rounds ρ, s and the four
    products once or twice each: both within 10·EPS·ρ entrywise (|a| ≤ 1e6, nothing
    overflows). ρ against 1/√(1 + a²) likewise, 4·EPS·ρ. The public functions validate
    and call the core: equal exactly."""
    a = eta * alpha
    M_core = core.cgd_iteration_matrix(alpha, eta)
    rho_core = core.cgd_spectral_radius(alpha, eta)
    M_inverse = np.linalg.inv(np.eye(2) + a * np.array([[0.0, 1.0], [-1.0, 0.0]]))
    assert np.all(np.abs(M_core - M_inverse) <= 10 * EPS * rho_core)
    assert abs(rho_core - 1.0 / np.sqrt(1.0 + a * a)) <= 4 * EPS * rho_core
    np.testing.assert_array_equal(cgd.iteration_matrix("cgd", alpha, eta), M_core)
    assert cgd.spectral_radius("cgd", alpha, eta) == rho_core


@given(
    alpha=st.floats(-5.0, 5.0),
    eta=step_sizes(0.01, 1.0),
    steps=st.integers(1, 30),
    angle=st.floats(0.0, 2 * np.pi),
)
def test_core_gda_follows_its_closed_form_on_f_alpha_xy(alpha, eta, steps, angle):
    """On f = αxy, GDA is z ↦ (I − aJ)z with a = ηα, J = [[0, 1], [−1, 0]]: ρ = √(1 + a²)
    times a rotation, so z_k = (I − aJ)ᵏ z_0 and ‖z_k‖ = ρᵏ‖z_0‖ (derivations §7).

    Each step rounds a few times (αy, η·αy, the difference, ≤ 3 ulps of (1 + |a|)‖z‖) and
    so does the reference (I − aJ)ᵏ z_0; an error made at step j grows by ρ per later step,
    so after k steps the routes differ by at most 10·k·EPS·(1 + |a|)·ρᵏ·‖z_0‖.
    """
    game = BilinearGame(alpha)
    z0 = np.array([np.cos(angle), np.sin(angle)])
    x, y = z0[:1], z0[1:]
    for _ in range(steps):
        x, y = core.gda_step(game, x, y, eta, eta)
    M = cgd.iteration_matrix("gda", alpha, eta)
    rho = cgd.spectral_radius("gda", alpha, eta)
    bound = 10 * steps * EPS * (1 + abs(eta * alpha)) * rho**steps * norm(z0)
    assert norm(np.r_[x, y] - np.linalg.matrix_power(M, steps) @ z0) <= bound
    assert abs(norm(np.r_[x, y]) - rho**steps * norm(z0)) <= bound


def test_core_runs_on_the_array_backend(xp):
    """Arrays of the backend in, arrays of the backend out, and the values of the NumPy
    route: on f = xᵀAy from one start, dense CGD and CG CGD (tol 1e-13) agree with the
    package's closed form z_1 = (I + ηAJ)⁻¹z_0 to 1e-12 (‖S⁻¹‖ ≤ 1, ‖A‖ ≤ 3, η = 0.5),
    and GDA's step and ACGD's running mean equal the public ones exactly (same arithmetic)."""
    A_host = np.array([[1.0, 2.0], [0.0, 1.0]])
    x_host, y_host = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    game, x, y = BilinearGame(xp.asarray(A_host)), xp.asarray(x_host), xp.asarray(y_host)
    expected = cgd.cgd_bilinear_closed_form(A_host, x_host, y_host, 0.5, 1)
    for step in (core.cgd_step_dense, lambda *args: core.cgd_step_cg(*args, tol=1e-13)):
        x_new, y_new = step(game, x, y, 0.5, 0.5)
        assert backend.array_namespace(x_new, y_new) is xp
        np.testing.assert_allclose(backend.to_numpy(x_new), expected[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(backend.to_numpy(y_new), expected[1], rtol=0, atol=1e-12)
    host_game = BilinearGame(A_host)
    x_new, y_new = core.gda_step(game, x, y, 0.5, 0.5)
    np.testing.assert_array_equal(
        backend.to_numpy(x_new), cgd.gda_step(host_game, x_host, y_host, 0.5, 0.5)[0]
    )
    state = (0, 0 * x, 0 * y)
    x_new, y_new, state = core.acgd_step(game, x, y, 0.1, 0.1, state)
    _, _, public_state, _ = cgd.acgd_step(host_game, x_host, y_host, 0.1, 0.1)
    assert backend.array_namespace(x_new, state[1]) is xp
    np.testing.assert_array_equal(backend.to_numpy(state[1]), public_state.v_x)
