"""Explained ratios and effective rank (refimpl.inrank.rank)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.inrank.rank import effective_rank, explained_ratio

spectra = st.lists(st.floats(0.0, 10.0), min_size=1, max_size=8).map(
    lambda v: np.sort(np.array(v))[::-1]
)


@given(s=spectra)
def test_energy_ratio_is_eckart_young(s):
    rho = explained_ratio(s, "energy")
    total = np.sum(s**2)
    if total == 0:
        assert np.all(rho == 1.0)
        return
    for k in range(s.size + 1):
        tail = np.sum(s[k:] ** 2)  # ‖A − A_k‖²_F
        assert rho[k] == pytest.approx(1 - tail / total, abs=1e-12)
    assert np.all(np.diff(rho) >= -1e-15)


@given(s=spectra)
def test_variance_ratio_matches_definition(s):
    rho = explained_ratio(s, "variance")
    assert rho.shape == (s.size + 1,)
    if np.var(s) == 0:
        expected_last = 1.0
        assert rho[-1] == expected_last
        return
    for k in range(s.size + 1):
        tail = s.copy()
        tail[:k] = 0
        assert rho[k] == pytest.approx(1 - np.var(tail) / np.var(s), abs=1e-12)
    assert rho[0] == pytest.approx(0.0, abs=1e-12) and rho[-1] == 1.0


def test_the_two_ratios_differ_and_variance_is_not_monotone():
    s = np.array([10.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(explained_ratio(s, "energy")[1], 100 / 103)
    var = explained_ratio(s, "variance")
    assert var[1] == pytest.approx(1 - 0.1875 / 15.1875)
    assert var[2] < var[1]


@given(s=spectra, threshold=st.floats(0.05, 1.0))
def test_effective_rank_is_smallest_k_exceeding_threshold(s, threshold):
    for kind in ("energy", "variance"):
        r = int(effective_rank(s, threshold, kind))
        rho = explained_ratio(s, kind)
        assert 0 <= r <= s.size
        above = np.nonzero(rho > threshold)[0]
        assert r == (above[0] if above.size else s.size)


def test_effective_rank_batched_and_exact_low_rank():
    s = np.array([[5.0, 3.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(effective_rank(s, 0.99, "energy"), [2, 4])
    np.testing.assert_array_equal(effective_rank(s, 0.99, "variance"), [2, 4])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: effective_rank(np.ones(3), 0.0), "threshold"),
        (lambda: effective_rank(np.ones(3), 1.5), "threshold"),
        (lambda: explained_ratio(np.ones(3), "entropy"), "kind"),
        (lambda: explained_ratio(np.array([1.0, np.nan])), "s"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_backend_in_backend_out(xp):
    s = xp.asarray([3.0, 2.0, 0.5])
    r = explained_ratio(s, "variance")
    assert type(r) is type(s)
    assert int(effective_rank(s, 0.9, "energy")) == 2
