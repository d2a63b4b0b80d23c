"""Every registered figure runs in quick mode and writes a PNG plus its numbers.

The scripts are discovered from ``figures/``; the expected count per topic is
written down here so that a script cannot silently drop out.
"""

import json
from collections import Counter

import pytest

from refimpl import figures as registry

EXPECTED_PER_TOPIC = {"cgd": 5, "inrank": 6, "vecchia": 6, "pde": 5}

FOUND = registry.discover()


def test_every_expected_figure_is_registered():
    assert Counter(f.topic for f in FOUND) == Counter(EXPECTED_PER_TOPIC)


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
