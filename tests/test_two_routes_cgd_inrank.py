"""Two routes to one quantity, in refimpl.cgd, refimpl.inrank and refimpl.nn: they must agree.

Each test computes one quantity by two routes of the package (the runner and the step
functions, a Krylov and a dense solve, a closed form and a numerical reference, an exact
gradient and differences of the loss) and checks that they agree to a bound derived
from the maths: exact equality where both routes run the same arithmetic, the solver's
tolerance times the norm of the system's inverse for Krylov solves, a few ulps times a
size for rounding, and the stated tolerances of the ODE and quadrature references.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    seeds,
    sign_changes_within,
    small_gan,
    step_sizes,
    well_conditioned_matrices,
)

from refimpl import cgd
from refimpl.cgd import QuadraticGame
from refimpl.inrank import orthogonal_init, teacher, teacher_data
from refimpl.inrank import train as train_linear
from refimpl.inrank.algorithm import full_rank_train, inrank
from refimpl.inrank.dynamics import (
    integrate_mode_ode,
    mode_strength,
    mode_time,
    quadrature_mode_time,
)
from refimpl.inrank.efficient import inrank_efficient
from refimpl.inrank.layers import LowRankUpdateLayer
from refimpl.inrank.truncation import gram_factor, triangular_factor
from refimpl.nn import MLP, squared_error, squared_error_hvp
from refimpl.validation import DivergenceError

EPS = np.finfo(float).eps
dims = st.integers(1, 6)


# ---------------------------------------------------------------- helpers


def _quadratic_game(rng, n, m):
    """A zero-sum quadratic game with every block non-zero (ConOpt uses D_xx f and D_yy g)."""
    P, Q = rng.standard_normal((n, n)), rng.standard_normal((m, m))
    return QuadraticGame((P + P.T) / 2, rng.standard_normal((n, m)), (Q + Q.T) / 2)


def _linear_problem(seed=0, noise=0.1):
    s = np.array([3.0, 2.5, 2.0, 1.5, 1.2, 1.0])
    t = teacher(s, 6, 6, rng=seed)
    X, Y = teacher_data(t.target, 12, rng=seed + 1, noise=noise)
    return orthogonal_init((6, 6, 6, 6), 0.5, rng=seed + 2), X, Y


def _third_derivative_bound(curvature, s):
    """Estimate of max |φ‴| near 0 from the exact curvature φ″ at −s, 0 and s.

    The larger one-sided difference: a kink of a piecewise-smooth φ within s of 0 on one
    side makes that side's difference large (a jump over s), never smaller, while the
    other side still estimates φ‴ to O(s φ⁗).
    """
    c_minus, c_0, c_plus = curvature(-s), curvature(0.0), curvature(s)
    return max(abs(c_plus - c_0), abs(c_0 - c_minus)) / s


def _outcome(call):
    """The result of ``call()``, or the DivergenceError it raised (a run may overflow)."""
    try:
        return call()
    except DivergenceError as error:
        return error


def _cgd_error_terms(A, hx, hy, gx, gy, solver):
    """The sizes that bound |z_krylov − z_dense| for one zero-sum CGD step.

    A = D_xy f, H = diag(hx, hy), ξ = (∇ₓf, ∇_y g). CG solves S w = b, S = I + BBᵀ with
    B = Hx^½ A Hy^½ and b = Hx^½(∇ₓf − A Hy ∇_y g), then Δx = −Hx^½ w; GMRES solves
    M Δx = −Hx^½ b with M = I + Hx A Hy Aᵀ. A residual ≤ tol·‖rhs‖ leaves an error
    ≤ tol·‖rhs‖·‖system⁻¹‖ in the unknown, so Δx is off by ≤ tol·rhs_norm·inv_norm
    (rhs_norm = max √hx·‖b‖ for CG, ‖Hx^½ b‖ for GMRES), which Δy = −Hy(∇_y g − AᵀΔx)
    carries over times coupling = ‖Hy Aᵀ‖. The dense solve (a Cholesky of S, or of y's
    system; cond(S) = 1 + ‖B‖²) is backward stable: off by a few ulps times the size
    times cond(S), relative to step_scale = √max(h)·(1 + ‖B‖)²·‖H^½ ξ‖, which bounds
    both players' steps without cancellation.
    """
    n = A.shape[0]
    sx, sy = np.sqrt(hx), np.sqrt(hy)
    norm_B = np.linalg.norm(sx[:, None] * A * sy[None, :], 2)
    b = sx * (gx - A @ (hy * gy))
    if solver == "cg":
        system = np.eye(n) + (sx[:, None] * A) @ (hy[:, None] * (A.T * sx[None, :]))
        rhs_norm = sx.max() * np.linalg.norm(b)
    else:
        system = np.eye(n) + hx[:, None] * (A @ (hy[:, None] * A.T))
        rhs_norm = np.linalg.norm(sx * b)
    inv_norm = np.linalg.norm(np.linalg.inv(system), 2)
    coupling = np.linalg.norm(hy[:, None] * A.T, 2)
    cond_S = 1 + norm_B**2
    step_scale = np.sqrt(max(hx.max(), hy.max())) * (1 + norm_B) ** 2
    step_scale *= np.linalg.norm(np.r_[sx * gx, sy * gy])
    return rhs_norm, inv_norm, coupling, cond_S, step_scale


# ---------------------------------------------------------------- (a) runner vs steps

RUN_CASES = [
    ("gda", None),
    ("altgda", None),
    ("ogda", None),
    ("extragradient", None),
    ("lcgd", None),
    ("sga", None),
    ("conopt", None),
    ("cgd", "dense"),
    ("cgd", "cg"),
    ("cgd", "gmres"),
    ("acgd", "dense"),
    ("acgd", "cg"),
    ("acgd", "gmres"),
]


def _steps_by_hand(method, game, x, y, eta_x, eta_y, steps, options):
    """The step functions called one at a time, carrying each method's memory by hand."""
    xs, ys, iterations = [x], [y], []
    memory = None  # OGDA: previous gradients; CGD: last inner solution; ACGD: ACGDState
    plain = {
        "gda": cgd.gda_step,
        "altgda": cgd.altgda_step,
        "extragradient": cgd.extragradient_step,
        "lcgd": cgd.lcgd_step,
    }
    solve_options = {key: options[key] for key in ("solver", "tol") if key in options}
    for _ in range(steps):
        used = 0
        if method in plain:
            x, y = plain[method](game, x, y, eta_x, eta_y)
        elif method == "ogda":
            x, y, memory = cgd.ogda_step(game, x, y, eta_x, eta_y, memory)
        elif method == "sga":
            x, y = cgd.sga_step(game, x, y, eta_x, eta_y, options["gamma"])
        elif method == "conopt":
            x, y = cgd.conopt_step(game, x, y, eta_x, eta_y, options["gamma"])
        elif method == "cgd":
            guess = memory if options["warm_start"] else None
            x, y, info = cgd.cgd_step(
                game, x, y, eta_x, eta_y, initial_guess=guess, **solve_options
            )
            memory, used = info.solution, info.iterations
        else:
            x, y, memory, info = cgd.acgd_step(
                game, x, y, eta_x, eta_y, memory, warm_start=options["warm_start"], **solve_options
            )
            used = info.iterations
        xs.append(x)
        ys.append(y)
        iterations.append(used)
    return np.array(xs), np.array(ys), np.array(iterations, dtype=int)


