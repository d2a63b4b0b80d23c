"""The readable core ``refimpl/pde/core.py`` against the public routes of :mod:`refimpl.pde`.

Every tolerance bounds the difference of two routes and is derived in its test's docstring.
Two facts recur. (1) A collocation solution maps data to values: a change e of the data r
moves the values at the interior points by at most Λ‖e‖_∞, Λ = ‖K_t Θ_η⁻¹‖_∞ (K_t the
covariances of the values with the measurements), computed in each test (≈ 1.3 here: the
discrete solution operator is as stable as the PDE's). (2) Gauss–Newton carries a step's
difference into the next linearization, where its contraction damps it (derivations
section 2), so three steps add up to at most three times the per-step bound, which the
tests evaluate with the last step's matrices.
"""

import functools
import math

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import backend
from refimpl.pde import (
    CollocationSystem,
    DenseSolver,
    MeasurementKernel,
    Measurements,
    NonlinearElliptic,
    SparseSolver,
    core,
    gauss_newton,
    laplacians,
    measurement_ordering,
    multiset_maximin_ordering,
    point_values,
    solve,
)
from tests.strategies import seeds

EPS = np.finfo(float).eps
PROBLEM = NonlinearElliptic()  # Matérn-7/2, ℓ = 0.3, η = 1e-10, three steps
KERNEL = MeasurementKernel(PROBLEM.kernel)
ETA, STEPS, ELL = PROBLEM.nugget, PROBLEM.steps, PROBLEM.kernel.length_scale
CG_TOL = 1e-12


def rms(x):
    return float(np.sqrt(np.mean(x**2)))


@functools.lru_cache
def dense_reference(h):
    """The public dense solve at h, with the last step's matrices (for the tolerances)."""
    boundary, interior = PROBLEM.collocation(h)
    g, f = PROBLEM.truth(boundary), PROBLEM.rhs(interior)
    system = CollocationSystem(boundary, interior, PROBLEM.basis)
    _, weights, alpha, _ = gauss_newton(
        DenseSolver(KERNEL, system, ETA),
        lambda state: PROBLEM.linearize(state, f),
        g,
        PROBLEM.initial_state(len(interior)),
        STEPS,
    )
    measurements = system.combined(weights)
    theta = KERNEL.gram(measurements)
    theta += ETA * np.diag(np.diag(theta))  # Θ_η of the last step
    k_t = KERNEL.gram(point_values(interior), measurements)  # (n_i, N)
    return {
        "grid": (boundary, interior, g, f),
        "solution": solve(PROBLEM, h, method="dense"),
        "system": system,
        "weights": weights,
        "alpha": alpha,
        "theta": theta,
        "k_t": k_t,
        "lebesgue": np.abs(np.linalg.solve(theta, k_t.T)).sum(axis=0).max(),  # Λ
    }


def rounding_tolerance(ref, k_t=None):
    """The bound of the dense test (its docstring): steps · (Λ γ √d_max Σ_j √d_j |α_j| +
    N ε max |K_t||α|), γ = (3N + 1)ε, d = diag Θ_η."""
    theta, alpha = ref["theta"], ref["alpha"]
    k_t = ref["k_t"] if k_t is None else k_t
    n, root_d = len(alpha), np.sqrt(np.diag(theta))
    backward = ref["lebesgue"] * (3 * n + 1) * EPS * root_d.max() * (root_d @ np.abs(alpha))
    return STEPS * (backward + n * EPS * (np.abs(k_t) @ np.abs(alpha)).max())


def rows(points, a):
    """Encoded rows of a₀δ + a₁Δδ at points (n, 2), for MeasurementKernel."""
    return Measurements(points, value=a[:, 0], hessian=a[:, 1, None, None] * np.eye(2)).rows()


