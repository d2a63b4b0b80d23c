"""Each vecchia figure's numbers, checked against a closed form or an independent computation.

The figures run in quick mode into a temporary folder; the checks read their JSON.
"""

import json

import numpy as np
import pytest

from refimpl import figures as registry

FIGURES = {f.name: f for f in registry.discover() if f.topic == "vecchia"}


@pytest.fixture(scope="module")
def numbers(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    cache = {}

    def load(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            registry.load(FIGURES[name])(out, quick=True)
            cache[name] = json.loads((out / f"{name}.json").read_text())
        return cache[name]

    return load


def exponential_kernel(x, length_scale):
    """Matérn-1/2 written out: exp(−|x − y| / l), independent of refimpl."""
    return np.exp(-np.abs(x[:, None] - x[None, :]) / length_scale)


def test_markov_kl_is_zero_with_one_neighbour_and_the_closed_form_without(numbers):
    data = numbers("vecchia_markov")
    x = np.asarray(data["points"])
    kl = data["kl"]["Matérn-1/2"]
    m = data["m"]
    # m = 1: the Ornstein–Uhlenbeck process is Markov, so the factor is exact. The KL
    # is a sum of n terms each exact to about κ(Θ)·ε
    theta = exponential_kernel(x, 0.2)
    tolerance = 10 * len(x) * np.linalg.cond(theta) * np.finfo(float).eps
    assert abs(kl[m.index(1)]) <= tolerance
    # m = 0: L = I (unit variances), so KL = ½ [tr Θ − log det Θ − N] = −½ log det Θ
    sign, log_det = np.linalg.slogdet(theta)
    assert sign == 1
    assert kl[m.index(0)] == pytest.approx(-0.5 * log_det, rel=1e-10)
    # Matérn-3/2 is not Markov: one neighbour leaves a clearly positive KL
    assert data["kl"]["Matérn-3/2"][m.index(1)] > 1e3 * tolerance


def test_ordering_lengths_and_column_are_the_definitions(numbers):
    data = numbers("vecchia_ordering")
    x = np.asarray(data["points_ordered"])
    lengths = np.array([np.inf if v is None else v for v in data["lengths"]], dtype=float)
    n = len(x)
    distances = np.linalg.norm(x[:, None] - x[None], axis=-1)
    # the maximin length of point k is its distance to the nearest coarser (later) point
    expected = np.array([distances[k, k + 1 :].min() for k in range(n - 1)] + [np.inf])
    np.testing.assert_allclose(lengths, expected, rtol=1e-14)
    j, rho = data["column"], data["rho"]
    rows = np.flatnonzero((np.arange(n) >= j) & (distances[:, j] <= rho * lengths[j]))
    assert data["rows"] == rows.tolist()


def test_kl_vs_nnz_counts_the_knn_pattern_in_closed_form(numbers):
    data = numbers("vecchia_kl_vs_nnz")
    n = data["n"]
    for result in data["sets"].values():
        knn = result["knn"]
        for m, per_column in zip(knn["m"], knn["nnz_per_column"], strict=True):
            # column j holds itself and min(m, N − 1 − j) later points
            expected = sum(1 + min(m, n - 1 - j) for j in range(n)) / n
            assert per_column == pytest.approx(expected, rel=1e-15)
        assert all(kl > 0 for kl in result["ball_p3"]["kl"])


def test_timing_slopes_are_the_least_squares_fits_of_the_data(numbers):
    data = numbers("vecchia_timing")
    for key in ("dense", "sparse"):
        n, seconds = np.asarray(data[key]["n"], float), np.asarray(data[key]["seconds"])
        half = len(n) // 2
        design = np.stack([np.log(n[half:]), np.ones(len(n) - half)], axis=1)
        slope = np.linalg.lstsq(design, np.log(seconds[half:]), rcond=None)[0][0]
        assert data[key]["slope"] == pytest.approx(slope, rel=1e-9)
        assert np.all(seconds > 0)