@pytest.mark.parametrize("method, solver", RUN_CASES)
@given(
    seed=seeds,
    n=dims,
    m=dims,
    steps=st.integers(1, 6),
    eta_x=step_sizes(0.01, 0.5),
    eta_y=step_sizes(0.01, 0.5),
    gamma=st.floats(0.0, 2.0),
    warm_start=st.booleans(),
)
def test_run_equals_its_step_function_called_step_by_step(
    method, solver, seed, n, m, steps, eta_x, eta_y, gamma, warm_start
):
    """``run(…, steps=k)`` is k calls of the method's step function: exact equality.

    Both routes do the same arithmetic on the same numbers (the runner only wraps the
    game in a counter), and the state the runner carries (OGDA's previous gradients,
    CGD's warm start, ACGD's moment estimates and warm start) is carried here through the
    step functions' own arguments. Compared over the steps the run recorded.
    """
    rng = np.random.default_rng(seed)
    game = _quadratic_game(rng, n, m)
    x0, y0 = rng.standard_normal(n), rng.standard_normal(m)
    options = {}
    if method in ("sga", "conopt"):
        options["gamma"] = gamma
    if solver is not None:
        options.update(solver=solver, tol=1e-10, warm_start=warm_start)
    result = cgd.run(game, method, x0, y0, steps, eta_x=eta_x, eta_y=eta_y, **options)
    xs, ys, iterations = _steps_by_hand(
        method, game, x0, y0, eta_x, eta_y, result.steps_taken, options
    )
    np.testing.assert_array_equal(result.x, xs)
    np.testing.assert_array_equal(result.y, ys)
    np.testing.assert_array_equal(result.inner_iterations, iterations)