@given(seeds, st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_core_covariances_are_the_measurement_kernel(seed, n, m, shared):
    """k, Δ_y k, Δ_xΔ_y k of the Matérn-7/2 (d = 2) in closed form equal MeasurementKernel.

    Both routes evaluate e^{−t} times polynomials in t = √7 r/ℓ. Each rounds every term
    of each polynomial to a few ε, so the error is at most a few ε times the polynomial
    with absolute coefficients (the terms' magnitude, ``magnitude`` below), and the
    relative rounding of t (≤ 3ε) is amplified by t in e^{−t} (and by the degree in tᵏ):
    ``16 * EPS * (4 + t) * magnitude``. Shared points test r = 0, where the package uses
    limits and the core its polynomials at t = 0; the variances likewise, at t = 0.
    """
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(size=(n, 2)), rng.uniform(size=(m, 2))
    if shared:
        y[0] = x[0]
    a, b = rng.uniform(-3, 3, size=(n, 2)), rng.uniform(-3, 3, size=(m, 2))
    got = core.covariance(x, a, y, b, ELL)
    want = KERNEL(rows(x, a), rows(y, b))
    t = math.sqrt(7) * np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1)) / ELL
    c2, e = 7 / ELL**2, np.exp(-t) / 15
    k_abs = e * (15 + 15 * t + 6 * t**2 + t**3)
    lap_abs = c2 * e * (6 + 6 * t + t**2 + t**3)
    bilap_abs = c2**2 * e * (8 + 8 * t + 8 * t**2 + t**3)
    a0, a1, b0, b1 = a[:, :1], a[:, 1:], b[None, :, 0], b[None, :, 1]
    magnitude = (
        np.abs(a0 * b0) * k_abs + np.abs(a0 * b1 + a1 * b0) * lap_abs + np.abs(a1 * b1) * bilap_abs
    )
    assert np.all(np.abs(got - want) <= 16 * EPS * (4 + t) * magnitude)
    variances = KERNEL.variances(Measurements(x, a[:, 0], hessian=a[:, 1, None, None] * np.eye(2)))
    at_zero = np.abs(a[:, 0] ** 2) * 1 + np.abs(2 * a[:, 0] * a[:, 1]) * 6 * c2 / 15
    at_zero += np.abs(a[:, 1] ** 2) * 8 * c2**2 / 15  # the magnitudes at t = 0
    assert np.all(np.abs(core.variances(a, ELL) - variances) <= 16 * EPS * 4 * at_zero)


@pytest.mark.parametrize("h", [0.25, 0.125])
def test_dense_core_is_the_public_dense_solve(h):
    """Values equal ``solve(..., method="dense")`` within ``rounding_tolerance``, and so do
    the RMS and max errors (to that tolerance, hence to two significant digits).

    Both routes solve (Θ + η diag Θ)α = r by Cholesky: the computed α solves it with Θ
    perturbed by |E| ≤ γ|C||Cᵀ|, γ = (3N + 1)ε (Higham, Thm. 10.4), and
    (|C||Cᵀ|)_ij ≤ √(d_i d_j) by Cauchy–Schwarz on the rows of C; the routes' formulas for
    the entries differ by a few ε of the same size. That moves the data by Eα, hence the
    values by Λ|Eα|_∞; forming K_t α adds N ε |K_t||α|; three steps add up (module
    docstring). The Laplacians of the state: the same with K_t the covariances of Δδ.
    """
    ref = dense_reference(h)
    boundary, interior, g, f = ref["grid"]
    solution = ref["solution"]
    values, laplacians_ = core.dense_gauss_newton(boundary, interior, g, f, STEPS, ETA, ELL)
    tol = rounding_tolerance(ref)
    np.testing.assert_allclose(values, solution.values, rtol=0, atol=tol)
    assert abs(rms(values - solution.truth) - solution.rms_error) <= tol
    assert abs(np.abs(values - solution.truth).max() - solution.max_error) <= tol
    assert f"{rms(values - solution.truth):.2g}" == f"{solution.rms_error:.2g}"
    # the state's Laplacians: the same K_t-bound with the covariances of Δδ
    system, weights, alpha = ref["system"], ref["weights"], ref["alpha"]
    k_lap = KERNEL.gram(laplacians(interior), system.combined(weights))
    lebesgue_lap = np.abs(np.linalg.solve(ref["theta"], k_lap.T)).sum(axis=0).max()
    lap_tol = rounding_tolerance({**ref, "lebesgue": lebesgue_lap}, k_lap)
    np.testing.assert_allclose(laplacians_, k_lap @ alpha, rtol=0, atol=lap_tol)


