"""The oracle kit: export, check, invariants, broken candidates, recorded references.

The round trip: every case is exported and refimpl passes its own export; each
deliberately broken candidate (a sign flip, a transposed factor, a wrong order, an
off-by-one step) fails, naming the case and the output; bad candidate folders get a
per-case report, never a traceback; and every case's freshly computed outputs
match the recorded ones, so a reference cannot change without being recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse

from refimpl import oracle
from refimpl.oracle.files import case_directory, read_arrays, write_arrays

ALL = [c.name for c in oracle.cases()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle")
    oracle.export(root)
    return root


def test_every_subpackage_has_cases():
    topics = {c.subpackage for c in oracle.cases()}
    assert {"cgd", "inrank", "vecchia"} <= topics


def test_refimpl_passes_its_own_export(exported):
    report = oracle.check_directory(exported, exported)
    assert report.passed, report.table()
    checked = {r.case for r in report.rows}
    assert checked == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_fresh_outputs_match_the_recorded_references(name):
    case = oracle.get_case(name)
    report = oracle.check(case, oracle.recorded_outputs(name), raise_on_failure=False)
    assert report.passed, (
        f"{name}: the reference outputs changed beyond tolerance. If deliberate, run "
        f"`python -m refimpl oracle record --case {name}` and log it in "
        f"refimpl/oracle/recorded/CHANGES.md\n{report.table()}"
    )


def test_recorded_set_matches_the_cases():
    recorded = {p.stem for p in oracle.recording.RECORDED.glob("*.npz")}
    assert recorded == set(ALL), "record new cases and remove the files of removed ones"
    digests = json.loads((oracle.recording.RECORDED / "digests.json").read_text())
    assert set(digests) == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_inputs_tolerances_and_conventions_match_the_recorded_digest(name):
    digests = json.loads((oracle.recording.RECORDED / "digests.json").read_text())
    assert oracle.case_digest(name) == digests[name], (
        f"{name}: inputs, tolerances or conventions changed. If deliberate, run "
        f"`python -m refimpl oracle record --case {name}` and log it in "
        "refimpl/oracle/recorded/CHANGES.md"
    )


def test_manifest_schema(exported):
    manifest = json.loads(
        (case_directory(exported, "vecchia.kl_factor_rho3") / "manifest.json").read_text()
    )
    assert manifest["schema_version"] == oracle.SCHEMA_VERSION
    for key in ("case", "function", "conventions", "inputs", "outputs", "refimpl_version"):
        assert key in manifest
    out = manifest["outputs"]["L"]
    assert out["kind"] == "csc" and out["tolerance"]["reason"]
    order = manifest["outputs"]
    grid = json.loads(
        (case_directory(exported, "vecchia.maximin_p1_grid_ties") / "manifest.json").read_text()
    )
    assert grid["outputs"]["order"]["invariant"]["name"] == "maximin_order"
    assert order


def _candidate_from_reference(exported, tmp_path, name, change):
    """A candidate folder holding refimpl's outputs with one case's outputs changed."""
    for case in oracle.cases():
        source = case_directory(exported, case.name) / "outputs.npz"
        target = case_directory(tmp_path, case.name)
        target.mkdir(parents=True, exist_ok=True)
        outputs = read_arrays(source)
        if case.name == name:
            outputs = change(outputs, oracle.get_case(name).make_inputs())
        write_arrays(target / "outputs.npz", outputs)
    return tmp_path


def _sign_flip(out, inputs):
    # the step taken with the wrong sign: x_k − x_0 replaced by x_0 − x_k
    return {**out, "x": 2 * out["x"][:1] - out["x"]}


def _transposed(out, inputs):
    return {**out, "L": scipy.sparse.csc_matrix(out["L"].T)}


def _swapped(out, inputs):
    order = out["order"].copy()
    order[[0, -2]] = order[[-2, 0]]  # the finest point moved to the coarse end
    return {**out, "order": order}


def _off_by_one(out, inputs):
    loss = out["loss"]
    return {**out, "loss": np.concatenate([loss[1:], loss[-1:]])}


BROKEN = [
    ("cgd.cgd_quadratic", "x", _sign_flip),
    ("vecchia.kl_factor_rho3", "L", _transposed),
    ("vecchia.maximin_p1_random", "order", _swapped),
    ("vecchia.maximin_p1_grid_ties", "order", _swapped),
    ("inrank.train_gd", "loss", _off_by_one),
]


@pytest.mark.parametrize("name, output, change", BROKEN, ids=[b[2].__name__ for b in BROKEN])
def test_broken_candidates_fail_naming_case_and_output(exported, tmp_path, name, output, change):
    candidate = _candidate_from_reference(exported, tmp_path, name, change)
    report = oracle.check_directory(exported, candidate)
    failed = {(r.case, r.output) for r in report.rows if not r.passed}
    assert failed == {(name, output)}, report.table()
    with pytest.raises(AssertionError, match=f"{name}: {output}"):
        report.raise_if_failed()


def test_ties_invariant_accepts_another_valid_tie_break(exported, tmp_path):
    """On a grid several orders are maximin; the invariant accepts any of them."""
    name = "vecchia.maximin_p1_grid_ties"
    inputs = oracle.get_case(name).make_inputs()
    points = inputs["points"]
    # Mirror the grid about its centre: the mirrored order is another greedy order
    # only if the start is mirrored too, so start at the centre (index 24 of 7×7).
    mirrored = np.lexsort((-points[:, 1], -points[:, 0]))  # index of mirrored point
    position = np.empty(len(points), dtype=np.int64)
    position[np.lexsort((points[:, 1], points[:, 0]))] = np.arange(len(points))
    mirror_of = mirrored[position]

    def change(out, inputs):
        return {**out, "order": mirror_of[out["order"]]}

    candidate = _candidate_from_reference(exported, tmp_path, name, change)
    report = oracle.check_directory(exported, candidate)
    assert report.passed, report.table()
    assert not np.array_equal(mirror_of, np.arange(len(points)))


def test_bad_candidate_folders_get_a_report_not_a_traceback(exported, tmp_path):
    candidate = _candidate_from_reference(
        exported,
        tmp_path,
        "inrank.gradients",
        lambda out, inputs: {
            "loss": out["loss"],
            "grad_W1": out["grad_W1"][:, :2],  # wrong shape
            "grad_W2": np.full_like(out["grad_W2"], np.nan),  # NaN
            "grad_W3": np.array(["a", "b"]),  # wrong dtype
        },
    )
    (case_directory(candidate, "cgd.gda_quadratic") / "outputs.npz").unlink()  # missing case
    report = oracle.check_directory(exported, candidate, require_all=True)
    detail = {(r.case, r.output): r.detail for r in report.rows if not r.passed}
    assert "shape" in detail[("inrank.gradients", "grad_W1")]
    assert "non-finite" in detail[("inrank.gradients", "grad_W2")]
    assert "dtype" in detail[("inrank.gradients", "grad_W3")]
    assert "missing" in detail[("cgd.gda_quadratic", "-")]
    assert len(detail) == 4
    # Without require_all a case the candidate lacks is not checked, and fails nothing.
    partial = oracle.check_directory(exported, candidate)
    (skipped,) = [r for r in partial.rows if not r.checked]
    assert skipped.case == "cgd.gda_quadratic" and skipped.detail == "not checked"
    assert "-  " in report.table()  # unmeasurable errors print as "-", never inf


def test_python_api_check_names_the_worst_entry():
    case = oracle.get_case("cgd.cgd_step_bilinear")
    outputs = case.compute(case.make_inputs())
    outputs["y"] = outputs["y"].copy()
    outputs["y"][4, 1] += 1e-6
    with pytest.raises(AssertionError, match=r"cgd.cgd_step_bilinear: y: .*worst entry \(4, 1\)"):
        oracle.check(case, outputs)
    missing = oracle.check(case, {"x": outputs["x"]}, raise_on_failure=False)
    assert {r.output for r in missing.rows if not r.passed} == {"y", "norm"}


def test_cli_exit_codes(exported, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "refimpl", "oracle", "check", str(exported), str(exported)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "case" in ok.stdout.splitlines()[0] and "tolerance" in ok.stdout.splitlines()[0]
    candidate = _candidate_from_reference(exported, tmp_path, "cgd.cgd_quadratic", _sign_flip)
    bad = subprocess.run(
        [sys.executable, "-m", "refimpl", "oracle", "check", str(exported), str(candidate)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "FAIL" in bad.stdout and "Traceback" not in bad.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "refimpl", "oracle", "export", str(tmp_path), "--case", "nope"],
        capture_output=True,
        text=True,
    )
    assert usage.returncode == 2 and "case" in usage.stderr


def test_sparse_factors_are_stored_as_csc_triplets(exported):
    path = case_directory(exported, "vecchia.kl_factor_rho3") / "outputs.npz"
    with np.load(path, allow_pickle=False) as data:
        assert {"L.indptr", "L.indices", "L.data", "L.shape"} <= set(data.files)
        n = int(data["L.shape"][0])
        assert len(data["L.indptr"]) == n + 1