# ---------------------------------------------------------------- (b) ACGD solvers


@pytest.mark.parametrize("solver", ["cg", "gmres"])
@given(
    seed=seeds,
    n=dims,
    m=dims,
    eta=step_sizes(0.01, 0.5),
    before=st.integers(0, 3),
)
def test_acgd_step_by_a_krylov_solver_equals_the_dense_solve(solver, seed, n, m, eta, before):
    """ACGD's step by CG or GMRES is the dense step within tol·‖rhs‖·‖system⁻¹‖.

    Bound (derived in ``_cgd_error_terms``): the Krylov residual tolerance times the norm
    of the inverse of the system the solver sees (computed here from the adaptive step
    matrices), carried to y through Hy Aᵀ, plus the dense solve's rounding ε·cond(S).
    The step starts from the state of ``before`` dense steps, so later t are covered too.
    """
    rng = np.random.default_rng(seed)
    game = _quadratic_game(rng, n, m)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    beta, eps, tol = 0.99, 1e-5, 1e-10
    state = None
    for _ in range(before):
        x, y, state, _ = cgd.acgd_step(game, x, y, eta, eta, state, solver="dense")
    t = 1 if state is None else state.t + 1
    v_x = np.zeros(n) if state is None else state.v_x
    v_y = np.zeros(m) if state is None else state.v_y
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    _, hx = cgd.adaptive_step_sizes(v_x, gx, t, eta, beta, eps)
    _, hy = cgd.adaptive_step_sizes(v_y, gy, t, eta, beta, eps)
    xd, yd, _, _ = cgd.acgd_step(game, x, y, eta, eta, state, beta, eps, solver="dense")
    xk, yk, _, info = cgd.acgd_step(
        game, x, y, eta, eta, state, beta, eps, solver=solver, tol=tol, warm_start=False
    )
    assert info.converged
    rhs_norm, inv_norm, coupling, cond_S, step_scale = _cgd_error_terms(
        game.A, hx, hy, gx, gy, solver
    )
    krylov = tol * rhs_norm * inv_norm
    rounding = 10 * (n + m) * EPS * cond_S * step_scale
    # each route rounds x + Δx once more: ε‖x_new‖ apiece, ‖Δx‖ already in step_scale
    atol_x = krylov + rounding + 4 * EPS * np.linalg.norm(x)
    atol_y = coupling * krylov + rounding + 4 * EPS * np.linalg.norm(y)
    assert np.linalg.norm(xk - xd) <= atol_x
    assert np.linalg.norm(yk - yd) <= atol_y


