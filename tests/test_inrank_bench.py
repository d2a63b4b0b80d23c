"""The inrank benchmark's claims that do not depend on timing (its smoke test runs the rest).

The benchmark prints the multiply-add ratio of full-rank to fixed-rank training next to
the measured speed-up, and compares the truncation through the factors with the former
dense SVD. Both claims are checked here at tiny sizes: the ratio against its closed form,
the truncation against the dense SVD it replaces.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "inrank_bench.py"
SPEC = importlib.util.spec_from_file_location("inrank_bench", PATH)
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


@pytest.mark.parametrize("width, rank", [(64, 2), (96, 3)])
def test_printed_mac_ratio_is_the_closed_form(width, rank):
    _, macs_ratio = bench.per_step(width, rank=rank, batch=8, repeats=1, buffer=1)
    # two width × width layers: dense 2w²B + 3w²B, factored (first layer without input
    # gradient) 2·(2w + 3w)rB + w r B = 11 w r B  (docs/derivations/inrank.md, §8)
    assert macs_ratio == pytest.approx(5 * width / (11 * rank), rel=1e-15)


def test_truncation_through_factors_equals_the_dense_svd_it_replaced():
    out = bench.truncation_timing(48, rank=3, buffer=2, batch=8, repeats=1)
    # products of size ~1e-4 (factors of scale 1e-2): agreement to rounding
    assert out["gap"] < 1e-14
    times = out["times"]
    assert {"adaptive step", "update, factors", "weight, randomized"} <= set(times)
    assert all(np.isfinite(v) and v > 0 for v in times.values())
