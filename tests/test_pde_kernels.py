"""Measurement covariances against finite differences and published closed forms.

The chain of checks: K(δ, δ) is the base kernel; K(δ_x, χ_y) for every measurement
χ of order <= 2 is a central difference in y of the base kernel; K(φ_x, χ_y) is a
central difference in x of K(δ_x, χ_y). A central difference with step ε has error
at most ε²/6·max|f'''| (first derivatives) or ε²/12·max|f''''| (second); with the
kernel's scale c = √(2ν)/l each derivative costs a factor about c, so the tolerance
is ε²·c^{n+2} times a constant, plus the rounding error ~1e-16·|f|/ε^k.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.pde import (
    MeasurementKernel,
    Measurements,
    RadialDerivatives,
    concatenate,
    first_derivatives,
    laplacians,
    point_values,
    second_derivatives,
)
from refimpl.vecchia import Gaussian, Matern

KERNELS = [Matern(2.5, 0.8), Matern(3.5, 0.6), Matern(4.5, 0.7), Gaussian(0.5)]
EPS = 1e-3


def _scale(kernel):
    nu = getattr(kernel, "nu", 0.5)
    return np.sqrt(2 * nu) / kernel.length_scale


def _random_measurement(rng, x, order):
    d = x.shape[0]
    value = rng.normal()
    gradient = rng.normal(size=d) if order >= 1 else np.zeros(d)
    hessian = rng.normal(size=(d, d)) if order >= 2 else np.zeros((d, d))
    return Measurements(x[None], [value], gradient[None], hessian[None])


def _apply_by_differences(function, x, m, eps=EPS):
    """m applied to function at x by central differences (m has weights at one point)."""
    d = x.size
    e = np.eye(d) * eps
    total = m.value[0] * function(x)
    for i in range(d):
        if m.gradient[0, i]:
            total += m.gradient[0, i] * (function(x + e[i]) - function(x - e[i])) / (2 * eps)
    for i in range(d):
        for j in range(d):
            w = m.hessian[0, i, j]
            if not w:
                continue
            if i == j:
                second = (function(x + e[i]) - 2 * function(x) + function(x - e[i])) / eps**2
            else:
                second = (
                    function(x + e[i] + e[j])
                    - function(x + e[i] - e[j])
                    - function(x - e[i] + e[j])
                    + function(x - e[i] - e[j])
                ) / (4 * eps**2)
            total += w * second
    return total


def _weights_size(m):
    return abs(m.value[0]) + np.abs(m.gradient).sum() + np.abs(m.hessian).sum()


@given(
    kernel=st.sampled_from(KERNELS),
    d=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    order_x=st.integers(0, 2),
    order_y=st.integers(0, 2),
    separation=st.floats(0.1, 1.0),
)
def test_cross_covariance_matches_finite_differences(kernel, d, seed, order_x, order_y, separation):
    rng = np.random.default_rng(seed)
    K = MeasurementKernel(kernel)
    x = rng.uniform(size=d)
    direction = rng.normal(size=d)
    y = x + separation * kernel.length_scale * direction / np.linalg.norm(direction)
    phi, chi = _random_measurement(rng, x, order_x), _random_measurement(rng, y, order_y)

    def base(point_x, point_y):
        return float(kernel(point_x[None], point_y[None])[0, 0])

    def delta_chi(point_x):  # K(δ_x, χ_y) by differences in y of the base kernel
        return _apply_by_differences(lambda point_y: base(point_x, point_y), y, chi)

    def delta_chi_closed(point_x):
        return float(K.gram(point_values(point_x[None]), chi)[0, 0])

    c = _scale(kernel)
    size = _weights_size(phi) * _weights_size(chi)
    tol_y = size * (EPS**2 * c ** (order_y + 2) + 1e-15 / EPS**order_y)
    assert abs(delta_chi_closed(x) - delta_chi(x)) <= 10 * tol_y
    expected = _apply_by_differences(delta_chi_closed, x, phi)
    tol = size * (EPS**2 * c ** (order_x + order_y + 2) + 1e-15 * c**order_y / EPS**order_x)
    assert abs(float(K.gram(phi, chi)[0, 0]) - expected) <= 10 * tol


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_entries_at_zero_distance_are_the_limits(kernel, d):
    """At r = 0 each entry equals its limit: continuous with modulus O(r) for these kernels."""
    rng = np.random.default_rng(d)
    K = MeasurementKernel(kernel)
    x = rng.uniform(size=(1, d))
    direction = rng.normal(size=(1, d))
    direction /= np.linalg.norm(direction)
    parts = [point_values(x), laplacians(x), first_derivatives(x, d - 1)]
    parts.append(second_derivatives(x, 0, d - 1))
    at = concatenate(parts)
    c = _scale(kernel)
    for r in (1e-9, 1e-7):
        near = concatenate(
            [type(p)(x + r * direction, p.value, p.gradient, p.hessian) for p in parts]
        )
        difference = np.abs(K.gram(at, at) - K.gram(at, near))
        assert np.all(difference <= 10 * c**5 * r)
        assert np.all(np.isfinite(K.gram(at, at)))


def _paper_matern(nu, a, t, d):
    """Δ_y k and Δ_xΔ_y k of Chen–Owhadi–Schäfer (Matérn-5/2 and 7/2)."""
    if nu == 2.5:
        s = np.sqrt(5) * t / a
        lap = -5 * (d * a**2 + np.sqrt(5) * d * a * t - 5 * t**2) / (3 * a**4) * np.exp(-s)
        bilap = (
            25
            * (d * (d + 2) * a**2 - (3 + 2 * d) * np.sqrt(5) * a * t + 5 * t**2)
            / (3 * a**6)
            * np.exp(-s)
        )
        return lap, bilap
    s = np.sqrt(7) * t / a
    lap = (
        -7
        * (
            3 * d * a**3
            + 3 * np.sqrt(7) * a**2 * d * t
            + 7 * a * (d - 1) * t**2
            - 7 * np.sqrt(7) * t**3
        )
        / (15 * a**5)
        * np.exp(-s)
    )
    bilap = (
        49
        * (
            d * (d + 2) * a**3
            + d * (d + 2) * np.sqrt(7) * a**2 * t
            - 14 * a * (2 + d) * t**2
            + 7 * np.sqrt(7) * t**3
        )
        / (15 * a**7)
        * np.exp(-s)
    )
    return lap, bilap


@pytest.mark.parametrize("nu", [2.5, 3.5])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_laplacian_entries_match_the_published_closed_forms(nu, d):
    a = 0.3
    K = MeasurementKernel(Matern(nu, a))
    t = np.array([0.0, 1e-6, 0.05, 0.3, 1.0])
    x = np.zeros((1, d))
    y = np.zeros((t.size, d))
    y[:, 0] = t
    lap, bilap = _paper_matern(nu, a, t, d)
    np.testing.assert_allclose(K.gram(point_values(x), laplacians(y))[0], lap, rtol=1e-12, atol=0)
    np.testing.assert_allclose(K.gram(laplacians(x), laplacians(y))[0], bilap, rtol=1e-12, atol=0)


@given(kernel=st.sampled_from(KERNELS), d=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_gram_matrix_of_a_mixed_list_is_symmetric_positive_definite(kernel, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(6, d))
    m = concatenate(
        [
            point_values(x),
            laplacians(x[:3], -1.0),
            first_derivatives(x[2:], 0),
            second_derivatives(x[1:4], 0, d - 1),
            Measurements(x[4:], rng.normal(size=2), rng.normal(size=(2, d))),
        ]
    )
    G = MeasurementKernel(kernel).gram(m)
    np.testing.assert_allclose(G, G.T, rtol=1e-13, atol=1e-13 * np.abs(G).max())
    eigenvalues = np.linalg.eigvalsh(G)
    # distinct functionals: PD up to rounding of the largest entries
    assert eigenvalues.min() > -1e-12 * eigenvalues.max()
    assert np.linalg.matrix_rank(G, tol=1e-10 * eigenvalues.max()) >= len(x)


def test_orders_supported_follow_the_smoothness():
    assert RadialDerivatives(Matern(0.5, 1.0)).order == 0
    assert RadialDerivatives(Matern(1.5, 1.0)).order == 1
    assert RadialDerivatives(Matern(2.5, 1.0)).order == 2
    assert RadialDerivatives(Gaussian(1.0)).order == 2


def test_a_derivative_the_kernel_lacks_is_refused_by_name():
    K = MeasurementKernel(Matern(1.5, 1.0))
    with pytest.raises(ValueError, match="measurements"):
        K.gram(laplacians(np.zeros((1, 2))))
    with pytest.raises(ValueError, match="kernel"):
        MeasurementKernel(Matern(1.3, 1.0))


def test_radial_functions_refuse_bad_distances_and_pairs_by_name():
    """Found by the outside sweep (issue 23): ``G(0, 0, [nan, 0.5])`` returned
    ``[nan, 0.23]``; negative distances, foreign arrays, non-integer or unsupported (k, m)
    and a malformed ``pairs`` raised other types or named ``kernel``."""
    G = RadialDerivatives(Matern(3.5, 0.3))
    for bad in (np.array([np.nan, 0.5]), np.array([np.inf]), np.array([-0.5, 0.5]), "abc", True):
        for call in (
            lambda r: G(0, 0, r),
            lambda r: G.evaluate([(0, 0)], r),
            lambda r: G.laplacian_forms(2, r),
        ):
            with pytest.raises(ValueError, match="^r: "):
                call(bad)
    with pytest.raises(ValueError, match="^k: "):
        G(1.5, 0, 0.5)
    with pytest.raises(ValueError, match="^m: "):
        G(1, None, 0.5)
    with pytest.raises(ValueError, match="^k, m: "):
        G(9, 0, 0.5)  # total order 18: no closed form
    for pairs in (None, [], [(1,)], [(1.5, 0)], [(9, 0)], "ab"):
        with pytest.raises(ValueError, match="^pairs: "):
            G.evaluate(pairs, 0.5)
    with pytest.raises(ValueError, match="^d: "):
        G.laplacian_forms(0, 0.5)
    with pytest.raises(ValueError, match="^kernel: "):
        RadialDerivatives(Matern(1.5, 0.3)).laplacian_forms(2, 0.5)


@pytest.mark.parametrize("kernel", [Matern(20.5, 0.3), Matern(3.5, 0.3), Gaussian(0.3)])
def test_far_apart_measurements_have_covariance_exactly_zero(kernel):
    """Found while fixing issue 23: beyond x = c r ≈ 745 (Matérn) or r/l ≈ 38.6 (Gaussian)
    the exponential underflows to 0 while the polynomial factor overflows, and 0 · inf gave
    NaN covariances for points 1e16 apart (Matérn-41/2) or 1e99 apart (Gaussian). Every
    term is e^{−x} times a polynomial, below the smallest float there: exactly 0."""
    for distance in (1e16, 1e60, 1e99):
        points = np.array([[0.0, 0.0], [distance, 0.0]])
        parts = [point_values(points), first_derivatives(points, 0)]
        if RadialDerivatives(kernel).order == 2:
            parts.append(laplacians(points))
        rows = concatenate(parts).rows()
        K = MeasurementKernel(kernel)(rows, rows)
        far = np.abs(rows[:, None, 0] - rows[None, :, 0]) > 0
        assert np.all(K[far] == 0.0), (kernel, distance)
    G = RadialDerivatives(kernel)
    assert G(0, 0, np.array([1e300]))[0] == 0.0
    assert all(np.all(F == 0.0) for F in G.laplacian_forms(3, np.array([1e300])))


@pytest.mark.parametrize(
    "kernel", [Matern(3.5, 1e300), Matern(3.5, 1e-300), Gaussian(1e300), Gaussian(1e-300)]
)
def test_a_length_scale_whose_derivatives_leave_the_float_range_is_blamed(kernel):
    """Found by the outside sweep (issue 23): ``solve(..., kernel=Matern(3.5, 1e300))``
    blamed ``factors`` (the variances σ²c⁴ underflowed to 0 and their inverse square roots
    were inf); other such kernels raised OverflowError or ZeroDivisionError. Every
    derivative covariance carries a factor σ²c^j, which must be a normal float."""
    from refimpl.pde import NonlinearElliptic, solve

    with pytest.raises(ValueError, match="^kernel: "):
        MeasurementKernel(kernel)
    with pytest.raises(ValueError, match="^kernel: "):
        solve(NonlinearElliptic(terms=20), 0.25, kernel=kernel)
