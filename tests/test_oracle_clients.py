"""The oracle kit stands on its own: clients written from the manifests and docs alone
(tests/oracle_clients/, importing nothing from refimpl) reproduce every exported case."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from refimpl import oracle

CLIENTS = Path(__file__).parent / "oracle_clients"
sys.path.insert(0, str(CLIENTS))

import run_clients  # noqa: E402


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("oracle_export")
    oracle.export(directory)
    return directory


def test_clients_reproduce_every_exported_case(export_dir, tmp_path):
    candidate = tmp_path / "candidate"
    # run the clients in a fresh interpreter in which refimpl cannot be imported at all
    script = (
        "import json, sys; sys.modules['refimpl'] = None; "
        f"sys.path.insert(0, {str(CLIENTS)!r}); import run_clients; "
        f"print(json.dumps(run_clients.write_candidate({str(export_dir)!r}, {str(candidate)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout.strip().splitlines()[-1])
    exported = sorted(
        f"{p.parent.parent.name}.{p.parent.name}" for p in export_dir.glob("*/*/manifest.json")
    )
    assert sorted(written) == exported, "a client is missing for some exported case"
    report = oracle.check_directory(export_dir, candidate)
    unchecked = [row.case for row in report.rows if not row.checked]
    assert not unchecked, f"cases not checked: {unchecked}"
    assert {row.case for row in report.rows} == set(exported)
    assert report.passed, report.table()


def test_no_client_imports_refimpl():
    pattern = re.compile(
        r"^\s*(import|from)\s+refimpl\b|(__import__|import_module)\(\s*['\"]refimpl", re.M
    )
    files = sorted(CLIENTS.glob("*.py"))
    assert {f.stem for f in files} >= set(run_clients.CLIENTS) | {"run_clients"}
    offenders = [f.name for f in files if pattern.search(f.read_text(encoding="utf-8"))]
    assert not offenders, f"clients importing refimpl: {offenders}"
