"""Bad input to refimpl.vecchia raises ValueError naming the argument."""

import numpy as np
import pytest

from refimpl.vecchia import (
    Gaussian,
    Matern,
    Pattern,
    Supernodes,
    ball_pattern,
    dense_inverse_cholesky,
    full_pattern,
    kl_cholesky,
    kl_divergence,
    kl_factor,
    knn_pattern,
    maximin_ordering,
    pairwise_distances,
    predict,
    supernodal_kl_factor,
    supernodes,
)

X = np.random.default_rng(0).uniform(size=(30, 2))
K = Matern(1.5, 0.2)


def test_duplicate_points_are_rejected_with_their_rows():
    points = np.concatenate([X, X[[4]]])
    with pytest.raises(ValueError, match=r"points: expected distinct points.*rows 4 and 30"):
        maximin_ordering(points)
    with pytest.raises(ValueError, match="points: expected distinct"):
        kl_cholesky(points, K, rho=2.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_points_are_rejected(bad):
    points = X.copy()
    points[3, 1] = bad
    with pytest.raises(ValueError, match="points: expected finite values"):
        kl_cholesky(points, K, rho=2.0)


@pytest.mark.parametrize("rho", [0.0, -1.0, np.nan, "3"])
def test_rho_must_be_positive(rho):
    with pytest.raises(ValueError, match="rho: expected a number > 0"):
        kl_cholesky(X, K, rho=rho)


@pytest.mark.parametrize("lam", [0.99, -1.0, np.inf])
def test_lam_must_be_at_least_one(lam):
    with pytest.raises(ValueError, match=r"lam: expected a number in \[1.0, inf\)"):
        kl_cholesky(X, K, rho=2.0, lam=lam)


@pytest.mark.parametrize("p", [0, -2, 1.5])
def test_p_must_be_a_positive_integer(p):
    with pytest.raises(ValueError, match="p: expected an integer"):
        kl_cholesky(X, K, rho=2.0, p=p)
    with pytest.raises(ValueError, match="p: expected an integer"):
        maximin_ordering(X, p=p)


def test_dimension_mismatch_between_points_and_kernel():
    kernel = Matern(1.5, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="points: expected points of dimension 3"):
        kl_cholesky(X, kernel, rho=2.0)
    with pytest.raises(ValueError, match="Y: expected points of dimension d = 2"):
        K(X, np.ones((3, 3)))
    with pytest.raises(ValueError, match="new_points: expected dimension 2"):
        predict(X, np.zeros(30), np.eye(3)[:2], K, rho=2.0)


def test_other_arguments_are_checked():
    with pytest.raises(ValueError, match="length_scale: expected a finite number > 0"):
        Matern(1.5, 0.0)
    with pytest.raises(ValueError, match="nu: expected a finite number > 0"):
        Matern(-0.5, 1.0)
    with pytest.raises(ValueError, match="initial: expected an integer in"):
        maximin_ordering(X, initial=30)
    with pytest.raises(ValueError, match="m: expected an integer"):
        knn_pattern(X, -1)
    with pytest.raises(ValueError, match="lengths: expected shape"):
        ball_pattern(X, np.ones(3), 2.0)
    with pytest.raises(ValueError, match="nugget: expected a finite number >= 0"):
        kl_cholesky(X, K, rho=2.0, nugget=-1.0)
    with pytest.raises(ValueError, match="y: expected 30 values"):
        predict(X, np.zeros(3), X[:2] + 0.01, K, rho=2.0)
    with pytest.raises(ValueError, match="pattern: expected 30 columns"):
        order, lengths = maximin_ordering(X[:10])
        kl_factor(X, K, ball_pattern(X[:10][order], lengths, 2.0))


def test_non_positive_definite_block_names_the_supernode_and_suggests_a_nugget():
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 25), np.linspace(0, 1, 25)), -1).reshape(-1, 2)
    smooth = Gaussian(0.5)
    with pytest.raises(np.linalg.LinAlgError, match=r"supernode \d+ .*nugget.*smaller rho"):
        kl_cholesky(grid, smooth, rho=np.inf)
    order, lengths = maximin_ordering(grid)
    pattern = ball_pattern(grid[order], lengths, 3.0)
    with pytest.raises(np.linalg.LinAlgError, match=r"column \d+ .*nugget"):
        kl_factor(grid[order], smooth, ball_pattern(grid[order], lengths, np.inf))
    # a nugget makes it work
    L = supernodal_kl_factor(grid[order], smooth, supernodes(pattern, lengths), nugget=1e-6)
    assert np.all(np.isfinite(L.data)) and np.all(L.diagonal() > 0)