def route_factor(h, rho):
    """The sparse core's big factor L at ρ and the scaled big matrix, both in its order."""
    boundary, interior, _, _ = dense_reference(h)["grid"]
    _, _, big_order, big_lengths = core.elimination_order(boundary, interior)
    points, a = core.big_list(boundary, interior)
    points, a = points[big_order], a[big_order]
    L = core.kl_factor(points, a, core.ball_mask(points, big_lengths, rho), ETA, ELL)
    theta_big = KERNEL.gram(dense_reference(h)["system"].big_measurements())  # natural order
    sd = np.sqrt(np.diag(theta_big))
    scaled = theta_big / np.outer(sd, sd) + ETA * np.eye(len(sd))  # Θ_s + ηI, natural order
    return L, big_order, sd, scaled, theta_big


@pytest.mark.parametrize("h", [0.25, 0.125])
def test_sparse_core_at_infinite_rho_is_the_dense_core(h):
    """At ρ = ∞ the KL factor is the exact inverse Cholesky factor, and the routes differ by

    * the nugget: the sparse route's is η A diag(Θ_big) Aᵀ, the dense one's η diag Θ; for
      φ_i = wδ − Δδ these differ by η 2w|Δk(0)| (the cross term of Var φ_i), a data change
      of at most η 2 max(w) |Δk(0)| max|α|; the state β = Θ_big Aᵀα then carries the
      nugget's own η w α on the value rows;
    * CG, stopped at ‖r − Θα‖ ≤ tol ‖r‖: a data change of at most tol ‖r‖₂;
    * the factor's rounding, τ = ‖LᵀΘ_sL − I‖₂ (Θ_s the scaled, ordered Θ_big + ηI):
      Θ_s − (LLᵀ)⁻¹ = L⁻ᵀ(LᵀΘ_sL − I)L⁻¹ changes datum k by at most τ √(Θ_kk αᵀr) and a
      value by τ √(αᵀr) (Cauchy–Schwarz: the rows of AD⁻¹L⁻ᵀ have norms √Θ_kk, those of
      D⁻¹L⁻ᵀ at the values 1, and ‖L⁻¹D⁻¹Aᵀα‖² = αᵀr).

    Data changes move the values by Λ times; three steps add up (module docstring).
    """
    ref = dense_reference(h)
    boundary, interior, g, f = ref["grid"]
    dense, _ = core.dense_gauss_newton(boundary, interior, g, f, STEPS, ETA, ELL)
    sparse, _ = core.sparse_gauss_newton(
        boundary, interior, g, f, np.inf, STEPS, ETA, ELL, tol=CG_TOL
    )
    L, order, _, scaled, _ = route_factor(h, np.inf)
    tau = np.linalg.norm(L.T @ scaled[np.ix_(order, order)] @ L - np.eye(len(order)), 2)
    theta, alpha, nb = ref["theta"], ref["alpha"], len(boundary)
    r = theta @ alpha  # the last step's data
    w_max, alpha_max = ref["weights"][:, 0].max(), np.abs(alpha[nb:]).max()
    z = np.zeros((1, 2))
    dk0 = abs(KERNEL.gram(point_values(z), laplacians(z))[0, 0])  # |Δk(0)|
    data = ETA * 2 * w_max * dk0 * alpha_max + CG_TOL * np.linalg.norm(r)
    data += tau * np.sqrt(np.diag(theta).max() * (alpha @ r))
    state = ETA * w_max * alpha_max + tau * np.sqrt(alpha @ r)
    tol = STEPS * (ref["lebesgue"] * data + state)
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=tol)


