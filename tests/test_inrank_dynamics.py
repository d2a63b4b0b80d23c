"""Closed-form mode dynamics (refimpl.inrank.dynamics) against ODE integration and quadrature."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.inrank import dynamics
from refimpl.inrank.dynamics import integrate_mode_ode, quadrature_mode_time

singular = st.floats(0.2, 6.0)
small_u0 = st.floats(1e-6, 0.05)
times = st.floats(0.0, 30.0)


@given(s=singular, u0=small_u0, t=times, depth=st.sampled_from([2, 3]))
def test_explicit_strength_matches_ode_integration(s, u0, t, depth):
    # LSODA runs at rtol 1e-11; the closed forms are exact, so agreement is ~1e-9 relative.
    u = float(dynamics.mode_strength(s, u0, t, depth))
    ref = float(integrate_mode_ode(np.array([s]), np.array([u0]), np.array([t]), depth, 1.0)[0])
    assert u == pytest.approx(ref, rel=1e-7, abs=1e-12)


@given(s=singular, u0=small_u0, frac=st.floats(0.01, 0.99))
def test_depth3_time_function_matches_quadrature(s, u0, frac):
    # The derived F(a) (docs/derivations/inrank.md, section 2): τ[F(a1) − F(a0)] must
    # equal ∫ du / (3 u^{4/3}(s − u)).
    u1 = max(frac * s, 1.01 * u0)
    t_closed = float(dynamics.mode_time(s, u0, u1, depth=3))
    t_quad = float(quadrature_mode_time(np.array([s]), np.array([u0]), np.array([u1]), 3, 1.0)[0])
    assert t_closed == pytest.approx(t_quad, rel=1e-8)


def test_depth3_time_function_derivative_is_the_ode():
    a = np.linspace(0.05, 1.9, 40)
    s, h = 8.0, 1e-6  # c = 2, so a = 2 is excluded
    a = a[np.abs(a - 2.0) > 0.05]
    dF = (dynamics.time_function_depth3(a + h, s) - dynamics.time_function_depth3(a - h, s)) / (
        2 * h
    )
    # Central differences: error O(h² F''') ≈ 1e-12 · F''' here, far below 1e-6 relative.
    np.testing.assert_allclose(dF, 1.0 / (a**2 * (s - a**3)), rtol=1e-6)


@given(s=singular, u0=st.floats(1e-4, 10.0), t=st.floats(0.01, 5.0), depth=st.integers(1, 5))
def test_mode_time_inverts_mode_strength(s, u0, t, depth):
    u = float(dynamics.mode_strength(s, u0, t, depth))
    if abs(u - s) < 1e-6 * s or abs(u - u0) < 1e-9:
        return  # at the asymptote the inverse is ill-conditioned: dt/du = 1/u̇ → ∞
    back = float(dynamics.mode_time(s, u0, u, depth))
    # Condition number of t(u): |u̇| · δu / t, with δu ~ 1e-11 u from the forward solve.
    assert back == pytest.approx(t, rel=1e-4, abs=1e-6)


@given(u0=st.floats(1e-3, 2.0), t=times, depth=st.integers(1, 5))
def test_null_modes_follow_decay_formula(u0, t, depth):
    u = float(dynamics.mode_strength(0.0, u0, t, depth))
    ref = float(integrate_mode_ode(np.array([0.0]), np.array([u0]), np.array([t]), depth, 1.0)[0])
    assert u == pytest.approx(ref, rel=1e-7, abs=1e-12)
    if depth == 3:
        a0 = u0 ** (1 / 3)
        assert u ** (1 / 3) == pytest.approx((a0**-4 + 4 * t) ** -0.25, rel=1e-12)


@given(tau=st.floats(0.1, 100.0), s=singular, u0=small_u0, t=times)
def test_tau_rescales_time(tau, s, u0, t):
    a = dynamics.mode_strength(s, u0, t * tau, 3, tau=tau)
    b = dynamics.mode_strength(s, u0, t, 3, tau=1.0)
    assert float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-15)


def test_depth3_learning_time_scales_like_tau_over_s_a0():
    # t s a0 / τ = 1 + x0 [G(x1) − g(0)] + O(x0²), x0 = a0 / s^{1/3}, from the closed form
    # with s = 1: G = F(·; 1), g(0) = lim (G(x) + 1/x) = −√3 π / 18, x1 = fraction^{1/3}.
    slope = float(dynamics.time_function_depth3(0.5 ** (1 / 3), 1.0)) + np.sqrt(3) * np.pi / 18
    for s in (0.5, 2.0, 8.0):
        for a0 in (1e-3, 1e-2):
            t = float(dynamics.learning_time(s, a0**3, depth=3, fraction=0.5, tau=3.0))
            x0 = a0 / s ** (1 / 3)
            assert t * s * a0 / 3.0 == pytest.approx(1 + slope * x0, abs=2 * x0**2)
            asym = float(dynamics.learning_time_asymptotic(s, a0, depth=3, tau=3.0))
            assert asym == pytest.approx(3.0 / (s * a0), rel=1e-12)


@given(
    s=st.lists(st.floats(0.1, 10.0), min_size=2, max_size=6, unique=True),
    a0=st.floats(1e-3, 0.05),
    depth=st.integers(2, 4),
)
def test_learning_order_is_decreasing_s(s, a0, depth):
    s = np.array(s)
    t = dynamics.learning_time(s, a0**depth, depth, fraction=0.5)
    order = dynamics.learning_order(s)
    assert np.array_equal(order, np.argsort(-s, kind="stable"))
    assert np.all(np.diff(t[order]) > 0)


def test_learning_time_ratios_approach_inverse_s_at_depth3():
    s = np.array([4.0, 2.0, 1.0])
    t = dynamics.learning_time(s, (1e-4) ** 3, 3)
    # relative deviation from 1/s is x0 · slope ≈ 1e-4 · 0.85 per mode
    np.testing.assert_allclose(t * s / (t[0] * s[0]), 1.0, atol=3e-4)


def test_depth2_closed_forms():
    s, u0 = 3.0, 0.01
    t = np.linspace(0, 5, 11)
    u = dynamics.mode_strength(s, u0, t, 2)
    np.testing.assert_allclose(u, s * np.exp(2 * s * t) / (np.exp(2 * s * t) - 1 + s / u0))
    u1 = 1.5
    assert float(dynamics.mode_time(s, u0, u1, 2)) == pytest.approx(
        np.log(u1 * (s - u0) / (u0 * (s - u1))) / (2 * s)
    )


def test_rhs_and_aligned_fixed_points():
    assert float(dynamics.mode_ode_rhs(2.0, 2.0, 3)) == 0.0
    assert float(dynamics.mode_strength(2.0, 2.0, 10.0, 3)) == 2.0
    assert float(dynamics.mode_strength(2.0, 0.0, 10.0, 3)) == 0.0
    # from above the target the mode decreases monotonically toward s
    u = dynamics.mode_strength(1.0, 3.0, np.array([0.0, 0.1, 1.0, 10.0]), 3)
    assert np.all(np.diff(u) < 0) and np.all(u > 1.0)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: dynamics.mode_strength(-1.0, 0.1, 1.0, 3), "s"),
        (lambda: dynamics.mode_strength(1.0, np.nan, 1.0, 3), "u0"),
        (lambda: dynamics.mode_strength(1.0, 0.1, -1.0, 3), "t"),
        (lambda: dynamics.mode_strength(1.0, 0.1, 1.0, 0), "depth"),
        (lambda: dynamics.mode_strength(1.0, 0.1, 1.0, 3, tau=0.0), "tau"),
        (lambda: dynamics.mode_time(1.0, 0.1, 1.0, 3), "u1"),
        (lambda: dynamics.mode_time(1.0, 0.5, 0.1, 3), "u1"),
        (lambda: dynamics.mode_time(1.0, 0.0, 0.5, 3), "u0"),
        (lambda: dynamics.learning_time(1.0, 0.1, 3, fraction=1.5), "fraction"),
        (lambda: dynamics.learning_time(1.0, 0.6, 3, fraction=0.5), "u0, fraction"),
        (lambda: dynamics.learning_time(1.0, 0.0, 3), "u0, fraction"),
        (lambda: dynamics.time_function_depth3(0.5, 0.0), "s"),
        (lambda: dynamics.time_function_depth3(-0.5, 1.0), "a"),
        (lambda: dynamics.time_function_depth3(np.nan, 1.0), "a"),
        (lambda: dynamics.time_function_depth3(1.0, 1.0), "a"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_backend_in_backend_out(xp):
    s = xp.asarray([3.0, 1.0, 0.0])
    for depth in (2, 3, 4):
        u = dynamics.mode_strength(s, xp.asarray(0.01), xp.asarray(2.0), depth)
        assert type(u) is type(s)
        ref = dynamics.mode_strength(np.array([3.0, 1.0, 0.0]), 0.01, 2.0, depth)
        np.testing.assert_allclose(u.get() if hasattr(u, "get") else u, ref, rtol=1e-8)


@pytest.mark.parametrize("u0", [1e-24, 1e-12, 1e-3])
@pytest.mark.parametrize("fraction", [0.3, 0.9, 0.999])
def test_depth3_inversion_is_relative_accurate_for_tiny_starts(u0, fraction):
    # Bisection runs in log a, so tiny strengths keep full relative precision: the round
    # trip through mode_time is exact to a few ulps times the condition number of F
    # (t ≈ τ/(s a) − τ/(s a0) cancels at most a factor 1/(1 − fraction) = 1000).
    s = 2.0
    t = fraction / (s * u0 ** (1 / 3))
    u = dynamics.mode_strength(s, u0, t, 3)
    back = dynamics.mode_time(s, u0, u, 3)
    assert float(back) == pytest.approx(t, rel=1e3 * 16 * np.finfo(float).eps)


def test_null_mode_with_tiny_start_does_not_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a0^{-4} = 1e400 would overflow
        u = dynamics.null_mode_strength(1e-300, 5.0, depth=3)
    # a = a0 (1 + 4 t a0⁴)^{-1/4} = a0 to machine precision; u = a³ up to the cube root
    assert float(u) == pytest.approx(1e-300, rel=1e-13)


@pytest.mark.parametrize("bad", [True, "2.0", [True], 1 + 1j, np.nan, np.inf, None])
def test_dynamics_refuse_what_is_not_a_real_number(bad):
    calls = {
        "s": lambda v: dynamics.mode_strength(v, 1e-3, 1.0, 3),
        "u0": lambda v: dynamics.mode_time(2.0, v, 1.0, 3),
        "t": lambda v: dynamics.null_mode_strength(0.1, v, 3),
        "a0": lambda v: dynamics.learning_time_asymptotic(2.0, v, 3),
        "a": lambda v: dynamics.time_function_depth3(v, 2.0),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=name):
            call(bad)


def test_scalar_inputs_give_python_floats_and_arrays_keep_their_shape():
    assert type(dynamics.learning_time(2.0, 1e-3, 3)) is float
    assert type(dynamics.mode_strength(2.0, 1e-3, 1.0, 3)) is float
    assert type(dynamics.mode_time(2.0, 1e-3, 1.0, 2)) is float
    assert type(dynamics.learning_time_asymptotic(2.0, 0.1, 3)) is float
    assert dynamics.learning_time(np.array([2.0, 1.0]), 1e-3, 3).shape == (2,)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])  # depth 4: the rescaled LSODA reference
def test_huge_and_tiny_values_give_finite_answers_or_name_the_overflow(depth):
    for s, u0, t in [
        (1e300, 1e-3, 1.0),
        (2.0, 1e-300, 1e300),
        (2.0, 1e300, 1.0),
        (0.0, 1e-300, 5.0),
    ]:
        try:
            u = dynamics.mode_strength(s, u0, t, depth)
        except ValueError as exc:
            assert "overflow" in str(exc)
            continue
        assert np.isfinite(u) and u >= 0
        assert min(u0, s) * (1 - 1e-12) <= u <= max(u0, s) * (1 + 1e-12) or s == 0


def test_depth2_logistic_with_tiny_start_keeps_its_relative_accuracy():
    # u ≈ u0 e^{2st} while u ≪ s: the rewritten formula keeps every digit of u0 = 1e-300
    u = dynamics.mode_strength(2.0, 1e-300, 1.0, 2)
    assert u == pytest.approx(1e-300 * np.exp(4.0), rel=1e-12)