def test_prediction_point_on_a_training_point_names_both_rows():
    new = np.stack([X[7] + 0.01, X[4]])
    with pytest.raises(ValueError, match=r"new_points: .*new_points\[1\] == points\[4\]"):
        predict(X, np.zeros(30), new, K, rho=2.0)


def test_kl_divergence_of_an_indefinite_theta_names_theta():
    theta = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(np.linalg.LinAlgError, match="theta: expected a symmetric positive"):
        kl_divergence(theta, np.eye(2))


def test_a_kernel_without_batch_axes_gets_a_clear_error():
    def two_d_only(A, B):
        return np.exp(-np.linalg.norm(A[:, None] - B[None], axis=-1))

    with pytest.raises(ValueError, match=r"kernel: expected kernel\(X, Y\) to accept leading"):
        kl_cholesky(X, two_d_only, rho=2.0)
    wrapped = np.vectorize(two_d_only, signature="(n,d),(m,d)->(n,m)")
    L, _ = kl_cholesky(X, wrapped, rho=2.0)
    assert np.all(L.diagonal() > 0)


def test_indefinite_block_is_caught_even_when_the_solve_looks_fine():
    A = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 2.0, 1.0]])
    assert np.linalg.eigvalsh(A)[0] < 0 < np.linalg.inv(A)[0, 0]  # indefinite, y₀ > 0

    def table(P, Q):  # points 0, 1, 2 on a line index the table A
        i, j = P[..., 0].astype(int), Q[..., 0].astype(int)
        return A[i[..., :, None], j[..., None, :]]

    x = np.array([[0.0], [1.0], [2.0]])
    # only column 0 sees the whole (indefinite) block; there Θ⁻¹e₁ = e₁ looks valid
    pattern = Pattern(indptr=np.array([0, 3, 4, 5]), indices=np.array([0, 1, 2, 1, 2]))
    with pytest.raises(np.linalg.LinAlgError, match=r"column 0 \(3 rows\).*not positive definite"):
        kl_factor(x, table, pattern)


def test_factors_accept_repeated_locations():
    # two measurements at one location (as with a value and a derivative): the
    # ordering refuses them, the factor itself does not
    x = np.array([[0.0], [0.4], [0.4], [1.0]])
    nugget = 0.1
    L = kl_factor(x, K, full_pattern(4), nugget=nugget).toarray()
    exact = dense_inverse_cholesky(K(x, x) + nugget * np.eye(4))
    np.testing.assert_allclose(L, exact, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="points: expected distinct points"):
        maximin_ordering(x)


def test_pattern_and_supernodes_constructors_check_their_arrays():
    with pytest.raises(ValueError, match="indices: expected the rows"):
        Pattern(indptr=np.array([0, 2, 3]), indices=np.array([1, 0, 1]))  # diagonal not first
    with pytest.raises(ValueError, match="indptr"):
        Pattern(indptr=np.array([0, 3, 2]), indices=np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="indices: expected a 1-D array of integers"):
        Pattern(indptr=np.array([0, 1]), indices=np.array([0.0]))
    with pytest.raises(ValueError, match="rows, members: expected each supernode's row set"):
        Supernodes(np.array([0, 2]), np.array([0, 1]), np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match="members: expected every column once"):
        Supernodes(np.array([0, 1, 2]), np.array([0, 0]), np.array([0, 1, 2]), np.array([0, 0]))
    with pytest.raises(ValueError, match="pattern: expected a refimpl.vecchia.Pattern"):
        kl_factor(X, K, "pattern")
    with pytest.raises(ValueError, match="groups: expected refimpl.vecchia.Supernodes"):
        supernodal_kl_factor(X, K, full_pattern(30))


def _nan_kernel(P, Q):
    return np.full(P.shape[:-1] + (Q.shape[-2],), np.nan)


