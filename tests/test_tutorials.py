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


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_in_quick_mode(path, monkeypatch, tmp_path):
    monkeypatch.setenv("REFIMPL_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # anything a tutorial saves lands here
    import matplotlib.pyplot as plt

    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")  # plt.show() leaves figures open under the Agg backend


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_is_jupytext_percent_format(path):
    text = path.read_text(encoding="utf-8")
    assert text.count("# %%") >= 3, "percent-format cells start with '# %%'"
    assert "# %% [markdown]" in text, "tutorials read like lecture notes: markdown cells"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_opens_as_a_notebook_and_saves_back_unchanged(path):
    """With the repository's jupytext.toml, JupyterLab round-trips a tutorial byte for byte."""
    jupytext = pytest.importorskip(
        "jupytext", reason="jupytext comes with the notebooks/docs extras"
    )
    from jupytext.config import load_jupytext_configuration_file

    config = load_jupytext_configuration_file(str(TUTORIALS_DIR.parent / "jupytext.toml"))
    assert config.formats == ["py:percent"] or config.formats == "py:percent"
    text = path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="py:percent")
    assert sum(cell.cell_type == "markdown" for cell in notebook.cells) >= 1
    assert sum(cell.cell_type == "code" for cell in notebook.cells) >= 1
    notebook.metadata.setdefault("jupytext", {}).update(
        notebook_metadata_filter=config.notebook_metadata_filter,
        cell_metadata_filter=config.cell_metadata_filter,
    )
    assert jupytext.writes(notebook, fmt="py:percent") == text
