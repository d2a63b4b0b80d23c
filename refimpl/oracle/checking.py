r"""Check a candidate's outputs against refimpl: one case in memory, or a whole folder.

Under a :class:`~refimpl.oracle.case.Tolerance` an output passes when every
entry obeys

.. math::

    |c_k - r_k| \le \mathrm{atol} + \mathrm{rtol}\,|r_k|;

the report shows the error :math:`|c_k - r_k|` and the bound at the entry that is
furthest beyond (or closest to) its bound. Under an
:class:`~refimpl.oracle.case.Invariant` the invariant's own error is compared with
its own tolerance.
"""

from __future__ import annotations

from refimpl.oracle.case import SCHEMA_VERSION, Tolerance, get_case
from refimpl.oracle.files import case_directory, read_arrays, read_manifest
from refimpl.oracle.report import (
    CheckReport,
    CheckRow,
    as_case,
    as_folder,
    compare_output,
    reference_outputs,
)

__all__ = ["check", "check_directory"]


def check(case, outputs: dict, raise_on_failure: bool = True) -> CheckReport:
    """Check a candidate's ``outputs`` of one case against refimpl.

    Parameters
    ----------
    case : str or Case
        The case (by name, e.g. ``"vecchia.kl_factor_rho3"``).
    outputs : dict
        Output name -> array (or SciPy sparse matrix) computed by the candidate
        from the case's inputs (``case.make_inputs()``).
    raise_on_failure : bool
        Raise an AssertionError naming the case, the output and the worst entry
        when a check fails (convenient inside a test suite).

    Returns
    -------
    CheckReport

    Examples
    --------
    >>> from refimpl import oracle
    >>> case = oracle.get_case("inrank.explained_ratio")
    >>> outputs = case.compute(case.make_inputs())
    >>> oracle.check(case, outputs).passed
    True
    """
    case = as_case(case)
    if not isinstance(raise_on_failure, bool):
        raise ValueError(f"raise_on_failure: expected a bool, received {raise_on_failure!r}")
    if not isinstance(outputs, dict):
        raise ValueError(f"outputs: expected a dict of arrays, received {type(outputs).__name__}")
    inputs, reference = reference_outputs(case)
    rows = [
        compare_output(case, name, check_, outputs.get(name), reference[name], inputs)
        for name, check_ in case.checks.items()
    ]
    report = CheckReport(rows)
    if raise_on_failure:
        report.raise_if_failed()
    return report


def check_directory(reference_dir, candidate_dir) -> CheckReport:
    """Check every case exported under ``reference_dir`` against ``candidate_dir``.

    Invariants are evaluated by refimpl's own code (they need the case's inputs);
    tolerances come from the reference manifests. A missing case, a missing or
    unreadable output, a wrong shape or dtype, or a NaN gives a failing row, never
    a traceback.

    Parameters
    ----------
    reference_dir, candidate_dir : str or Path

    Returns
    -------
    CheckReport

    Examples
    --------
    >>> import tempfile
    >>> from refimpl import oracle
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = oracle.export(tmp, case="inrank.explained_ratio")
    ...     oracle.check_directory(tmp, tmp).passed
    True
    """
    reference_dir = as_folder("reference_dir", reference_dir)
    candidate_dir = as_folder("candidate_dir", candidate_dir)
    manifests = sorted(reference_dir.glob("*/*/manifest.json"))
    if not manifests:
        raise ValueError(f"reference_dir: no exported case found under {str(reference_dir)!r}")
    rows = []
    for manifest_path in manifests:
        manifest = read_manifest(manifest_path)
        name = manifest.get("case", manifest_path.parent.name)
        if manifest.get("schema_version") != SCHEMA_VERSION:
            detail = f"schema version {manifest.get('schema_version')}, expected {SCHEMA_VERSION}"
            rows.append(CheckRow(name, "-", None, None, False, detail))
            continue
        try:
            case = get_case(name)
        except ValueError:
            rows.append(CheckRow(name, "-", None, None, False, "unknown case (newer export?)"))
            continue
        inputs = read_arrays(manifest_path.parent / "inputs.npz")
        reference = read_arrays(manifest_path.parent / "outputs.npz")
        candidate_file = case_directory(candidate_dir, name) / "outputs.npz"
        if not candidate_file.is_file():
            rows.append(CheckRow(name, "-", None, None, False, f"missing {candidate_file}"))
            continue
        try:
            candidate = read_arrays(candidate_file)
        except Exception as exc:  # noqa: BLE001
            rows.append(CheckRow(name, "-", None, None, False, f"unreadable outputs: {exc}"))
            continue
        for output, entry in manifest["outputs"].items():
            if output not in case.checks or output not in reference:
                rows.append(CheckRow(name, output, None, None, False, "unknown output"))
                continue
            check_ = case.checks[output]
            if isinstance(check_, Tolerance) and "tolerance" in entry:
                t = entry["tolerance"]
                check_ = Tolerance(t["atol"], t["rtol"], t["reason"])
            rows.append(
                compare_output(
                    case, output, check_, candidate.get(output), reference[output], inputs
                )
            )
    return CheckReport(rows)