# ---------------------------------------------------------------- (c) the GAN game


@pytest.mark.parametrize("loss", ["wgan", "cross_entropy"])
@pytest.mark.parametrize("solver", ["cg", "gmres"])
@given(seed=seeds, eta=step_sizes(0.01, 0.3))
def test_cgd_step_on_the_gan_by_a_krylov_solver_equals_the_dense_solve(solver, loss, seed, eta):
    """CGD on a tiny GAN: CG and GMRES agree with the dense step to tol·‖rhs‖·‖system⁻¹‖.

    The same bound as for ACGD (``_cgd_error_terms``), with A = D_xy f
    assembled from the game's own products and Hx = ηI, Hy = ηI.
    """
    game, x, y, _ = small_gan(seed % 1000, loss)
    tol = 1e-10
    A = game.dxy_f(x, y, np.eye(game.m))
    gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    xd, yd, _ = cgd.cgd_step(game, x, y, eta, eta, solver="dense")
    xk, yk, info = cgd.cgd_step(game, x, y, eta, eta, solver=solver, tol=tol)
    assert info.converged
    n, m = game.n, game.m
    hx, hy = np.full(n, eta), np.full(m, eta)
    rhs_norm, inv_norm, coupling, cond_S, step_scale = _cgd_error_terms(A, hx, hy, gx, gy, solver)
    krylov = tol * rhs_norm * inv_norm
    rounding = 10 * (n + m) * EPS * cond_S * step_scale
    # each route rounds x + Δx once more: ε‖x_new‖ apiece, ‖Δx‖ already in step_scale
    atol_x = krylov + rounding + 4 * EPS * np.linalg.norm(x)
    atol_y = coupling * krylov + rounding + 4 * EPS * np.linalg.norm(y)
    assert np.linalg.norm(xk - xd) <= atol_x
    assert np.linalg.norm(yk - yd) <= atol_y


@pytest.mark.parametrize("loss", ["wgan", "cross_entropy"])
@given(seed=seeds, k=st.integers(1, 4))
def test_gan_products_with_a_block_of_vectors_equal_the_products_one_vector_at_a_time(
    loss, seed, k
):
    """D_xy f V, D_yx g U, D_xx f U and D_yy g V for a block equal the column-wise products.

    Exact: a block is the same forward-over-reverse pass applied to each column.
    """
    game, x, y, rng = small_gan(seed % 1000, loss)
    U, V = rng.standard_normal((game.n, k)), rng.standard_normal((game.m, k))
    for product, block in (
        (game.dxy_f, V),
        (game.dyx_g, U),
        (game.dxx_f, U),
        (game.dyy_g, V),
    ):
        one_at_a_time = np.stack([product(x, y, block[:, j]) for j in range(k)], axis=1)
        np.testing.assert_array_equal(product(x, y, block), one_at_a_time)


@given(seed=seeds)
def test_cross_entropy_gan_gradients_match_central_differences_of_the_loss(seed):
    """∇ₓf·u and ∇_y g·v equal central differences of f and g along u and v.

    A central difference with step h errs by at most h²/6·M₃, M₃ the third derivative of
    the loss along the line (estimated from one-sided differences of the exact second
    directional derivatives uᵀD_xx f u, vᵀD_yy g v with a coarser step s; a factor 4
    allows for the estimate), plus rounding: two loss values, each off by ~ε·scale,
    divided by 2h.
    """
    game, x, y, rng = small_gan(seed % 1000, "cross_entropy")
    u, v = rng.standard_normal(game.n), rng.standard_normal(game.m)
    h, s = 1e-5, 1e-3
    cases = [  # (loss along the line, exact slope, curvature along the line)
        (
            lambda t: game.f(x + t * u, y),
            game.grad_x_f(x, y) @ u,
            lambda t: u @ game.dxx_f(x + t * u, y, u),
        ),
        (
            lambda t: game.g(x, y + t * v),
            game.grad_y_g(x, y) @ v,
            lambda t: v @ game.dyy_g(x, y + t * v, v),
        ),
    ]
    for loss, slope, curvature in cases:
        central = (loss(h) - loss(-h)) / (2 * h)
        third = _third_derivative_bound(curvature, s)
        scale = max(abs(loss(h)), abs(loss(-h)), 1.0)
        atol = 4 * (h**2 / 6 * third + 10 * EPS * scale / h)
        assert abs(central - slope) <= atol


