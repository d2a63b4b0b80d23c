"""Every tutorial in ``tutorials/`` runs as a plain script in quick mode."""

import runpy
from pathlib import Path

import pytest

TUTORIALS_DIR = Path(__file__).resolve().parents[1] / "tutorials"
TUTORIALS = sorted(p for p in TUTORIALS_DIR.glob("*.py") if not p.name.startswith("_"))
EXPECTED_TUTORIALS = {
    "cgd_bilinear.py",
    "icr_gan.py",
    "inrank_three_layer.py",
    "inrank_transformer.py",
    "oracle.py",
    "vecchia_cholesky.py",
    "vecchia_noise.py",
    "pde_gp.py",
}


def test_every_expected_tutorial_exists():
    assert {p.name for p in TUTORIALS} == EXPECTED_TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_in_quick_mode(path, monkeypatch, tmp_path):
    monkeypatch.setenv("REFIMPL_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # anything a tutorial saves lands here
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_is_jupytext_percent_format(path):
    text = path.read_text(encoding="utf-8")
    assert text.count("# %%") >= 3, "percent-format cells start with '# %%'"
    assert "# %% [markdown]" in text, "tutorials read like lecture notes: markdown cells"
