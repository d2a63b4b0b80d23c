"""Explained ratios and effective rank (refimpl.inrank.rank)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.inrank.rank import effective_rank, explained_ratio, select_rank

spectra = st.lists(st.floats(0.0, 10.0), min_size=1, max_size=8).map(
    lambda v: np.sort(np.array(v))[::-1]
)


@given(s=spectra)
def test_energy_ratio_is_eckart_young(s):
    rho = explained_ratio(s, "energy")
    if not np.any(s > 0):
        assert np.all(rho == 1.0)
        return
    s = s / s.max()  # the ratio is scale-free; s² of a tiny s would underflow to 0
    total = np.sum(s**2)
    for k in range(s.size + 1):
        tail = np.sum(s[k:] ** 2)  # ‖A − A_k‖²_F
        assert rho[k] == pytest.approx(1 - tail / total, abs=1e-12)
    assert np.all(np.diff(rho) >= -1e-15)


def _official_variance_ratio(s, k):
    """InRank's ``_jit_compute_explained_variance(k, s)``, restated with NumPy.

    ``s`` is every singular value of the matrix; the code keeps ``s[:k]`` in
    ``s_current`` and compares the variances (``torch.var`` is unbiased: ddof=1).
    """
    s_current = s.copy()
    s_current[k:] = 0
    return 1 - np.var(s - s_current, ddof=1) / np.var(s, ddof=1)


@given(s=spectra, extra=st.integers(0, 20))
def test_variance_ratio_matches_official_formula_with_zero_padding(s, extra):
    length = s.size + extra  # the code takes the SVD of the whole matrix: min(m, n) values
    rho = explained_ratio(s, "variance", length=length)
    assert rho.shape == (s.size + 1,)
    full = np.concatenate([s, np.zeros(extra)])
    var = np.var(full)
    eps = np.finfo(float).eps
    if var <= (4 * length * eps * max(np.max(s), 1e-300)) ** 2:  # flat (or all zero)
        assert rho[-1] == 1.0
        return
    # Both sides cancel sums of size ~mean(s²) in float64; relative to var(s) the
    # rounding error of a ratio is about L·ε·mean(s²)/var(s) for each of the two.
    tol = 8 * length * eps * np.mean(full**2) / var
    for k in range(s.size + 1):
        assert rho[k] == pytest.approx(_official_variance_ratio(full, k), abs=tol)
    assert rho[0] == 0.0 and rho[-1] == 1.0


def test_zero_padding_pulls_the_variance_ratio_towards_the_energy_ratio():
    s = np.array([4.0, 2.0, 1.0, 0.5])
    energy = explained_ratio(s, "energy")
    unpadded = explained_ratio(s, "variance")
    padded = explained_ratio(s, "variance", length=64)
    # by hand: var(s) = 5.3125 − 1.875² = 1.796875; var(0, 2, 1, .5) = 1.3125 − .875²
    assert unpadded[1] == pytest.approx(1 - 0.546875 / 1.796875, rel=1e-14)
    assert np.all(np.abs(padded - energy)[1:-1] < np.abs(unpadded - energy)[1:-1])
    assert np.max(np.abs(padded - energy)) < 0.02
    # the energy ratio does not depend on the zeros
    np.testing.assert_array_equal(explained_ratio(s, "energy", length=64), energy)


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
        (lambda: explained_ratio(np.ones(3), "variance", length=2), "length"),
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


@given(s=spectra, scale=st.sampled_from([1e-300, 1e-150, 1e150, 1e300]))
def test_ratios_do_not_depend_on_the_scale_of_the_spectrum(s, scale):
    # Both ratios are homogeneous of degree 0 in s; huge and tiny spectra must neither
    # overflow nor underflow (s² of 1e300 is inf, of 1e-300 is 0).
    big = s / max(np.max(s), 1e-300) * scale if np.max(s) > 0 else s
    for kind in ("energy", "variance"):
        rho = explained_ratio(big, kind, length=s.size + 3)
        assert np.all(np.isfinite(rho))
        reference = explained_ratio(big / scale if np.max(s) > 0 else s, kind, length=s.size + 3)
        np.testing.assert_allclose(rho, reference, atol=1e-12)


def test_huge_equal_values_are_a_valid_spectrum():
    np.testing.assert_array_equal(explained_ratio([1e300, 1e300]), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(explained_ratio([1e300, 1e300], "variance"), [0.0, 0.0, 1.0])
    assert int(effective_rank([1e300, 1e299], 0.9)) == 1  # 1e300² / (1e300² + 1e299²) > 0.9


@pytest.mark.parametrize(
    "s", [[], [[]], 3.0, [1.0, -1.0], ["a", "b"], [1.0 + 1j]], ids=lambda s: repr(s)[:20]
)
def test_spectra_that_are_not_singular_values_name_s(s):
    with pytest.raises(ValueError, match="s"):
        explained_ratio(s)
    with pytest.raises(ValueError, match="s"):
        select_rank(s, 1, 1, 2)