@pytest.mark.parametrize("h", [0.25, 0.125])
def test_sparse_core_at_finite_rho_errs_like_the_exact_prior(h):
    """At the paper's ρ = 3 the sparse core is exact GP collocation with the prior
    Θ̃ = D⁻¹(LLᵀ)⁻¹D⁻¹ (D: unit variances) in place of Θ = Θ_big + η diag Θ_big. So its
    last Gauss–Newton step, from its own iterate v₂, is within a derived bound of the exact
    prior's step from v₂, and its RMS error within the RMS of that bound of the exact step's.

    Bound: both states minimize βᵀQβ subject to Aβ = r (Q = Θ⁻¹, resp. Q̃ = Θ̃⁻¹), so
    e = β̃ − β lies in ker A and ‖e‖²_Q̃ = −eᵀ(Q̃ − Q)β ≤ ‖e‖_Q̃ ‖Q̃^{-1/2}(Q̃ − Q)β‖; with
    Q̃ = DLLᵀD (in the factor's order) and Qβ = Aᵀα, ‖e‖_Q̃ ≤ ‖LᵀDβ − L⁻¹D⁻¹Aᵀα‖. For
    e ∈ ker A, |e_k| ≤ σ_k ‖e‖_Q̃ with σ_k² the posterior variance of measurement k given
    Aφ under Θ̃ (Cauchy–Schwarz). CG's tolerance adds Λ̃ tol ‖r‖₂ (Λ̃ of the Θ̃ system).
    """
    rho = 3.0
    ref = dense_reference(h)
    boundary, interior, g, f = ref["grid"]
    nb, ni = len(boundary), len(interior)
    v_before, sparse = (
        core.sparse_gauss_newton(boundary, interior, g, f, rho, s, ETA, ELL, tol=CG_TOL)[0]
        for s in (STEPS - 1, STEPS)
    )
    L, order, sd, _, theta_big = route_factor(h, rho)
    weights = np.column_stack([3 * v_before**2, -np.ones(ni)])
    A = ref["system"].weight_matrix(weights).toarray()  # (N, N_big)
    r = np.concatenate([g, f + 2 * v_before**3])
    exact = theta_big + ETA * np.diag(np.diag(theta_big))  # Θ with the big list's nugget
    alpha = np.linalg.solve(A @ exact @ A.T, r)
    beta = exact @ A.T @ alpha  # the exact prior's state from v₂
    L_inv = np.linalg.inv(L)
    approx = np.empty_like(exact)
    approx[np.ix_(order, order)] = (L_inv.T @ L_inv) * np.outer(sd[order], sd[order])  # Θ̃
    energy = np.linalg.norm(L.T @ (beta / sd)[order] - L_inv @ (sd * (A.T @ alpha))[order])
    gram = A @ approx @ A.T
    posterior = approx - approx @ A.T @ np.linalg.solve(gram, A @ approx)
    sigma = np.sqrt(np.clip(np.diag(posterior)[nb : nb + ni], 0, None))
    k_t = (approx @ A.T)[nb : nb + ni]
    lebesgue = np.abs(np.linalg.solve(gram, k_t.T)).sum(axis=0).max()
    bound = sigma * energy + lebesgue * CG_TOL * np.linalg.norm(r)
    assert np.all(np.abs(sparse - beta[nb : nb + ni]) <= bound)
    truth = ref["solution"].truth
    assert abs(rms(sparse - truth) - rms(beta[nb : nb + ni] - truth)) <= rms(bound)


def test_sparse_core_approaches_the_dense_core_as_rho_grows():
    """At h = 0.25 the gap to the dense core falls with every step of ρ, to the ρ = ∞ gap.

    The patterns are nested, and the KL-optimal factor on a larger pattern has the smaller
    KL divergence from Θ_big [SKO, Sec. 2]; the gap follows it here (measured: 0.2, 0.029,
    0.014, 0.0002 at ρ = 1 … 4, then 2e-12 at ρ = ∞, within the previous test's bound).
    """
    boundary, interior, g, f = dense_reference(0.25)["grid"]
    dense, _ = core.dense_gauss_newton(boundary, interior, g, f, STEPS, ETA, ELL)
    gaps = [
        np.abs(core.sparse_gauss_newton(boundary, interior, g, f, rho, tol=CG_TOL)[0] - dense).max()
        for rho in (1.0, 2.0, 3.0, 4.0, np.inf)
    ]
    assert all(later < earlier for earlier, later in zip(gaps[:-1], gaps[1:], strict=True))


def boundary_and_interior(rng, nb, ni):
    """nb random points on the sides of the unit square and ni random points inside."""
    t, side = rng.uniform(size=nb), rng.integers(0, 4, size=nb)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    boundary = corners[side] + t[:, None] * (corners[(side + 1) % 4] - corners[side])
    return boundary, rng.uniform(0.05, 0.95, size=(ni, 2))


