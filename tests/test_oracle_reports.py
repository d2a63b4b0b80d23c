"""What an outside implementation sees when it checks only some cases, or gets one wrong.

Partial candidates are reported as "not checked" (unless asked for); a check that
compares nothing fails; each failing row says how many entries fail and points at the
cause (the worst entry, the first failing step of a trajectory, the first position where
an ordering departs, entries above a factor's diagonal, a sentinel where the candidate
wrote NaN, a sparse output's missing CSC part); a reference manifest whose tolerance is
looser than the registered one is reported, not used.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse

from refimpl import oracle
from refimpl.oracle.files import case_directory, read_arrays, write_arrays

CASES = ["cgd.cgd_quadratic", "vecchia.maximin_p3_random", "vecchia.kl_factor_rho3"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    oracle.export(root, case=CASES)
    return root


def _candidate(exported, tmp_path, case, change=None):
    """A candidate folder holding only ``case``, its outputs changed by ``change``."""
    root = tmp_path / "candidate"
    folder = case_directory(root, case)
    folder.mkdir(parents=True)
    outputs = read_arrays(case_directory(exported, case) / "outputs.npz")
    if change is not None:
        outputs = change(outputs)
    write_arrays(folder / "outputs.npz", outputs)
    return root


def _row(report, output):
    (row,) = [r for r in report.rows if r.output == output]
    return row


def test_export_keeps_every_case_given(exported):
    exported_cases = {f"{p.parent.name}.{p.name}" for p in exported.glob("*/*")}
    assert exported_cases == set(CASES)


def test_a_partial_candidate_passes_and_lists_the_rest_as_not_checked(exported, tmp_path):
    candidate = _candidate(exported, tmp_path, "cgd.cgd_quadratic")
    report = oracle.check_directory(exported, candidate)
    assert report.passed
    skipped = sorted(r.case for r in report.rows if not r.checked)
    assert skipped == sorted(set(CASES) - {"cgd.cgd_quadratic"})
    assert "skip  not checked" in report.table()
    assert not oracle.check_directory(exported, candidate, require_all=True).passed
    only = oracle.check_directory(exported, candidate, cases="cgd.cgd_quadratic")
    assert only.passed and all(r.checked for r in only.rows)
    # A case asked for by name that the candidate lacks fails.
    asked = oracle.check_directory(exported, candidate, cases=["vecchia.kl_factor_rho3"])
    assert not asked.passed and "missing" in asked.rows[0].detail


def test_a_check_that_compares_nothing_fails(exported, tmp_path):
    (tmp_path / "empty").mkdir()
    report = oracle.check_directory(exported, tmp_path / "empty")
    assert not report.passed and not any(r.checked for r in report.rows)
    with pytest.raises(AssertionError, match="no output was compared"):
        report.raise_if_failed()


def test_cases_must_be_in_the_export(exported, tmp_path):
    with pytest.raises(ValueError, match=r"^cases: \['cgd.gda_quadratic'\] not exported"):
        oracle.check_directory(exported, exported, cases=["cgd.gda_quadratic"])
    with pytest.raises(ValueError, match=r"^cases: expected a case name"):
        oracle.check_directory(exported, exported, cases=[])


def test_the_cli_checks_named_cases_and_requires_all_on_request(exported, tmp_path):
    candidate = _candidate(exported, tmp_path, "cgd.cgd_quadratic")

    def cli(*extra):
        return subprocess.run(
            [sys.executable, "-m", "refimpl", "oracle", "check", str(exported), str(candidate)]
            + list(extra),
            capture_output=True,
            text=True,
        )

    partial = cli()
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert "2 case(s) not in the candidate, not checked" in partial.stdout
    assert cli("--require-all").returncode == 1
    assert cli("--case", "cgd.cgd_quadratic").returncode == 0
    both = cli("--case", "cgd.cgd_quadratic", "--case", "vecchia.kl_factor_rho3")
    assert both.returncode == 1 and "missing" in both.stdout


def test_the_cli_exports_every_case_given(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "refimpl", "oracle", "export", str(tmp_path / "out")]
        + ["--case", "cgd.cgd_quadratic", "--case", "inrank.explained_ratio"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.parent.name for p in (tmp_path / "out").glob("*/*/manifest.json")) == [
        "cgd_quadratic",
        "explained_ratio",
    ]


def test_a_failing_output_counts_its_failing_entries_and_names_the_first_step(exported, tmp_path):
    def off_from_step_two(outputs):
        x = outputs["x"].copy()
        x[2:] += 1e-3
        return {**outputs, "x": x}

    candidate = _candidate(exported, tmp_path, "cgd.cgd_quadratic", off_from_step_two)
    row = _row(oracle.check_directory(exported, candidate, cases="cgd.cgd_quadratic"), "x")
    n_failing = read_arrays(case_directory(exported, "cgd.cgd_quadratic") / "outputs.npz")["x"][
        2:
    ].size
    assert not row.passed
    assert row.detail.startswith(f"first failing step 2; {n_failing} of ")


def test_an_ordering_names_the_first_position_where_it_departs(exported, tmp_path):
    case = "vecchia.maximin_p3_random"

    def swap(outputs):
        order = outputs["order"].copy()
        order[[10, 11]] = order[[11, 10]]
        return {**outputs, "order": order}

    candidate = _candidate(exported, tmp_path, case, swap)
    row = _row(oracle.check_directory(exported, candidate, cases=case), "order")
    assert not row.passed and row.error == 2.0
    assert "2 of 80 positions differ; the sequence departs first at position 10" in row.detail


def test_a_nan_where_the_reference_holds_a_sentinel_names_the_sentinel(exported, tmp_path):
    case = "vecchia.maximin_p3_random"

    def inf_lengths(outputs):
        lengths = np.where(outputs["lengths"] == -1.0, np.inf, outputs["lengths"])
        return {**outputs, "lengths": lengths}

    candidate = _candidate(exported, tmp_path, case, inf_lengths)
    row = _row(oracle.check_directory(exported, candidate, cases=case), "lengths")
    assert not row.passed and "the reference holds the sentinel -1 there" in row.detail


def test_a_factor_with_entries_above_the_diagonal_says_so(exported, tmp_path):
    case = "vecchia.kl_factor_rho3"
    candidate = _candidate(exported, tmp_path, case, lambda out: {"L": out["L"].T.tocsc()})
    row = _row(oracle.check_directory(exported, candidate, cases=case), "L")
    assert not row.passed and "entries above the diagonal, first at (0, " in row.detail


@pytest.mark.parametrize("part", ["indptr", "indices", "data", "shape"])
def test_a_sparse_output_without_one_csc_part_names_the_part(exported, tmp_path, part):
    case = "vecchia.kl_factor_rho3"
    root = tmp_path / "candidate"
    folder = case_directory(root, case)
    folder.mkdir(parents=True)
    csc = read_arrays(case_directory(exported, case) / "outputs.npz")["L"]
    parts = {
        "indptr": csc.indptr,
        "indices": csc.indices,
        "data": csc.data,
        "shape": np.asarray(csc.shape),
    }
    parts.pop(part)
    np.savez(open(folder / "outputs.npz", "wb"), **{f"L.{k}": v for k, v in parts.items()})
    row = _row(oracle.check_directory(exported, root, cases=case), "L")
    assert not row.passed and f"without its CSC part(s) L.{part}" in row.detail


def test_a_loosened_manifest_tolerance_is_reported_not_used(exported, tmp_path):
    case = "cgd.cgd_quadratic"
    tampered = tmp_path / "tampered"
    shutil.copytree(exported, tampered)
    path = case_directory(tampered, case) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["outputs"]["x"]["tolerance"]["atol"] = 1.0
    path.write_text(json.dumps(manifest))
    report = oracle.check_directory(tampered, exported, cases=case)
    row = _row(report, "x")
    assert not row.passed and "looser than the registered one" in row.detail
    assert _row(report, "y").passed


def test_in_memory_check_reports_missing_csc_parts():
    case = oracle.get_case("vecchia.kl_factor_rho3")
    L = case.compute(case.make_inputs())["L"]
    outputs = {"L.indptr": L.indptr, "L.indices": L.indices, "L.data": L.data}
    report = oracle.check(case, outputs, raise_on_failure=False)
    assert "without its CSC part(s) L.shape" in report.rows[0].detail
    assert scipy.sparse.issparse(L)


# --------------------------------------------------------------------- common mistakes


def _cgd_by_hand(case, inner_solve):
    """Two CGD steps on f = xᵀAy written from the manifest, with a pluggable inner solve."""
    inputs = case.make_inputs()
    A, eta = inputs["A"], float(inputs["eta"])
    x, y = inputs["x0"], inputs["y0"]
    xs, ys = [x], [y]
    for _ in range(int(inputs["steps"])):
        gx, gy = A @ y, -A.T @ x
        S = np.eye(len(x)) + eta**2 * A @ A.T
        dx = -inner_solve(S, eta * (gx - eta * A @ gy))
        dy = -eta * (gy - A.T @ dx)
        x, y = x + dx, y + dy
        xs.append(x)
        ys.append(y)
    return {"x": np.array(xs), "y": np.array(ys)}


def _conjugate_gradients(S, b, tol=1e-12, residual_index_bug=False):
    w, r = np.zeros_like(b), b.copy()
    p, rr = r.copy(), r @ r
    for _ in range(10 * len(b)):
        Sp = S @ p
        alpha = rr / (p @ Sp)
        w, r_old, r = w + alpha * p, r, r - alpha * Sp
        rr_new = r @ r
        if np.sqrt(rr_new) <= tol * np.linalg.norm(b):
            break
        # the bug: the new direction built from r_k instead of r_{k+1}
        p = (r_old if residual_index_bug else r) + rr_new / rr * p
        rr = rr_new
    return w


@pytest.mark.parametrize(
    "mistake, solve",
    [
        ("none", lambda S, b: _conjugate_gradients(S, b)),
        ("CG stopped at 1e-7", lambda S, b: _conjugate_gradients(S, b, tol=1e-7)),
        ("off-by-one in CG", lambda S, b: _conjugate_gradients(S, b, residual_index_bug=True)),
    ],
)
def test_an_inner_solve_that_stops_early_or_is_off_by_one_fails_at_step_one(mistake, solve):
    case = oracle.get_case("cgd.cgd_ill_conditioned")
    report = oracle.check(case, _cgd_by_hand(case, solve), raise_on_failure=False)
    if mistake == "none":
        assert report.passed, report.table()
        return
    row = _row(report, "x")
    assert not row.passed and row.detail.startswith("first failing step 1; "), row.detail


def test_the_three_by_two_cases_cannot_tell_a_loose_inner_solve():
    # Why the ill-conditioned case exists: on 3×2 systems CG is exact after 2 iterations.
    case = oracle.get_case("cgd.cgd_step_bilinear")
    inputs = case.make_inputs()
    from refimpl import cgd

    result = cgd.run(
        cgd.BilinearGame(inputs["A"]), "cgd", inputs["x0"], inputs["y0"], 10, 0.5, tol=1e-7
    )
    outputs = {"x": result.x, "y": result.y, "norm": result.norm}
    assert oracle.check(case, outputs, raise_on_failure=False).passed


def test_a_float32_implementation_fails_naming_the_first_step():
    from refimpl import cgd

    case = oracle.get_case("cgd.cgd_quadratic")
    i = case.make_inputs()
    game = cgd.QuadraticGame(i["P"], i["A"], i["Q"])
    # an implementation that stores its iterates in float32 (a GPU library's default)
    xs, ys = [i["x0"].astype(np.float32)], [i["y0"].astype(np.float32)]
    for _ in range(int(i["steps"])):
        step = cgd.run(game, "cgd", xs[-1], ys[-1], 1, float(i["eta"]))
        xs.append(step.x[-1].astype(np.float32))
        ys.append(step.y[-1].astype(np.float32))
    outputs = {"x": np.array(xs), "y": np.array(ys)}
    row = _row(oracle.check(case, outputs, raise_on_failure=False), "x")
    assert not row.passed and row.detail.startswith("first failing step 0; "), row.detail


def test_jitter_on_the_factors_diagonal_fails_naming_the_worst_entry():
    from refimpl.oracle.cases_vecchia import kernel_of, ordered_points, pattern_of
    from refimpl.vecchia import kl_factor

    case = oracle.get_case("vecchia.kl_factor_rho3")
    inputs = case.make_inputs()
    x = ordered_points(inputs)
    L = kl_factor(x, kernel_of(inputs), pattern_of(inputs), nugget=1e-10)
    row = oracle.check(case, {"L": L}, raise_on_failure=False).rows[0]
    assert not row.passed and " entries beyond tolerance; worst entry (" in row.detail


def test_a_swapped_pair_in_an_ordering_names_the_position():
    case = oracle.get_case("vecchia.maximin_p1_random")
    outputs = case.compute(case.make_inputs())
    order = outputs["order"].copy()
    order[[3, 7]] = order[[7, 3]]
    row = _row(oracle.check(case, {**outputs, "order": order}, raise_on_failure=False), "order")
    assert not row.passed and "departs first at position 3" in row.detail


# --------------------------------------------------------------------- fast checks


def test_the_registered_checks_file_is_what_the_cases_say():
    from refimpl.oracle.recording import checks_of, registered_checks

    for case in oracle.cases():
        assert registered_checks(case.name) == checks_of(case), (
            f"{case.name}: refimpl/oracle/recorded/checks.json is stale; "
            f"python -m refimpl oracle record --case {case.name}"
        )


def test_the_method_lists_of_the_cases_are_refimpls():
    from refimpl import cgd
    from refimpl.oracle import cases_cgd

    assert cases_cgd.METHODS == cgd.METHODS
    assert cases_cgd.LINEAR_METHODS == cgd.LINEAR_METHODS


def test_checking_imports_and_builds_only_the_cases_it_checks(exported):
    probe = (
        "import sys\n"
        "import refimpl.oracle as oracle\n"
        "report = oracle.check_directory(sys.argv[1], sys.argv[1])\n"
        "assert report.passed, report.table()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[:2] in (\n"
        "    ['refimpl', 'vecchia'], ['refimpl', 'pde'], ['refimpl', 'cgd'],\n"
        "    ['refimpl', 'inrank'], ['refimpl', 'nn']) or m == 'scipy.stats')\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(exported)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # The export holds a CGD trajectory, an ordering (its invariant is NumPy) and a factor:
    # checking them imports no refimpl subpackage and builds no factor.
    assert done.stdout.strip() == "[]", done.stdout
