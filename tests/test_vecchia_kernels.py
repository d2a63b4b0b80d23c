"""Kernels of refimpl.vecchia against their closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import gamma, kv

from refimpl.vecchia import Gaussian, Matern, pairwise_distances
from tests.strategies import point_clouds


def bessel_matern(r, nu, ell):
    """The textbook Matérn formula, evaluated with scipy.special.kv."""
    s = math.sqrt(2 * nu) * r / ell
    with np.errstate(invalid="ignore"):
        value = 2 ** (1 - nu) / gamma(nu) * s**nu * kv(nu, s)
    return np.where(s > 0, value, 1.0)


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5, 3.5])
def test_half_integer_closed_forms_match_bessel_formula(nu):
    r = np.linspace(0.0, 5.0, 201)
    points = np.stack([r, np.zeros_like(r)], axis=1)
    block = Matern(nu, 0.7, variance=2.0)(points[:1], points)[0]
    # kv is accurate to a few ulps; the closed forms have no cancellation for r >= 0
    np.testing.assert_allclose(block, 2.0 * bessel_matern(r, nu, 0.7), rtol=1e-12, atol=1e-15)


def test_general_nu_uses_bessel_and_is_continuous_at_zero():
    r = np.array([0.0, 1e-8, 0.3, 2.0])
    points = r[:, None]
    values = Matern(0.8, 0.5)(points[:1], points)[0]
    np.testing.assert_allclose(values, bessel_matern(r, 0.8, 0.5), rtol=1e-12)
    # k(r) = 1 - O(r^{2ν}) near 0 for ν < 1
    assert abs(values[1] - 1.0) < 1e-5


def test_large_nu_is_finite_and_one_at_tiny_distances():
    nu = 20.0
    r = np.array([0.0, 1e-20, 1e-12, 1e-6, 0.5])
    values = Matern(nu, 1.0)(r[:1, None], r[:, None])[0]
    assert np.all(np.isfinite(values))
    np.testing.assert_array_equal(values[:3], 1.0)
    # 1 − k(s) = s²/(4(ν − 1)) + O(s⁴) for ν > 1, s = √(2ν) r
    s = math.sqrt(2 * nu) * r[3]
    assert 1.0 - values[3] == pytest.approx(s**2 / (4 * (nu - 1)), rel=1e-3)
    np.testing.assert_allclose(values[4], bessel_matern(r[4], nu, 1.0), rtol=1e-12)


def test_bessel_overflow_for_huge_nu_raises_instead_of_nan():
    with pytest.raises(ValueError, match="nu: the Bessel-function form overflows"):
        Matern(200.0, 1.0)(np.zeros((1, 1)), np.full((1, 1), 0.1))


def test_general_nu_agrees_with_closed_form_in_the_limit():
    x = np.random.default_rng(0).uniform(size=(20, 2))
    # k is smooth in ν; the change over Δν = 1e-9 is O(1e-9)
    np.testing.assert_allclose(Matern(1.5 + 1e-9, 0.3)(x), Matern(1.5, 0.3)(x), atol=1e-8)


def test_gaussian_closed_form():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert Gaussian(5.0, variance=3.0)(x)[0, 1] == pytest.approx(3.0 * math.exp(-0.5))


@given(point_clouds(n=st.integers(2, 30), d=st.integers(1, 3)))
def test_blocks_are_symmetric_positive_definite_with_variance_on_diagonal(points):
    for kernel in (Matern(0.5, 0.3, 1.7), Matern(2.5, 0.3, 1.7)):
        K = kernel(points, points)
        np.testing.assert_allclose(K, K.T, rtol=0, atol=0)
        np.testing.assert_allclose(np.diag(K), 1.7)
        # points are >= 1e-3 apart, so the matrix is positive definite
        np.linalg.cholesky(K)


@given(point_clouds(n=st.integers(2, 20), d=st.integers(1, 3)))
def test_batched_blocks_equal_single_blocks(points):
    kernel = Matern(1.5, 0.4)
    X, Y = points[:5], points[3:]
    stacked = kernel(np.stack([X, X[::-1]]), np.stack([Y, Y]))
    np.testing.assert_array_equal(stacked[0], kernel(X, Y))
    np.testing.assert_array_equal(stacked[1], kernel(X[::-1], Y))


def test_per_coordinate_length_scales_equal_scaled_isotropic_kernel():
    x = np.random.default_rng(1).uniform(size=(15, 2))
    ard = Matern(2.5, [0.2, 0.5])(x)
    iso = Matern(2.5, 1.0)(x / np.array([0.2, 0.5]))
    np.testing.assert_allclose(ard, iso, rtol=1e-14)


def test_pairwise_distances_are_exact_for_nearby_points():
    x = np.array([[1.0, 1.0], [1.0 + 2.0**-30, 1.0]])
    # |x|² + |y|² − 2x·y would lose every digit here; differences are exact
    assert pairwise_distances(x, x)[0, 1] == 2.0**-30


@pytest.mark.parametrize("nu", [1.5, 0.8])  # 0.8: kv runs on the host and comes back
def test_kernels_follow_the_array_backend(xp, nu):
    points = xp.asarray(np.random.default_rng(2).uniform(size=(6, 2)))
    block = Matern(nu, 0.3)(points, points)
    assert type(block) is type(points)
    reference = Matern(nu, 0.3)(np.asarray(points.get() if hasattr(points, "get") else points))
    np.testing.assert_allclose(block.get() if hasattr(block, "get") else block, reference)


# --- the public methods check their arguments; __call__ skips the checks (issue 23) ---------

PROFILES = [Matern(0.5, 0.3), Matern(2.7, 0.3), Matern(3.5, 0.3), Gaussian(0.3)]


@pytest.mark.parametrize("kernel", PROFILES, ids=repr)
@pytest.mark.parametrize(
    "r",
    [
        None,
        "abc",
        True,
        np.array([0.5, -0.1]),
        np.array([0.5, np.nan]),
        np.array([np.inf]),
        np.array([0.5 + 1j]),
        np.array([True, False]),
    ],
    ids=["None", "str", "bool", "negative", "nan", "inf", "complex", "bool array"],
)
def test_profiles_refuse_what_is_no_distance_naming_r(kernel, r):
    """Found by the method sweep: NaN in, NaN out (Gaussian); TypeError for None and str;
    complex, negative and boolean distances accepted; a NaN blamed on nu (Bessel form)."""
    with pytest.raises(ValueError, match=r"^r: "):
        kernel.profile(r)


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5, 3.5, 2.7])
def test_matern_profile_is_zero_at_huge_distances_not_nan(nu):
    """polynomial(s)·e^{-s} was inf·0 = NaN once s³ (ν = 7/2) or s² (ν = 5/2) overflowed;
    the value there is 0.0, as it already is from s = 745 on."""
    kernel = Matern(nu, 1.0)
    huge = np.array([800.0, 1e103, 1e200, np.finfo(float).max])
    np.testing.assert_array_equal(kernel.profile(huge), 0.0)


@pytest.mark.parametrize("kernel", PROFILES, ids=repr)
def test_profile_is_the_kernel_at_scaled_distances(kernel):
    r = np.array([0.0, 1e-9, 0.3, 2.0, 50.0])
    points = np.stack([r * kernel.length_scale, np.zeros_like(r)], axis=1)
    np.testing.assert_array_equal(kernel.profile(r), kernel(points[:1], points)[0])
    assert kernel.profile(0.5).shape == ()  # a scalar gives a 0-d array
    assert kernel.profile(np.zeros((2, 0))).shape == (2, 0)


def test_kernel_calls_skip_the_checked_profile(monkeypatch):
    """The blocks of the factor call the unchecked profile: the checks cost nothing there."""

    def checked(self, r):
        raise AssertionError("the checked profile was called from __call__")

    x = np.random.default_rng(0).uniform(size=(5, 2))
    for kernel in (Matern(2.7, 0.3), Matern(3.5, 0.3), Gaussian(0.3)):
        monkeypatch.setattr(type(kernel), "profile", checked)
        assert np.all(np.isfinite(kernel(x, x)))


@pytest.mark.parametrize(
    "d, name, word",
    [
        (None, "X", "d"),
        ("2", "X", "d"),
        (True, "X", "d"),
        (2.0, "X", "d"),
        (0, "X", "d"),
        (2, None, "name"),
        (2, 3, "name"),
    ],
)
def test_check_dimension_checks_its_own_arguments(d, name, word):
    """Found by the method sweep: an isotropic kernel accepted any d and any name."""
    for kernel in (Matern(1.5, 0.3), Matern(1.5, np.array([0.2, 0.4]))):
        with pytest.raises(ValueError, match=rf"^{word}: "):
            kernel.check_dimension(d, name)


def test_check_dimension_names_the_callers_points():
    kernel = Gaussian(np.array([0.2, 0.4]))
    kernel.check_dimension(np.int64(2), "new_points")  # fits
    with pytest.raises(ValueError, match=r"^new_points: expected points of dimension 2"):
        kernel.check_dimension(3, "new_points")


def test_a_numpy_scalar_length_scale_is_one_length_scale():
    """np.float64(0.3) has a shape, (), and was refused as a per-coordinate array."""
    assert Matern(1.5, np.float64(0.3)).length_scale == 0.3
    assert Gaussian(np.float32(0.5)).dim is None


def test_boolean_length_scales_are_refused():
    """A boolean array was read as length scales of 1.0."""
    with pytest.raises(ValueError, match="length_scale"):
        Gaussian(np.array([True, True]))
