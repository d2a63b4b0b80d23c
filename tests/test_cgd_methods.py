"""CGD's solvers, Neumann hierarchy, general-sum form and ACGD, against dense formulas."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import seeds, step_sizes

from refimpl import backend, cgd
from refimpl.cgd import BilinearGame, GeneralSumQuadraticGame, QuadraticGame


def random_A(rng, n, m, rank):
    rank = min(rank, n, m)
    return rng.standard_normal((n, rank)) @ rng.standard_normal((rank, m)) / np.sqrt(max(rank, 1))


dims = st.integers(1, 12)
EPS = np.finfo(float).eps


@given(seed=seeds, n=dims, m=dims, rank=st.integers(0, 12), eta=step_sizes(0.01, 1.0))
def test_matrix_free_cg_equals_dense(seed, n, m, rank, eta):
    rng = np.random.default_rng(seed)
    game = BilinearGame(random_A(rng, n, m, rank))
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    xd, yd, _ = cgd.cgd_step(game, x, y, eta, eta, solver="dense")
    tol = 1e-8
    # With S = I + ηA(ηAᵀ) ⪰ I, ‖S⁻¹‖ ≤ 1: the CG error in w is ≤ tol ‖rhs‖ and
    # Δx = −√η w; Δy = −η(∇_y g + D_yx g Δx) adds a factor η‖A‖.
    rhs = np.sqrt(eta) * (game.A @ y + eta * game.A @ (game.A.T @ x))
    norm_A = np.linalg.norm(game.A, 2)
    bound_x = np.sqrt(eta) * tol * np.linalg.norm(rhs) + 1e-12 * (1 + np.linalg.norm(x))
    for guess in (None, rng.standard_normal(n)):  # cold start and an arbitrary warm start
        xc, yc, info = cgd.cgd_step(game, x, y, eta, eta, solver="cg", tol=tol, initial_guess=guess)
        assert info.converged and info.residual <= tol
        assert np.linalg.norm(xc - xd) <= bound_x
        assert np.linalg.norm(yc - yd) <= eta * norm_A * bound_x + 1e-12 * (1 + np.linalg.norm(y))


@given(seed=seeds, n=dims, m=dims, rank=st.integers(0, 12), eta=step_sizes(0.01, 1.0))
def test_matrix_free_gmres_equals_dense(seed, n, m, rank, eta):
    rng = np.random.default_rng(seed)
    game = BilinearGame(random_A(rng, n, m, rank))
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    xd, yd, _ = cgd.cgd_step(game, x, y, eta, eta, solver="dense")
    A = game.A
    S = np.eye(n) + eta**2 * A @ A.T  # GMRES solves S Δx = rhs, ‖S⁻¹‖ ≤ 1 here too
    rhs = -eta * (A @ y + eta * A @ (A.T @ x))
    tol = 1e-8
    bound_x = tol * np.linalg.norm(rhs) / np.linalg.svd(S, compute_uv=False)[-1]
    bound_x += 1e-12 * (1 + np.linalg.norm(x))
    for guess in (None, rng.standard_normal(n)):
        xg, yg, info = cgd.cgd_step(
            game, x, y, eta, eta, solver="gmres", tol=tol, initial_guess=guess
        )
        assert info.converged
        assert np.linalg.norm(xg - xd) <= bound_x
        assert np.linalg.norm(yg - yd) <= eta * np.linalg.norm(A, 2) * bound_x + 1e-12 * (
            1 + np.linalg.norm(y)
        )


def test_warm_start_residual_is_b_minus_A_x0():
    # Starting from the exact solution, a correct warm start needs zero iterations;
    # a solver that took r = b while x = x0 would move away from it.
    rng = np.random.default_rng(3)
    A = rng.standard_normal((20, 20))
    S = np.eye(20) + A @ A.T
    b = rng.standard_normal(20)
    exact = np.linalg.solve(S, b)
    x, info = cgd.conjugate_gradient(lambda v: S @ v, b, x0=exact, tol=1e-10)
    assert info.iterations <= 1 and np.allclose(x, exact, atol=1e-9)
    x, info = cgd.gmres(lambda v: S @ v, b, x0=exact, tol=1e-10)
    assert info.iterations <= 1 and np.allclose(x, exact, atol=1e-9)


def test_warm_start_saves_iterations_over_a_run():
    rng = np.random.default_rng(0)
    game = BilinearGame(rng.standard_normal((60, 60)))
    x0, y0 = rng.standard_normal(60), rng.standard_normal(60)
    warm = cgd.run(game, "cgd", x0, y0, 20, eta=0.3, solver="cg", tol=1e-10, warm_start=True)
    cold = cgd.run(game, "cgd", x0, y0, 20, eta=0.3, solver="cg", tol=1e-10, warm_start=False)
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-8)
    assert warm.inner_iterations.sum() < cold.inner_iterations.sum()


@given(
    seed=seeds,
    n=st.integers(1, 6),
    m=st.integers(1, 6),
    eta_x=step_sizes(0.01, 0.5),
    eta_y=step_sizes(0.01, 0.5),
)
def test_zero_sum_cgd_equals_general_sum_formula_with_g_minus_f(seed, n, m, eta_x, eta_y):
    rng = np.random.default_rng(seed)
    P, A, Q = rng.standard_normal((n, n)), rng.standard_normal((n, m)), rng.standard_normal((m, m))
    zero_sum = QuadraticGame(P + P.T, A, Q + Q.T)
    general = GeneralSumQuadraticGame(P + P.T, A, -A, Q + Q.T)  # g = -f up to x-only terms
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    zx, zy, _ = cgd.cgd_step(zero_sum, x, y, eta_x, eta_y, solver="cg", tol=1e-13)
    for solver in ("dense", "gmres"):
        gx, gy, _ = cgd.cgd_step(general, x, y, eta_x, eta_y, solver=solver, tol=1e-13)
        np.testing.assert_allclose(gx, zx, atol=1e-10)
        np.testing.assert_allclose(gy, zy, atol=1e-10)


def test_general_sum_dense_formula_by_hand():
    # f = x² / 2 + 2xy, g = y² / 2 + 3xy (scalars): A = 2, C = D_yx g = 3.
    game = GeneralSumQuadraticGame([[1.0]], [[2.0]], [[3.0]], [[1.0]])
    x, y, eta = np.array([1.0]), np.array([-1.0]), 0.1
    gx, gy = 1.0 * 1 + 2 * (-1), 1.0 * (-1) + 3 * 1  # -1, 2
    dx = -eta * (gx - eta * 2 * gy) / (1 - eta**2 * 2 * 3)
    dy = -eta * (gy - eta * 3 * gx) / (1 - eta**2 * 3 * 2)
    for solver in ("dense", "gmres"):
        x1, y1, _ = cgd.cgd_step(game, x, y, eta, eta, solver=solver)
        np.testing.assert_allclose([x1[0], y1[0]], [1 + dx, -1 + dy], rtol=1e-12)


@given(seed=seeds, n=dims, m=dims, eta=step_sizes(0.01, 1.0))
def test_lcgd_is_two_neumann_terms_and_extragradient_on_bilinear(seed, n, m, eta):
    rng = np.random.default_rng(seed)
    game = BilinearGame(rng.standard_normal((n, m)))
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    lx, ly = cgd.lcgd_step(game, x, y, eta, eta)
    nx, ny = cgd.neumann_step(game, x, y, eta, eta, order=1)
    ex, ey = cgd.extragradient_step(game, x, y, eta, eta)
    gx, gy = cgd.neumann_step(game, x, y, eta, eta, order=0)
    dx, dy = cgd.gda_step(game, x, y, eta, eta)
    scale = (1 + eta * np.linalg.norm(game.A, 2)) ** 2 * (1 + np.linalg.norm(np.r_[x, y]))
    for a, b in ((lx, nx), (ly, ny), (lx, ex), (ly, ey), (gx, dx), (gy, dy)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * scale)


@given(seed=seeds, n=dims, m=dims, order=st.integers(2, 40))
def test_neumann_series_converges_to_cgd(seed, n, m, order):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    eta = 0.5 / np.linalg.norm(A, 2)  # ‖ηN‖ = 1/2 < 1
    game = BilinearGame(A)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    cx, cy, _ = cgd.cgd_step(game, x, y, eta, eta, solver="dense")
    nx, ny = cgd.neumann_step(game, x, y, eta, eta, order=order)
    # Truncation error ≤ Σ_{k>K} ‖ηN‖^k ‖ηξ‖ = ‖ηN‖^{K+1} / (1 − ‖ηN‖) ‖ηξ‖.
    xi = np.r_[A @ y, -A.T @ x]
    bound = 0.5 ** (order + 1) / 0.5 * eta * np.linalg.norm(xi) + 1e-13
    assert np.linalg.norm(np.r_[nx - cx, ny - cy]) <= bound


@given(seed=seeds, n=dims, m=dims, lr=step_sizes(0.01, 0.5))
def test_acgd_first_step_closed_form(seed, n, m, lr):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    game = BilinearGame(A)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    beta, eps = 0.99, 1e-5
    gx, gy = A @ y, -A.T @ x
    # t = 1: v = (1-β)g², η = √(1-β) lr / (√v + ε)
    hx = np.sqrt(1 - beta) * lr / (np.sqrt((1 - beta) * gx**2) + eps)
    hy = np.sqrt(1 - beta) * lr / (np.sqrt((1 - beta) * gy**2) + eps)
    # docs/derivations/cgd.md:
    # (I + Hx^½ A Hy Aᵀ Hx^½) w = Hx^½ (∇ₓf + A Hy ∇_y f), Δx = -Hx^½ w,
    # then Δy = Hy (∇_y f + Aᵀ Δx) with ∇_y f = Aᵀx.
    sx = np.sqrt(hx)
    S = np.eye(n) + (sx[:, None] * A) @ (hy[:, None] * (A.T * sx[None, :]))
    w = np.linalg.solve(S, sx * (gx + A @ (hy * (A.T @ x))))
    dx = -sx * w
    dy = hy * (A.T @ x + A.T @ dx)
    x1, y1, state, info = cgd.acgd_step(game, x, y, lr, lr, solver="cg", tol=1e-13)
    # Two solves of the same SPD system: each within cond(S)·eps·‖w‖ of the truth (dense)
    # or tol·‖rhs‖ (CG, ‖S⁻¹‖ ≤ 1). Δy inherits Δx's error times ‖Hy‖‖A‖.
    eps_x = np.sqrt(hx.max()) * (1e-13 * np.linalg.norm(S @ w) + 100 * EPS * np.linalg.cond(S))
    atol_x = eps_x * (1 + np.linalg.norm(w)) + 100 * EPS * np.linalg.norm(x)
    atol_y = hy.max() * np.linalg.norm(A, 2) * atol_x + 100 * EPS * (1 + np.linalg.norm(y))
    np.testing.assert_allclose(x1, x + dx, rtol=0, atol=atol_x)
    np.testing.assert_allclose(y1, y + dy, rtol=0, atol=atol_y)
    assert state.t == 1
    np.testing.assert_allclose(state.v_x, (1 - beta) * gx**2)


def test_cgd_with_per_coordinate_steps_matches_decoupled_closed_form():
    # Diagonal A decouples the coordinates: pair i is the scalar game α_i x y with
    # step sizes (ηₓ_i, η_y_i), whose CGD iteration matrix is (I + [[0, ηₓα], [-η_yα, 0]])⁻¹.
    game = BilinearGame(np.diag([1.0, 2.0]))
    x, y = np.array([1.0, 1.0]), np.array([1.0, -1.0])
    eta_x, eta_y = np.array([0.1, 0.2]), np.array([0.3, 0.05])
    a_x, a_y = x, y
    for _ in range(10):
        a_x, a_y, _ = cgd.cgd_step(game, a_x, a_y, eta_x, eta_y, solver="cg", tol=1e-14)
    b_x, b_y = x, y
    for _ in range(10):
        b_x, b_y, _ = cgd.cgd_step(game, b_x, b_y, eta_x, eta_y, solver="dense")
    for i, alpha in enumerate((1.0, 2.0)):
        M = np.linalg.inv(np.eye(2) + np.array([[0, eta_x[i] * alpha], [-eta_y[i] * alpha, 0]]))
        z = np.linalg.matrix_power(M, 10) @ np.array([x[i], y[i]])
        np.testing.assert_allclose([a_x[i], a_y[i]], z, atol=1e-12)
        np.testing.assert_allclose([b_x[i], b_y[i]], z, atol=1e-12)


def test_sparse_matrix_game_matches_dense():
    import scipy.sparse

    rng = np.random.default_rng(1)
    A = scipy.sparse.random(40, 30, density=0.1, random_state=1, format="csr")
    x0, y0 = rng.standard_normal(40), rng.standard_normal(30)
    sparse = cgd.run(BilinearGame(A), "cgd", x0, y0, 5, eta=0.5, solver="cg", tol=1e-13)
    dense = cgd.run(BilinearGame(A.toarray()), "cgd", x0, y0, 5, eta=0.5, solver="dense")
    np.testing.assert_allclose(sparse.x, dense.x, atol=1e-10)


def test_cost_counts():
    game = BilinearGame(np.eye(3))
    z = np.ones(3)
    gda = cgd.run(game, "gda", z, z, 4, eta=0.1)
    assert gda.gradient_evaluations == 8 and gda.hvp_evaluations == 0
    eg = cgd.run(game, "extragradient", z, z, 4, eta=0.1)
    assert eg.gradient_evaluations == 16
    ogda = cgd.run(game, "ogda", z, z, 4, eta=0.1)
    assert ogda.gradient_evaluations == 8  # one gradient pair per step, reused next step
    lcgd = cgd.run(game, "lcgd", z, z, 4, eta=0.1)
    assert lcgd.hvp_evaluations == 8
    c = cgd.run(game, "cgd", z, z, 4, eta=0.1, solver="cg", warm_start=False)
    # per step: 2 gradients; HVPs: 1 for the rhs, 2 per CG iteration, 2 for the final
    # true-residual check, 1 for Δy
    assert c.gradient_evaluations == 8
    assert c.hvp_evaluations == 4 * 4 + 2 * int(c.inner_iterations.sum())


def test_runs_on_the_array_backend(xp):
    A = xp.asarray(np.array([[1.0, 2.0], [0.0, 1.0]]))
    game = BilinearGame(A)
    result = cgd.run(game, "cgd", xp.asarray([1.0, 0.0]), xp.asarray([0.0, 1.0]), 3, eta=0.2)
    assert backend.array_namespace(result.x) is xp
    expected = cgd.cgd_bilinear_closed_form(backend.to_numpy(A), [1.0, 0.0], [0.0, 1.0], 0.2, 3)
    np.testing.assert_allclose(backend.to_numpy(result.x[-1]), expected[0], atol=1e-12)


@pytest.mark.parametrize("method", ["gda", "extragradient", "lcgd", "sga", "conopt", "cgd"])
@given(alpha=st.floats(0.1, 5.0), eta=step_sizes(0.01, 0.5))
def test_normal_iteration_matrices_scale_the_norm_by_rho(method, alpha, eta):
    # On f = αxy these methods' matrices are aI − bJ: ρ times a rotation, so
    # ‖z_k‖ = ρ^k ‖z_0‖ exactly; rounding adds a few eps per step.
    K = 100
    rho = cgd.spectral_radius(method, alpha, eta)
    result = cgd.run(BilinearGame(alpha), method, 0.5, 0.5, K, eta=eta)
    k = np.arange(K + 1)
    np.testing.assert_allclose(
        result.norm, result.norm[0] * rho**k, rtol=K * 20 * np.finfo(float).eps
    )


def _acgd_by_hand(A, x, y, lr, steps, beta=0.99, eps=1e-5):
    """ACGD (docs/derivations/cgd.md) as a joint block solve, independent of refimpl."""
    n, m = A.shape
    vx, vy = np.zeros(n), np.zeros(m)
    history = []
    for t in range(1, steps + 1):
        gx, gy = A @ y, -A.T @ x  # ∇ₓf, ∇_y g for f = xᵀAy
        vx = beta * vx + (1 - beta) * gx**2
        vy = beta * vy + (1 - beta) * gy**2
        hx = np.sqrt(1 - beta**t) * lr / (np.sqrt(vx) + eps)
        hy = np.sqrt(1 - beta**t) * lr / (np.sqrt(vy) + eps)
        # first-order conditions of the local game: H⁻¹Δz + NΔz = −ξ
        K = np.block([[np.diag(1 / hx), A], [-A.T, np.diag(1 / hy)]])
        dz = np.linalg.solve(K, -np.r_[gx, gy])
        x, y = x + dz[:n], y + dz[n:]
        history.append((x, y, hx, hy, np.linalg.cond(K * np.sqrt(np.r_[hx, hy])[:, None])))
    return history


@given(seed=seeds, n=dims, m=dims, lr=step_sizes(0.01, 0.5), steps=st.integers(1, 4))
def test_acgd_matches_the_formula_by_hand(seed, n, m, lr, steps):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    expected = _acgd_by_hand(A, x, y, lr, steps)
    result = cgd.run(BilinearGame(A), "acgd", x, y, steps, eta=lr, solver="cg", tol=1e-13)
    for k, (ex, ey, hx, hy, cond) in enumerate(expected, start=1):
        # The two solves differ by tol·‖rhs‖ (CG) plus cond·eps (dense), each step scaled by
        # the step sizes; errors carry over from step to step, at most growing by cond.
        scale = (
            cond**k
            * (np.sqrt(hx.max()) + hy.max() * np.linalg.norm(A, 2))
            * (1 + np.linalg.norm(np.r_[x, y]))
        )
        tol = 1e-11 * scale
        np.testing.assert_allclose(result.x[k], ex, rtol=0, atol=tol)
        np.testing.assert_allclose(result.y[k], ey, rtol=0, atol=tol)


@given(seed=seeds, n=dims, m=dims, lr=step_sizes(0.01, 0.5), steps=st.integers(1, 5))
def test_acgd_dense_solver_matches_the_formula_by_hand(seed, n, m, lr, steps):
    # The dense path (one Cholesky, substitution) against the joint block solve: both
    # direct, each step off by cond·eps relative, carried over and grown by at most cond.
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    expected = _acgd_by_hand(A, x, y, lr, steps)
    result = cgd.run(BilinearGame(A), "acgd", x, y, steps, eta=lr, solver="dense")
    for k, (ex, ey, hx, hy, cond) in enumerate(expected, start=1):
        scale = cond**k * (1 + hx.max() + hy.max()) * (1 + np.linalg.norm(A, 2))
        tol = 100 * EPS * scale * (1 + np.linalg.norm(np.r_[x, y]))
        np.testing.assert_allclose(result.x[k], ex, rtol=0, atol=tol)
        np.testing.assert_allclose(result.y[k], ey, rtol=0, atol=tol)


@given(seed=seeds, n=dims, m=dims, lr=step_sizes(0.01, 1.0))
def test_acgd_never_grows_in_the_norm_of_its_step_matrix(seed, n, m, lr):
    # With H = diag(Hx, Hy) fixed in a step, z' = (I + HN)⁻¹z, and H^{-1/2}(I + HN)H^{1/2}
    # = I + K with K = H^{1/2}NH^{1/2} skew-symmetric, whose inverse has norm ≤ 1:
    # ‖z'‖_{H⁻¹} ≤ ‖z‖_{H⁻¹} on every bilinear game, for every step size.
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    previous = (x, y)
    for ex, ey, hx, hy, _ in _acgd_by_hand(A, x, y, lr, 5):
        h = np.r_[hx, hy]
        before = np.sqrt(np.sum(np.r_[previous[0], previous[1]] ** 2 / h))
        after = np.sqrt(np.sum(np.r_[ex, ey] ** 2 / h))
        assert after <= before * (1 + 1e-12)
        previous = (ex, ey)
    result = cgd.run(BilinearGame(A), "acgd", x, y, 5, eta=lr, solver="dense")
    np.testing.assert_allclose(result.x[-1], previous[0], atol=1e-8 * (1 + np.abs(x).max()))


def test_acgd_warm_start_through_run_changes_cost_not_result():
    rng = np.random.default_rng(2)
    game = BilinearGame(rng.standard_normal((50, 40)))
    x0, y0 = rng.standard_normal(50), rng.standard_normal(40)
    warm = cgd.run(game, "acgd", x0, y0, 15, eta=0.2, tol=1e-11, warm_start=True)
    cold = cgd.run(game, "acgd", x0, y0, 15, eta=0.2, tol=1e-11, warm_start=False)
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-8)
    assert warm.inner_iterations.sum() < cold.inner_iterations.sum()