@settings(max_examples=20, deadline=None)
@given(seeds, st.integers(3, 10), st.integers(2, 20), st.sampled_from([1.5, 2.0, 3.0]))
def test_the_sparse_solvers_order_and_factor_are_the_cores_definitions(seed, nb, ni, rho):
    """The sparse solver's fast path (k-maximin by KD-tree, λ-supernodes, batched factor)
    with p = 1 orders the points and the big list as ``core.elimination_order`` does
    (exactly: random points have no ties; the lengths to the rounding of a distance, 4ε
    relative), and its big factor is ``core.kl_factor``, the KL-optimal column formula,
    on the fast path's own pattern (supernodes enlarge the ρ-ball pattern, so the
    patterns differ; the formula on a pattern does not). Both compute each column from a
    Cholesky factorization of a block Θ_SS (S ⊇ the column's rows, one supernode) + ηI:
    the forward error of such a solve is at most γ κ(Θ_SS) relative, γ = 10 |S| ε
    (Higham, Thm. 10.4 and Sec. 7.1); κ(Θ_SS) is the largest condition number of the
    columns' blocks, since S is the first column's row set of its supernode. A relative
    nugget η ∈ [1e-6, 1e-3] keeps the bound meaningful (κ ≤ |S| / η).
    """
    rng = np.random.default_rng(seed)
    boundary, interior = boundary_and_interior(rng, nb, ni)
    eta = 10.0 ** rng.uniform(-6, -3)
    solver = SparseSolver(
        KERNEL, CollocationSystem(boundary, interior, PROBLEM.basis), eta, rho=rho, p=1
    )
    point_order, point_lengths, big_order, big_lengths = core.elimination_order(boundary, interior)
    np.testing.assert_array_equal(solver.point_order, point_order)
    np.testing.assert_array_equal(solver.order, big_order)
    order, lengths = multiset_maximin_ordering(boundary, interior, p=1)
    _, m_lengths = measurement_ordering(order, lengths, nb, 2, "follow")
    np.testing.assert_allclose(m_lengths, big_lengths, rtol=4 * EPS, atol=0)

    fast = scipy.sparse.csc_matrix(solver._big.lu.U.T)  # the factor L, from its Lᵀ
    mask = fast.toarray() != 0
    points, a = core.big_list(boundary, interior)
    points, a = points[big_order], a[big_order]
    L = core.kl_factor(points, a, mask, eta, ELL)
    conditions, sizes = [], []
    for i in range(len(points)):
        rows = np.flatnonzero(mask[:, i])
        block = core.covariance(points[rows], a[rows], points[rows], a[rows], ELL)
        sd = np.sqrt(np.diag(block))
        conditions.append(np.linalg.cond(block / np.outer(sd, sd) + eta * np.eye(len(rows))))
        sizes.append(len(rows))
    tol = 10 * max(sizes) * EPS * max(conditions) * np.abs(L).max()
    np.testing.assert_allclose(fast.toarray(), L, rtol=0, atol=tol)


def test_core_runs_on_the_inputs_backend(xp):
    """xp arrays in (CuPy on a GPU machine) give xp arrays out, with the NumPy core's values:
    the dense core within ``rounding_tolerance`` (another BLAS sums in another order, the
    same backward-error bound), the sparse core at ρ = 3 within that plus steps Λ tol ‖r‖₂
    (CG may stop an iteration apart)."""
    h = 0.25
    ref = dense_reference(h)
    grid = ref["grid"]
    r = ref["theta"] @ ref["alpha"]
    tol = rounding_tolerance(ref)
    for route, extra in (
        (core.dense_gauss_newton, tol),
        (
            functools.partial(core.sparse_gauss_newton, rho=3.0, tol=CG_TOL),
            tol + STEPS * ref["lebesgue"] * CG_TOL * np.linalg.norm(r),
        ),
    ):
        values, laplacians_ = route(*[xp.asarray(x) for x in grid])
        assert type(values) is type(laplacians_) is type(xp.asarray(grid[0]))
        np.testing.assert_allclose(backend.to_numpy(values), route(*grid)[0], rtol=0, atol=extra)
