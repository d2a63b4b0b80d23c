"""The readable cores of ``refimpl/vecchia/core.py`` equal the package's public functions.

Orderings, patterns and supernodes compare floating-point distances: the cores compute
them by the same expression as the package (``sqrt(sum((x_i - x_j)²))``, summed left to
right; the package's rescaling by a power of two is exact), so on points without ties
they agree exactly. Factors solve with blocks Θ_ss of Θ: each route's column has a
relative rounding error of about |s| · κ(Θ_ss) · ε, with κ(Θ_ss) ≤ κ(Θ) by eigenvalue
interlacing and |s| ≤ n, hence ``10 * n * condition(theta) * EPS * scale`` with ``scale``
the largest entry (10 for the constants of two backward-stable routes).
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from refimpl import backend
from refimpl.vecchia import (
    Matern,
    ball_pattern,
    core,
    dense_inverse_cholesky,
    kl_divergence,
    kl_factor,
    maximin_ordering,
    maximin_ordering_brute_force,
    supernodal_kl_factor,
    supernodes,
)
from tests.strategies import point_clouds

EPS = np.finfo(float).eps
# Points 1e-2 apart keep Matérn blocks well enough conditioned for a factor to be
# distinguishable from a perturbed one (κ up to about 1e5 at n = 60).
CLOUDS = point_clouds(n=st.integers(2, 60), d=st.integers(1, 3), min_separation=1e-2)
KERNELS = st.sampled_from([Matern(0.5, 0.3), Matern(1.5, 0.2), Matern(0.5, 0.1)])
# ρ = 1 puts the point that set l_j exactly on the ball's boundary; ρ = ∞ is the full pattern
RHOS = st.one_of(st.sampled_from([1.0, np.inf]), st.floats(0.5, 6.0))


def condition(theta):
    return np.linalg.cond(theta)


def ordered(points, p=1):
    order, lengths = maximin_ordering(points, p=p)
    return points[order], lengths


def as_groups(sn):
    return [(sn.member_columns(s), sn.row_set(s)) for s in range(sn.count)]


@given(CLOUDS, st.integers(1, 3), st.data())
def test_reverse_maximin_is_the_public_ordering(points, p, data):
    """Order and lengths equal both public orderings exactly, from point 0 and from a
    drawn sequence of initial points: the same greedy choices (ties to the lowest index,
    the first p points by their farthest chosen point) on bitwise-equal distances, and
    lengths are those distances (inf for the last p). The brute force is the core behind
    its checks; the fast ordering is a different algorithm held to it here."""
    n = len(points)
    drawn = data.draw(st.permutations(range(n)))[: data.draw(st.integers(1, min(n, 4)))]
    for initial in ([0], drawn):
        order, lengths = core.reverse_maximin(points, p, initial)
        for public in (maximin_ordering_brute_force, maximin_ordering):
            expected_order, expected_lengths = public(points, p=p, initial=initial)
            np.testing.assert_array_equal(order, expected_order)
            np.testing.assert_array_equal(lengths, expected_lengths)


@given(CLOUDS, RHOS, st.integers(1, 3))
def test_ball_mask_is_ball_pattern(points, rho, p):
    """Entry for entry the public pattern: both test dist(x_i, x_j) <= ρ l_j on the
    same rounded distance (the package's power-of-two rescaling is exact), so even a
    point at exactly ρ l_j (ρ = 1, the point that set l_j) is decided alike."""
    x, lengths = ordered(points, p)
    expected = ball_pattern(x, lengths, rho).to_sparse().toarray() > 0
    np.testing.assert_array_equal(core.ball_mask(x, lengths, rho), expected)


@given(CLOUDS, KERNELS, RHOS)
def test_kl_factor_loop_is_kl_factor(points, kernel, rho):
    """Column by column, Θ_ss⁻¹e₁/√(e₁ᵀΘ_ss⁻¹e₁) by an LU solve against the flipped
    Cholesky of kl_factor: each column's relative error is |s| κ(Θ_ss) ε, κ(Θ_ss) ≤ κ(Θ),
    so ``10 * n * condition(theta) * EPS * scale`` (scale: the largest entry)."""
    x, lengths = ordered(points)
    theta = kernel(x, x)
    mask = core.ball_mask(x, lengths, rho)
    L = core.kl_factor_loop(x, kernel, mask)
    expected = kl_factor(x, kernel, ball_pattern(x, lengths, rho)).toarray()
    scale = np.abs(expected).max()
    atol = 10 * len(x) * condition(theta) * EPS * scale
    np.testing.assert_allclose(L, expected, rtol=0, atol=atol)


@given(CLOUDS, RHOS, st.floats(1.0, 3.0), st.integers(1, 3))
def test_group_supernodes_are_supernodes(points, rho, lam, p):
    """The same walk over the columns, with the same comparisons l_k <= λ l_j on the
    same lengths and the same pattern: members and row sets are equal exactly."""
    x, lengths = ordered(points, p)
    groups = core.group_supernodes(core.ball_mask(x, lengths, rho), lengths, lam)
    expected = as_groups(supernodes(ball_pattern(x, lengths, rho), lengths, lam))
    assert len(groups) == len(expected)
    for (members, rows), (expected_members, expected_rows) in zip(groups, expected, strict=True):
        np.testing.assert_array_equal(members, expected_members)
        np.testing.assert_array_equal(rows, expected_rows)


@given(CLOUDS, KERNELS, RHOS, st.floats(1.0, 3.0))
def test_supernodal_factor_loop_is_supernodal_kl_factor(points, kernel, rho, lam):
    """One Cholesky of Θ_RR and a triangular inverse per supernode against the package's
    batched Cholesky and triangular solve of the same blocks: a relative error of
    |R| κ(Θ_RR) ε per route, |R| ≤ n and κ(Θ_RR) ≤ κ(Θ), so
    ``10 * n * condition(theta) * EPS * scale``."""
    x, lengths = ordered(points)
    theta = kernel(x, x)
    sn = supernodes(ball_pattern(x, lengths, rho), lengths, lam)
    L = core.supernodal_factor_loop(x, kernel, as_groups(sn))
    expected = supernodal_kl_factor(x, kernel, sn).toarray()
    scale = np.abs(expected).max()
    atol = 10 * len(x) * condition(theta) * EPS * scale
    np.testing.assert_allclose(L, expected, rtol=0, atol=atol)


@given(CLOUDS, KERNELS)
def test_inverse_cholesky_is_dense_inverse_cholesky(points, kernel):
    """The core's Cholesky of FΘF against the package's blocked LAPACK Cholesky, each
    followed by the core's triangular solve: both backward stable, a relative error of
    n κ(Θ) ε each, so ``10 * n * condition(theta) * EPS * scale``; above the diagonal
    both are exactly 0."""
    x, _ = ordered(points)
    theta = kernel(x, x)
    L = core.inverse_cholesky(theta)
    expected = dense_inverse_cholesky(theta)
    scale = np.abs(expected).max()
    atol = 10 * len(x) * condition(theta) * EPS * scale
    np.testing.assert_allclose(L, expected, rtol=0, atol=atol)
    assert np.all(np.triu(L, 1) == 0) and np.all(np.triu(expected, 1) == 0)


@given(CLOUDS, KERNELS, st.floats(0.5, 3.0))
def test_kl_is_kl_divergence(points, kernel, rho):
    """(1.1) of docs/derivations/vecchia.md summed as written against the package's
    per-column form (1.2), for the same L. Each of the n terms L_jᵀ(Θ L_j) of tr(LᵀΘL)
    is two length-n sums, off by 2 n ε |L_j|ᵀΘ|L_j| ≤ 2 n ε λmax(Θ)‖L_j‖² ≤ 2 n ε κ(Θ)
    (Θ ≥ 0 entrywise, ‖L_j‖² ≤ ‖Θ_ss⁻¹‖): n² κ ε in all; log det Θ from a Cholesky with
    backward error n ε ‖Θ‖ moves by tr(Θ⁻¹δΘ) ≤ n² κ ε; the other terms are at most
    n |log λ(Θ)|, far below. Hence
    ``10 * n**2 * condition(theta) * EPS`` (absolute: KL is a number of nats)."""
    x, lengths = ordered(points)
    theta = kernel(x, x)
    L = kl_factor(x, kernel, ball_pattern(x, lengths, rho)).toarray()
    atol = 10 * len(x) ** 2 * condition(theta) * EPS
    assert abs(core.kl(theta, L) - kl_divergence(theta, L)) <= atol


def test_cores_follow_the_array_namespace_of_their_inputs(xp):
    """The cores on xp arrays (CuPy on a GPU machine) return xp arrays equal to the
    public functions on the host: exactly for the order, the mask and the supernodes,
    and within ``10 * n * condition(theta) * EPS * scale`` for the factors."""
    points = np.random.default_rng(7).uniform(size=(40, 2))
    kernel = Matern(1.5, 0.2)
    order, lengths = core.reverse_maximin(xp.asarray(points), 2)
    assert backend.array_namespace(order, lengths) is xp
    expected_order, expected_lengths = maximin_ordering(points, p=2)
    np.testing.assert_array_equal(backend.to_numpy(order), expected_order)
    np.testing.assert_array_equal(backend.to_numpy(lengths), expected_lengths)
    x = points[expected_order]
    mask = core.ball_mask(xp.asarray(x), xp.asarray(expected_lengths), 2.0)
    pattern = ball_pattern(x, expected_lengths, 2.0)
    np.testing.assert_array_equal(backend.to_numpy(mask), pattern.to_sparse().toarray() > 0)
    theta = kernel(x, x)
    atol = 10 * len(x) * condition(theta) * EPS * np.abs(dense_inverse_cholesky(theta)).max()
    groups = core.group_supernodes(mask, xp.asarray(expected_lengths), 1.5)
    sn = supernodes(pattern, expected_lengths, 1.5)
    for (members, rows), (want_members, want_rows) in zip(groups, as_groups(sn), strict=True):
        np.testing.assert_array_equal(backend.to_numpy(members), want_members)
        np.testing.assert_array_equal(backend.to_numpy(rows), want_rows)
    routes = [
        (core.kl_factor_loop(xp.asarray(x), kernel, mask), kl_factor(x, kernel, pattern)),
        (
            core.supernodal_factor_loop(xp.asarray(x), kernel, groups),
            supernodal_kl_factor(x, kernel, sn),
        ),
        (core.inverse_cholesky(xp.asarray(theta)), dense_inverse_cholesky(theta)),
    ]
    for L, expected in routes:
        assert backend.array_namespace(L) is xp
        expected = expected if isinstance(expected, np.ndarray) else expected.toarray()
        np.testing.assert_allclose(backend.to_numpy(L), expected, rtol=0, atol=atol)
    L = routes[0][1].toarray()
    assert abs(core.kl(xp.asarray(theta), xp.asarray(L)) - kl_divergence(theta, L)) <= (
        10 * len(x) ** 2 * condition(theta) * EPS
    )