# ---------------------------------------------------------------- (d), (e) InRank training


@given(
    seed=seeds.map(lambda v: v % 1000),
    adapt_steps=st.integers(1, 60),
    extra=st.integers(0, 30),
    record_every=st.integers(1, 20),
    optimizer=st.sampled_from(["gd", "sgd", "adam"]),
    truncate=st.sampled_from(["weight", "update"]),
    threshold=st.floats(0.3, 1.0),
    buffer=st.integers(0, 2),
    warmup=st.integers(0, 15),
    gap=st.integers(1, 8),
)
def test_efficient_inrank_starts_with_the_same_records_as_inrank(
    seed, adapt_steps, extra, record_every, optimizer, truncate, threshold, buffer, warmup, gap
):
    """The adaptive stage of ``inrank_efficient`` is ``inrank`` for ``adapt_steps`` steps.

    Exact equality of the recorded steps, losses, ranks and active columns: the first
    stage calls ``inrank`` with the same arguments and the same random stream (the seed
    draws the initial U first, then the mini-batches); truncation comes after its last
    record.
    """
    weights, X, Y = _linear_problem(seed)
    lr = 0.01 if optimizer == "adam" else 0.05
    options = dict(
        optimizer=optimizer,
        threshold=threshold,
        initial_rank=1,
        buffer=buffer,
        warmup=warmup,
        gap=gap,
        record_every=record_every,
        rng=seed,
    )
    total = adapt_steps + extra
    alone = _outcome(lambda: inrank(weights, X, Y, lr, adapt_steps, **options))
    both = _outcome(
        lambda: inrank_efficient(
            weights, X, Y, lr, total, adapt_steps, truncate=truncate, **options
        )
    )
    if isinstance(alone, DivergenceError):  # then the first stage overflows at the same step
        assert isinstance(both, DivergenceError) and both.step == alone.step
        return
    if isinstance(both, DivergenceError):  # the fixed-rank stage may overflow on its own
        assert both.step > adapt_steps
        return
    records = len(alone.steps)
    np.testing.assert_array_equal(both.steps[:records], alone.steps)
    np.testing.assert_array_equal(both.loss[:records], alone.loss)
    np.testing.assert_array_equal(both.ranks[:records], alone.ranks)
    np.testing.assert_array_equal(both.active[:records], alone.active)
    if extra == 0:
        assert len(both.steps) == records


