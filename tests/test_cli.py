"""The command line: help, exit codes, one-line errors, figure listing."""

import subprocess
import sys

import pytest

from refimpl.__main__ import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "refimpl", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("args", [["--help"], ["figures", "--help"], ["info", "--help"]])
def test_help_everywhere(args):
    out = run_cli(*args)
    assert out.returncode == 0
    assert "usage: refimpl" in out.stdout


def test_info_prints_versions_backend_and_blas(capsys, monkeypatch):
    monkeypatch.delenv("REFIMPL_BACKEND", raising=False)
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    for key in ("refimpl", "numpy", "scipy", "matplotlib", "backend", "blas"):
        assert any(line.startswith(key) for line in text.splitlines()), key
    assert "backend     numpy" in text


def test_unknown_command_is_usage_error():
    out = run_cli("frobnicate")
    assert out.returncode == 2
    assert "invalid choice" in out.stderr


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: refimpl" in capsys.readouterr().out


def test_unknown_figure_is_one_line_usage_error():
    out = run_cli("figures", "no_such_figure", "--quick")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "unknown figure name(s) ['no_such_figure']" in out.stderr


def test_missing_source_folder_is_usage_error(tmp_path, capsys):
    assert main(["figures", "--source", str(tmp_path / "missing")]) == 2
    assert "--source: expected an existing folder" in capsys.readouterr().err


def test_empty_registry_says_so_plainly(tmp_path, capsys):
    assert main(["figures", "--source", str(tmp_path)]) == 0
    assert "no figures are registered yet" in capsys.readouterr().out


def test_failing_figure_exits_1_with_one_line(tmp_path, capsys):
    (tmp_path / "broken.py").write_text(
        '"""A figure that fails."""\nTOPIC = "test"\n\n'
        "def make(out_dir, quick=False):\n    raise RuntimeError('boom')\n"
    )
    assert main(["figures", "--source", str(tmp_path), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "FAILED broken: RuntimeError: boom" in err and "Traceback" not in err


def test_list_shows_name_topic_title(tmp_path, capsys):
    (tmp_path / "demo.py").write_text('"""Demo title."""\nTOPIC = "cgd"\n')
    assert main(["figures", "--list", "--source", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split() == ["demo", "cgd", "Demo", "title."]


def test_info_reports_a_missing_cupy_backend_and_exits_0():
    """`info` is what a user runs when the GPU backend fails: it must report, not fail."""
    import os

    from refimpl import backend

    available, _ = backend.gpu_available()
    if available:
        pytest.skip("CuPy works here; the failure path needs a machine without it")
    env = dict(os.environ, REFIMPL_BACKEND="cupy")
    out = subprocess.run(
        [sys.executable, "-m", "refimpl", "info"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    line = next(li for li in out.stdout.splitlines() if li.startswith("backend"))
    assert "unavailable" in line and "cupy" in line.lower()


def test_info_reports_a_broken_cupy_and_exits_0(tmp_path):
    """A CuPy that is installed but fails on import (a CUDA mismatch) is reported."""
    import os

    fake = tmp_path / "cupy"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('libcudart.so.12: cannot open')\n")
    env = dict(os.environ, REFIMPL_BACKEND="cupy", PYTHONPATH=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-m", "refimpl", "info"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    lines = {li.split()[0]: li for li in out.stdout.splitlines() if li.strip()}
    assert "unavailable" in lines["backend"]
    assert "broken" in lines["cupy"] and "libcudart" in lines["cupy"]