def _complex_kernel(P, Q):
    return K(P, Q) + 0j


def _asymmetric_kernel(P, Q):
    return K(P, Q) + 0.1 * np.tril(np.ones(P.shape[:-1] + (Q.shape[-2],)), -1)


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        (_nan_kernel, "non-finite"),
        (_complex_kernel, "dtype complex"),
        (_asymmetric_kernel, "expected symmetric blocks"),
        ("matern", "expected a callable"),
    ],
)
def test_misbehaving_kernels_are_named(kernel, message):
    with pytest.raises(ValueError, match=f"kernel: .*{message}"):
        kl_cholesky(X, kernel, rho=2.0)


def test_dense_inverse_cholesky_refuses_non_symmetric_and_complex_matrices():
    theta = K(X, X)
    with pytest.raises(ValueError, match="theta: expected a symmetric matrix"):
        dense_inverse_cholesky(theta + np.triu(np.full_like(theta, 1e-3), 1))
    with pytest.raises(ValueError, match="theta: expected a real"):
        dense_inverse_cholesky(theta.astype(complex))
    with pytest.raises(ValueError, match="theta: expected a symmetric matrix"):
        kl_divergence(theta + np.triu(np.full_like(theta, 1e-3), 1), np.eye(30))


def test_full_pattern_too_large_for_memory_is_refused():
    with pytest.raises(ValueError, match="n: an array of shape"):
        full_pattern(10**9)


def test_huge_coordinates_give_the_distances_and_orderings_of_the_scaled_points():
    # 2^k scaling is exact, so orders agree bitwise and lengths scale exactly
    big = X * 2.0**1000
    order, lengths = maximin_ordering(X)
    order_big, lengths_big = maximin_ordering(big)
    np.testing.assert_array_equal(order_big, order)
    np.testing.assert_array_equal(lengths_big, lengths * 2.0**1000)
    r = pairwise_distances(np.array([[1e300, 0.0]]), np.array([[-1e300, 0.0]]))
    assert r[0, 0] == pytest.approx(2e300, rel=1e-15)
    assert K(np.array([[1e300]]), np.array([[-1e300]]))[0, 0] == 0.0  # k(∞) = 0, not NaN


def test_a_user_kernel_gives_the_builtin_factor_and_its_blocks_are_not_modified():
    """User kernels take the checked path (copied, symmetry-checked); refimpl's own kernels
    take the in-place one. Both give the same factor, and a returned array stays as it was."""
    from refimpl.vecchia import Matern, kl_cholesky

    matern = Matern(1.5, 0.2)
    returned = []

    def user_kernel(X, Y):
        block = matern(X, Y)
        returned.append((block, block.copy()))
        return block

    x = np.random.default_rng(3).uniform(size=(60, 2))
    L_user, order_user = kl_cholesky(x, user_kernel, rho=2.0, nugget=0.5)
    L_own, order_own = kl_cholesky(x, matern, rho=2.0, nugget=0.5)
    np.testing.assert_array_equal(order_user, order_own)
    np.testing.assert_array_equal(L_user.toarray(), L_own.toarray())
    assert returned and all(np.array_equal(block, copy) for block, copy in returned)


# --- issue 23: methods, sizes before allocating, messages naming the caller's argument -------

GROUPS = supernodes(*(lambda o, l: (ball_pattern(X[o], l, 2.0), l))(*maximin_ordering(X)), 1.5)


@pytest.mark.parametrize("n", ["30", True, 30.0, np.nan, 0, -1, 10**13, 10**40])
def test_column_pointers_refuses_a_bad_n_naming_it(n):
    """Found by the method sweep: TypeError, IndexError, MemoryError or numpy's own words."""
    with pytest.raises(ValueError, match=r"^n: "):
        GROUPS.first(2).column_pointers(n)


def test_column_pointers_refuses_fewer_columns_than_the_indices():
    part = GROUPS.first(2)
    largest = max(part.members.max(), part.rows.max())
    with pytest.raises(ValueError, match=r"^n: expected an integer in \["):
        part.column_pointers(int(largest))  # one too few: silently cut before
    counts, indptr = part.column_pointers(int(largest) + 1)
    assert counts.sum() == indptr[-1] == part.pattern().nnz


