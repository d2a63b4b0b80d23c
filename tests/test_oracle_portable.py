"""The portable checker and the manifest's JSON Schema: the kit as another language sees it.

``refimpl/oracle/portable_check.py`` needs only NumPy and the files; it must give the
same verdict as ``oracle.check_directory`` on every exported case and on every broken
candidate of the oracle tests (the tolerance ceiling, which needs refimpl's registry,
is the one documented difference). Every exported manifest validates against
``refimpl/oracle/manifest.schema.json``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from test_oracle import BROKEN, _candidate_from_reference

from refimpl import oracle
from refimpl.oracle.files import case_directory, read_arrays, write_arrays

ORACLE = Path(oracle.__file__).parent
SCHEMA = json.loads((ORACLE / "manifest.schema.json").read_text(encoding="utf-8"))


def _portable():
    spec = importlib.util.spec_from_file_location("portable_check", ORACLE / "portable_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


portable = _portable()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle")
    oracle.export(root)
    return root


def _verdicts_refimpl(report):
    return {(r.case, r.output): (r.passed if r.checked else None) for r in report.rows}


def _verdicts_portable(rows):
    return {(case, output): verdict for case, output, verdict, _ in rows}


def test_every_exported_manifest_validates_against_the_schema(exported):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    manifests = sorted(exported.glob("*/*/manifest.json"))
    assert len(manifests) == len(oracle.cases())
    for path in manifests:
        errors = [e.message for e in validator.iter_errors(json.loads(path.read_text()))]
        assert not errors, f"{path}: {errors[:3]}"


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.pop("conventions"),
        lambda m: m.update(schema_version=1),
        lambda m: next(iter(m["outputs"].values())).pop("compare_as"),
        lambda m: next(iter(m["outputs"].values())).update(compare_as="matrix"),
        lambda m: next(iter(m["outputs"].values())).update(tolerance={"atol": -1.0}),
        lambda m: m["outputs"].clear(),
        lambda m: m.update(extra_field=1),
    ],
)
def test_the_schema_refuses_broken_manifests(exported, change):
    path = case_directory(exported, "cgd.cgd_quadratic") / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_portable_checker_agrees_on_every_exported_case(exported):
    ours = _verdicts_refimpl(oracle.check_directory(exported, exported))
    theirs = _verdicts_portable(portable.check(exported, exported))
    assert ours == theirs and all(ours.values())


@pytest.mark.parametrize("name, output, change", BROKEN, ids=[b[2].__name__ for b in BROKEN])
def test_the_portable_checker_agrees_on_every_broken_candidate(
    exported, tmp_path, name, output, change
):
    candidate = _candidate_from_reference(exported, tmp_path, name, change)
    ours = _verdicts_refimpl(oracle.check_directory(exported, candidate))
    theirs = _verdicts_portable(portable.check(exported, candidate))
    assert ours == theirs
    assert not ours[(name, output)]


def _more_broken(exported, tmp_path):
    """Candidates with the mistakes of the report tests: each a folder of one case."""

    def one(case, change, folder):
        root = tmp_path / folder
        target = case_directory(root, case)
        target.mkdir(parents=True)
        outputs = read_arrays(case_directory(exported, case) / "outputs.npz")
        write_arrays(target / "outputs.npz", change(outputs))
        return root

    def drift(out):
        return {**out, "x": out["x"] + np.where(np.arange(len(out["x"]))[:, None] >= 2, 1e-3, 0)}

    return [
        one("cgd.cgd_quadratic", drift, "drift"),
        one("cgd.acgd_quadratic", lambda o: {k: v.astype(np.float32) for k, v in o.items()}, "f32"),
        one(
            "vecchia.maximin_p3_random",
            lambda o: {**o, "lengths": np.where(o["lengths"] < 0, np.inf, o["lengths"])},
            "sentinel",
        ),
        one("vecchia.kl_factor_rho3", lambda o: {"L": o["L"].T.tocsc()}, "upper"),
        one("vecchia.kl_factor_dense", lambda o: {"L": o["L"] * (1 + 1e-10)}, "jitter"),
        one("inrank.gradients", lambda o: {**o, "loss": np.array(["a"])}, "dtype"),
        one("pde.elliptic_solve", lambda o: {"values": o["values"]}, "missing"),
    ]


def test_the_portable_checker_agrees_on_the_report_tests_mistakes(exported, tmp_path):
    for candidate in _more_broken(exported, tmp_path):
        ours = _verdicts_refimpl(oracle.check_directory(exported, candidate))
        theirs = _verdicts_portable(portable.check(exported, candidate))
        assert ours == theirs, candidate.name
        assert any(v is False for v in ours.values()) or candidate.name == "jitter", candidate


def test_the_portable_checker_runs_without_refimpl_or_scipy(exported, tmp_path):
    copy = tmp_path / "portable_check.py"
    shutil.copy(ORACLE / "portable_check.py", copy)
    probe = (
        "import runpy, sys; sys.argv = ['portable_check.py', sys.argv[1], sys.argv[2]]\n"
        f"try:\n    runpy.run_path(sys.argv[0] if False else {str(copy)!r}, run_name='__main__')\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('refimpl', 'scipy')]\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(exported), str(exported)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "FAIL" not in done.stdout and "pass" in done.stdout


def test_the_portable_checker_stays_short():
    code = [
        line
        for line in (ORACLE / "portable_check.py").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(code) <= 200, len(code)


def test_the_conventions_page_is_the_manifests_text():
    page = Path(__file__).parents[1] / "docs" / "oracle_conventions.md"
    assert page.read_text(encoding="utf-8") == oracle.conventions_table() + "\n", (
        "docs/oracle_conventions.md is stale: python -m refimpl oracle conventions > "
        "docs/oracle_conventions.md"
    )
    for case in oracle.cases():
        assert case.conventions in page.read_text(encoding="utf-8")
