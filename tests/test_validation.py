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


class _Foreign:
    """An array of another library: speaks ``__array__``, so NumPy would convert it."""

    def __array__(self, dtype=None, copy=None):
        return np.zeros(2)


def test_all_finite_on_each_kind_of_non_finite_entry(xp):
    assert v.all_finite(xp.ones(3), xp.zeros((2, 2)), 1.0, 7)
    for bad in (np.nan, np.inf, -np.inf):
        x = xp.ones((2, 3))
        x[1, 2] = bad
        assert not v.all_finite(x)
        assert not v.all_finite(xp.ones(2), x)  # one bad value among several
        assert not v.all_finite(float(bad))
    assert not v.all_finite(xp.asarray([1.0 + 0j, complex(0.0, np.inf)]))  # imaginary part
    assert not v.all_finite(xp.asarray([complex(np.nan, 0.0)]))  # real part
    assert v.all_finite(xp.asarray([1.0 + 2j]))


def test_all_finite_edge_shapes_and_dtypes(xp):
    assert v.all_finite()  # no values: vacuously true
    assert v.all_finite(xp.zeros((0, 3)))  # empty
    assert v.all_finite(xp.asarray(2.5)) and not v.all_finite(xp.asarray(np.nan))  # 0-d
    assert v.all_finite(xp.arange(4), xp.asarray([True, False]))  # integers, bools
    assert v.all_finite(xp.asarray([1.0], dtype=xp.float32))
    assert not v.all_finite(xp.asarray([np.inf], dtype=xp.float32))
    assert v.all_finite([1.0, 2.0]) and not v.all_finite([1.0, np.nan])  # lists
    assert isinstance(v.all_finite(xp.ones(2)), bool)


def test_all_finite_reads_the_stored_entries_of_sparse_matrices():
    import scipy.sparse

    m = scipy.sparse.csr_matrix(np.eye(3))
    assert v.all_finite(m)
    m.data[1] = np.inf
    assert not v.all_finite(m)


def test_all_finite_refuses_non_numbers_naming_value():
    for bad in (None, "abc", np.array(["a"]), _Foreign()):
        with pytest.raises(ValueError, match=r"^value: expected"):
            v.all_finite(bad)
    with pytest.raises(ValueError, match=r"^value: expected"):
        v.all_finite(np.ones(2), None)  # also when it is not the first value


def test_finite_or_overflow_message_names_inputs_and_says_what():
    value = (np.ones(2), 3.0)
    assert v.finite_or_overflow(value, "std") is value
    with pytest.raises(ValueError, match=r"^std: the result overflows float64 for these inputs$"):
        v.finite_or_overflow(np.array([np.inf]), "std")
    with pytest.raises(ValueError, match=r"^eta, x: the matrix exceeds the float range; shrink$"):
        v.finite_or_overflow(
            [np.ones(1), np.array([-np.inf])],
            "eta, x",
            hint="shrink",
            message="the matrix exceeds the float range",
        )


def test_check_array_type_and_check_divergence_refuse_foreign_arrays_by_name():
    with pytest.raises(ValueError, match=r"^eta: expected a NumPy or CuPy array.*_Foreign"):
        v.check_array_type("eta", _Foreign())
    with pytest.raises(ValueError, match=r"^value: expected a NumPy or CuPy array"):
        v.check_divergence(_Foreign(), step=1)
