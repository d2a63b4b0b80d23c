"""Shared input checks: messages name the argument, expectation and value."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl import validation as v


def test_check_finite_reports_count_and_first_index():
    x = np.array([[1.0, np.nan], [np.inf, 2.0]])
    with pytest.raises(
        ValueError,
        match=r"x: expected finite values, received 2 non-finite entries "
        r"\(first at index \(0, 1\)\)",
    ):
        v.check_finite("x", x)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_positive_accepts_exactly_finite_positive(value):
    if np.isfinite(value) and value > 0:
        assert v.check_positive("eta", value) == value
    else:
        with pytest.raises(ValueError, match="eta: expected a finite number > 0"):
            v.check_positive("eta", value)


def test_check_integer_bounds_and_type():
    assert v.check_integer("steps", 3, minimum=0) == 3
    with pytest.raises(ValueError, match=r"steps: expected an integer in \[0, inf\], received -1"):
        v.check_integer("steps", -1, minimum=0)
    with pytest.raises(ValueError, match="steps: expected an integer, received 2.5"):
        v.check_integer("steps", 2.5)
    with pytest.raises(ValueError, match="expected an integer"):
        v.check_integer("steps", True)


def test_check_in_interval_open_and_closed():
    assert v.check_in_interval("threshold", 1.0, 0.0, 1.0, closed="right") == 1.0
    with pytest.raises(ValueError, match=r"threshold: expected a number in \(0.0, 1.0\]"):
        v.check_in_interval("threshold", 0.0, 0.0, 1.0, closed="right")


def test_as_float_array_converts_and_checks():
    a = v.as_float_array("x0", [1, 2, 3], ndim=1)
    assert a.dtype == np.float64 and a.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(
        ValueError, match=r"x0: expected an array with ndim in \(2,\), received shape \(3,\)"
    ):
        v.as_float_array("x0", [1, 2, 3], ndim=2)
    with pytest.raises(ValueError, match="x0: expected a real numeric array"):
        v.as_float_array("x0", ["a"])
    with pytest.raises(ValueError, match="x0: expected finite values"):
        v.as_float_array("x0", [1.0, np.nan])


def test_as_generator_is_reproducible():
    a = v.as_generator(5).standard_normal(3)
    b = v.as_generator(5).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert v.as_generator(g) is g
    with pytest.raises(ValueError, match="rng: expected a numpy.random.Generator"):
        v.as_generator("seed")


def test_divergence_error_carries_step():
    err = v.DivergenceError("loss became inf", step=17)
    assert err.step == 17 and isinstance(err, FloatingPointError)
