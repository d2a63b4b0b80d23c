"""Every benchmark script runs in its --quick mode (a smoke test, never a timing test)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
BENCHMARKS = sorted(p for p in BENCHMARKS_DIR.glob("*.py") if not p.name.startswith("_"))
EXPECTED_BENCHMARKS = {
    "cgd_bench.py",
    "gan_bench.py",
    "inrank_bench.py",
    "inrank_transformer_bench.py",
    "vecchia_bench.py",
    "vecchia_noise_bench.py",
    "pde_bench.py",
}


def test_every_expected_benchmark_exists():
    assert {p.name for p in BENCHMARKS} == EXPECTED_BENCHMARKS


@pytest.mark.slow
@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_quick_mode_runs_and_prints_ratios(path):
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run(
        [sys.executable, str(path), "--quick"], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # ratios are printed as a number followed by × or x, e.g. "12.3×"
    assert re.search(r"\d(\.\d+)?\s?[x×]", out.stdout), out.stdout[-2000:]