def test_the_factor_uses_the_unchecked_column_pointers(monkeypatch):
    """The checks of the public method cost nothing inside the factor."""

    def checked(self, n=None):
        raise AssertionError("the checked column_pointers was called by the factor")

    monkeypatch.setattr(Supernodes, "column_pointers", checked)
    order, lengths = maximin_ordering(X)
    assert supernodal_kl_factor(X[order], K, GROUPS).nnz > 0
    assert GROUPS.pattern().nnz > 0


@pytest.mark.parametrize("name", [None, 3, b"points"])
def test_check_points_refuses_a_name_that_is_no_string(name):
    from refimpl.vecchia import check_points

    with pytest.raises(ValueError, match=r"^name: "):
        check_points(X, name=name)


def test_rho_is_any_real_number_and_an_integer_beyond_floats_is_refused_by_name():
    """Fraction(5, 2) was refused although it is a real number; 10**400 raised OverflowError."""
    from fractions import Fraction

    order, lengths = maximin_ordering(X)
    assert (
        ball_pattern(X[order], lengths, Fraction(5, 2)).nnz
        == ball_pattern(X[order], lengths, 2.5).nnz
    )
    with pytest.raises(ValueError, match=r"^rho: "):
        kl_cholesky(X, K, rho=10**400)


def test_shape_mismatches_name_both_arguments():
    """theta one row short was blamed on L alone, and points of another dimension on
    new_points alone: the message now names the argument each is matched against."""
    theta = K(X, X)
    L = dense_inverse_cholesky(theta)
    with pytest.raises(ValueError, match=r"^L: expected shape \(29, 29\) to match theta"):
        kl_divergence(theta[:-1, :-1], L)
    y = np.zeros(30)
    with pytest.raises(ValueError, match=r"new_points: expected dimension 3 like points"):
        predict(np.hstack([X, X[:, :1]]), y, X[:2] + 0.01, Matern(1.5, 0.2), rho=2.0)


def test_an_initial_index_out_of_range_says_how_many_points_there_are():
    with pytest.raises(ValueError, match=r"^initial: .*indices of the 2 rows of points"):
        maximin_ordering(X[:2], initial=3)


def test_lower_triangle_pattern_of_an_empty_matrix_names_matrix():
    """It raised about `indptr`, an argument the caller never wrote."""
    import scipy.sparse as sp

    from refimpl.vecchia import lower_triangle_pattern

    with pytest.raises(ValueError, match=r"^matrix: expected a non-empty square matrix"):
        lower_triangle_pattern(sp.csc_matrix((0, 0)))


@pytest.fixture
def small_memory(monkeypatch):
    """A machine of 4 MB: every size check refuses what would not fit there."""
    import refimpl.validation

    monkeypatch.setattr(refimpl.validation, "_memory_bytes", lambda: 4 * 2**20)


def test_dense_patterns_are_refused_before_they_are_allocated(small_memory):
    """ρ = ∞ (or a huge ρ) makes the pattern dense, m ≥ N makes the m-nearest pattern dense:
    N² entries, checked against memory before the KD-tree queries allocate them."""
    x = np.random.default_rng(1).uniform(size=(2000, 2))
    order, lengths = maximin_ordering(x)
    for rho in (np.inf, 1e300, 1e3):
        with pytest.raises(ValueError, match=r"^rho, lengths: an array of shape"):
            ball_pattern(x[order], lengths, rho)
    with pytest.raises(ValueError, match=r"^m: an array of shape"):
        knn_pattern(x[order], 10**6)
    ball_pattern(x[order], lengths, 2.0)  # a sparse pattern fits


def test_kernel_blocks_are_refused_before_they_are_allocated(small_memory):
    """One column of the full pattern is a block of N² entries."""
    x = np.random.default_rng(1).uniform(size=(400, 2))
    with pytest.raises(ValueError, match=r"^pattern: an array of shape \(400, 400, 4\)"):
        kl_factor(x, K, full_pattern(400))
    groups = supernodes(full_pattern(400), np.ones(400), 1.5)
    with pytest.raises(ValueError, match=r"^groups: an array of shape \(400, 400, 4\)"):
        supernodal_kl_factor(x, K, groups)
