"""The package describes itself consistently: version, license, citation and package data.

The version has one source, ``refimpl.__version__``; the build reads it, the installed
metadata reports it, the command line prints it and ``CITATION.cff`` repeats it. Package
data is what a wheel must carry besides Python files: a data file added to the source tree
without a matching ``package-data`` pattern would be missing from the wheel (CI also runs
the suite against the installed wheel, where such a file's absence fails its tests).
"""

import fnmatch
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import refimpl

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(refimpl.__file__).resolve().parent
tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?", refimpl.__version__)


def test_installed_metadata_reports_the_same_version():
    assert metadata.version("refimpl") == refimpl.__version__


def test_command_line_prints_the_version():
    completed = subprocess.run(
        [sys.executable, "-m", "refimpl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"refimpl {refimpl.__version__}"


def test_build_reads_the_version_from_the_package():
    project = _pyproject()
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "refimpl.__version__"}


def test_citation_file_repeats_the_version_and_cites_every_paper():
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(rf'^version: "{re.escape(refimpl.__version__)}"$', citation, re.MULTILINE)
    for identifier in ("2306.11250", "2004.14455", "2304.01294", "1905.12103", "1910.05852"):
        assert f"arXiv:{identifier}" in citation, identifier


def test_license_file_matches_the_declared_license():
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_every_data_file_of_the_package_is_declared_package_data():
    source = ROOT / "refimpl"
    if not source.is_dir():
        pytest.skip("testing an installed wheel: no source tree beside the tests")
    declared = _pyproject()["tool"]["setuptools"]["package-data"]
    data_files = [
        p
        for p in source.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert data_files, "the oracle's recorded references are package data"
    undeclared = []
    for path in data_files:
        package = ".".join(path.parent.relative_to(ROOT).parts)
        covered = any(
            fnmatch.fnmatch(path.relative_to(ROOT / owner.replace(".", "/")).as_posix(), pattern)
            for owner, patterns in declared.items()
            if package == owner or package.startswith(owner + ".")
            for pattern in patterns
        )
        if not covered:
            undeclared.append(str(path.relative_to(ROOT)))
    assert not undeclared, f"data files missing from [tool.setuptools.package-data]: {undeclared}"