@given(
    seed=seeds.map(lambda v: v % 1000),
    steps=st.integers(0, 60),
    record_every=st.integers(1, 20),
    optimizer=st.sampled_from(["gd", "sgd", "adam"]),
    batch_size=st.sampled_from([None, 1, 4, 12]),
)
def test_full_rank_train_equals_train_on_the_same_problem(
    seed, steps, record_every, optimizer, batch_size
):
    """``full_rank_train`` and ``refimpl.inrank.train`` run one loop on dense layers: exact.

    Both build ``DenseLayer`` copies of the weights and call ``run_training`` with the
    same optimizer, batches and seed, so losses and final weights are bit for bit equal.
    """
    weights, X, Y = _linear_problem(seed)
    lr = 0.01 if optimizer == "adam" else 0.05
    batch = None if optimizer == "gd" else batch_size
    options = dict(optimizer=optimizer, batch_size=batch, record_every=record_every, rng=seed)
    full = _outcome(lambda: full_rank_train(weights, X, Y, lr, steps, **options))
    tracked = _outcome(lambda: train_linear(weights, X, Y, lr, steps, **options))
    if isinstance(full, DivergenceError):  # an overflow at the same step is agreement too
        assert isinstance(tracked, DivergenceError) and tracked.step == full.step
        assert str(tracked) == str(full)
        return
    np.testing.assert_array_equal(full.steps, tracked.steps)
    np.testing.assert_array_equal(full.loss, tracked.loss)
    for a, b in zip(full.weights, tracked.weights, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- (f), (g) factorizations


@given(
    seed=seeds,
    m=st.integers(1, 12),
    n=st.integers(1, 12),
    columns=st.integers(1, 6),
    rank=st.integers(1, 6),
    buffer=st.integers(0, 3),
    log_scale=st.floats(-3.0, 3.0),
)
def test_update_singular_values_from_two_qrs_equal_the_svd_of_the_update(
    seed, m, n, columns, rank, buffer, log_scale
):
    """σ(R_U R_Vᵀ) from thin QRs equals σ(U_k V_kᵀ) from a dense SVD.

    Bound: both routes are backward stable in the factors (Householder QR, the product
    U_k V_kᵀ, the SVD), so each computes the singular values of (U + δU)(V + δV)ᵀ with
    ‖δU‖ ≲ (m + n) ε ‖U‖; by Weyl the values move by ≲ (m + n) ε ‖U_k‖‖V_k‖. That
    scale, not s₀, is the one of the backward error: ‖U_k‖‖V_k‖ ≥ s₀, and far above it
    when the factors cancel.
    """
    rng = np.random.default_rng(seed)
    columns = min(columns, m, n)
    rank = min(rank, columns)
    U = 10.0**log_scale * rng.standard_normal((m, columns))
    V = rng.standard_normal((n, columns))
    layer = LowRankUpdateLayer(rng.standard_normal((m, n)), U, V, rank=rank, buffer=buffer)
    k = layer.active
    by_qr = layer.update_singular_values()
    by_svd = np.linalg.svd(layer.update(), compute_uv=False)
    assert by_qr.shape == (k,)
    atol = 10 * (m + n) * EPS * np.linalg.norm(U[:, :k], 2) * np.linalg.norm(V[:, :k], 2)
    np.testing.assert_allclose(by_qr, by_svd[:k], rtol=0, atol=atol)
    np.testing.assert_allclose(by_svd[k:], 0.0, rtol=0, atol=atol)  # rank U_k V_kᵀ ≤ k


@given(
    A=st.sampled_from([1.0, 10.0, 1e2, 1e4]).flatmap(
        lambda c: well_conditioned_matrices(st.integers(1, 12), st.integers(1, 6), c)
    ),
    log_scale=st.floats(-3.0, 3.0),
)
def test_gram_factor_and_triangular_factor_give_the_same_r(A, log_scale):
    """The Cholesky factor of AᵀA and the R of a QR of A agree, in RᵀR and in R.

    RᵀR: each route reproduces AᵀA up to a backward error of (m + k) ε ‖A‖² (the product
    AᵀA and the Cholesky, or Householder's ‖δA‖ ≲ (m + k) ε ‖A‖), independent of κ(A).
    R itself (signs fixed to a positive diagonal): the Cholesky factor's perturbation
    is bounded by κ(AᵀA) = κ(A)² times the relative perturbation of AᵀA.
    """
    A = 10.0**log_scale * A
    m, k = A.shape
    by_gram, by_qr = gram_factor(A), triangular_factor(A)
    assert by_gram.shape == by_qr.shape
    norm_A = np.linalg.norm(A, 2)
    cond = np.linalg.cond(A)
    atol = 10 * (m + k) * EPS * norm_A**2
    np.testing.assert_allclose(by_gram.T @ by_gram, by_qr.T @ by_qr, rtol=0, atol=atol)
    signs_gram = np.sign(np.diagonal(by_gram))[:, None]
    signs_qr = np.sign(np.diagonal(by_qr))[:, None]
    atol_r = 10 * (m + k) * EPS * cond**2 * norm_A
    np.testing.assert_allclose(signs_gram * by_gram, signs_qr * by_qr, rtol=0, atol=atol_r)


# ---------------------------------------------------------------- (h) mode dynamics

singular = st.floats(0.2, 6.0)
small_u0 = st.floats(1e-6, 0.05)
times = st.floats(0.0, 30.0)


@given(s=singular, u0=small_u0, t=times)
def test_depth_one_mode_strength_matches_ode_integration(s, u0, t):
    """The explicit depth-1 solution u = s + (u₀ − s)e^{−t/τ} against LSODA.

    LSODA runs at rtol 1e-11; the closed form is exact, so agreement is ~1e-9
    relative; rel 1e-7, as in the depth 2 and 3 test of test_inrank_dynamics.py.
    """
    u = float(mode_strength(s, u0, t, 1))
    ref = float(integrate_mode_ode(np.array([s]), np.array([u0]), np.array([t]), 1, 1.0)[0])
    assert u == pytest.approx(ref, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("depth", [1, 2])
@given(s=singular, u0=small_u0, frac=st.floats(0.01, 0.99))
def test_closed_form_mode_time_matches_quadrature_at_depths_one_and_two(depth, s, u0, frac):
    """τ ln((s − u₀)/(s − u₁)) (depth 1) and the logistic time (depth 2) against QUADPACK.

    The quadrature runs at epsrel 1e-11 and the closed forms are exact: rel 1e-8, as in
    the depth-3 test of test_inrank_dynamics.py.
    """
    u1 = max(frac * s, 1.01 * u0)
    t_closed = float(mode_time(s, u0, u1, depth))
    t_quad = float(quadrature_mode_time(np.array([s]), np.array([u0]), np.array([u1]), depth)[0])
    assert t_closed == pytest.approx(t_quad, rel=1e-8)


# ---------------------------------------------------------------- (i) refimpl.nn


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu"])
@given(seed=seeds)
def test_squared_error_gradient_matches_central_differences_of_the_loss(activation, seed):
    """∇ℓ·v equals the central difference of ℓ along v within h²/6·M₃ + rounding/h.

    M₃ bounds the third derivative of ℓ(θ + tv) near t = 0; it is estimated from
    one-sided differences of the exact curvature vᵀ∇²ℓ v with a coarser step s (a factor
    4 allows for the estimate). For leaky ReLU, ℓ is a polynomial in t between kinks (M₃
    ≠ 0: the output is a product of weights); a kink within s only enlarges the estimate.
    The bound needs ℓ smooth on [−h, h]: a draw where a unit changes sign within h (about
    one in a thousand) breaks that hypothesis and is set aside, not tolerated.
    """
    rng = np.random.default_rng(seed)
    widths = (3, 6, 5, 2)
    net = MLP(widths, activation)
    theta = net.init(rng) + 0.1 * rng.standard_normal(net.n_params)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    v = rng.standard_normal(net.n_params)
    h, s = 1e-5, 1e-3
    if activation == "leaky_relu":  # tanh is smooth: its sign changes are no kinks
        assume(not sign_changes_within(widths, activation, theta, v, X, h))
    slope = squared_error(net, theta, X, Y)[1] @ v
    plus = squared_error(net, theta + h * v, X, Y)[0]
    minus = squared_error(net, theta - h * v, X, Y)[0]
    central = (plus - minus) / (2 * h)

    def curvature(t):
        return v @ squared_error_hvp(net, theta + t * v, X, Y, v)

    third = _third_derivative_bound(curvature, s)
    scale = max(abs(plus), abs(minus), 1.0)
    atol = 4 * (h**2 / 6 * third + 10 * EPS * scale / h)
    assert abs(central - slope) <= atol
