"""Every registered figure runs in quick mode and writes a PNG plus its numbers.

The scripts are discovered from ``figures/``; the expected count per topic is
written down here so that a script cannot silently drop out.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from refimpl import figures as registry

EXPECTED_PER_TOPIC = {"cgd": 5, "inrank": 6, "vecchia": 6, "pde": 5}

FOUND = registry.discover()
ROOT = Path(__file__).resolve().parents[1]


def test_every_expected_figure_is_registered():
    assert Counter(f.topic for f in FOUND) == Counter(EXPECTED_PER_TOPIC)


@pytest.mark.slow
@pytest.mark.parametrize("figure", FOUND, ids=[f.name for f in FOUND])
def test_figure_quick_writes_png_and_data(figure, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    paths = registry.load(figure)(tmp_path, quick=True)
    names = sorted(p.name for p in paths)
    assert f"{figure.name}.png" in names
    png = tmp_path / f"{figure.name}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data_files = [p for p in paths if p.suffix in (".json", ".csv")]
    assert data_files, "a figure must write the numbers it plots"
    for p in data_files:
        if p.suffix == ".json":
            assert json.loads(p.read_text())  # non-empty


#: Keys that would hold machine-dependent numbers (timings) in figure data.
TIMING_KEY = re.compile(r"second|wall|clock|elapsed|duration", re.IGNORECASE)


def _timing_keys(data, path=""):
    if isinstance(data, dict):
        for key, value in data.items():
            if TIMING_KEY.search(key):
                yield f"{path}/{key}"
            yield from _timing_keys(value, f"{path}/{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _timing_keys(value, f"{path}/{index}")


def test_tracked_figure_data_holds_no_timings():
    """Tracked JSON must not change between runs: timings go to stdout or untracked files."""
    assert list(_timing_keys({"a": [{"seconds_per_step": 1.0}]})) == ["/a/0/seconds_per_step"]
    for path in sorted((ROOT / "figures").glob("*.json")):
        if path.stem.endswith("_timing"):  # untracked (.gitignore): timings are their data
            continue
        found = list(_timing_keys(json.loads(path.read_text(encoding="utf-8"))))
        assert not found, f"{path.name} records machine-dependent numbers: {found}"
