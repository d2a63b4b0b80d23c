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
from refimpl.oracle.files import case_directory, load_arrays, read_manifest
from refimpl.oracle.recording import registered_checks
from refimpl.oracle.report import (
    CheckReport,
    CheckRow,
    as_case,
    as_folder,
    case_names,
    compare_output,
    reference_outputs,
)

__all__ = ["check", "check_directory"]


def _manifest_tolerance(manifest_path, output: str, entry) -> Tolerance:
    """The tolerance a reference manifest states for ``output``, else ValueError naming the file."""
    try:
        return Tolerance(entry["atol"], entry["rtol"], entry["reason"])
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(
            f"manifest {str(manifest_path)!r}: the tolerance of output {output!r} is not "
            f"an object with numbers atol, rtol >= 0 and a reason: {entry!r} ({exc})"
        ) from exc


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
        compare_output(case, name, check_, outputs.get(name), reference[name], inputs, outputs)
        for name, check_ in case.checks.items()
    ]
    report = CheckReport(rows)
    if raise_on_failure:
        report.raise_if_failed()
    return report


def check_directory(
    reference_dir, candidate_dir, cases=None, require_all: bool = False
) -> CheckReport:
    """Check the cases exported under ``reference_dir`` against ``candidate_dir``.

    Invariants are evaluated by refimpl's own code (they need the case's inputs);
    tolerances come from the reference manifests, with the registered tolerance as a
    ceiling (a manifest whose tolerance is looser, tampered or stale, gives a failing
    row instead of being used). A missing or unreadable output, a wrong shape or
    dtype, or a NaN gives a failing row, never a traceback; an unreadable reference
    file raises.

    An implementation usually covers some of the cases: a case whose folder the
    candidate lacks is reported as "not checked" (neither pass nor fail), unless it
    was asked for by ``cases`` or ``require_all`` is set. A check that compares
    nothing fails.

    Parameters
    ----------
    reference_dir, candidate_dir : str or Path
    cases : str or list of str, optional
        Check only these cases (full names); each must be in the export and in the
        candidate.
    require_all : bool
        Fail for every exported case the candidate lacks.

    Returns
    -------
    CheckReport

    Raises
    ------
    ValueError
        Naming ``reference_dir`` and the file when a reference manifest or array
        file cannot be read, or ``cases`` when a name is not in the export.

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
    if not isinstance(require_all, bool):
        raise ValueError(f"require_all: expected a bool, received {require_all!r}")
    manifests = sorted(reference_dir.glob("*/*/manifest.json"))
    if not manifests:
        raise ValueError(f"reference_dir: no exported case found under {str(reference_dir)!r}")
    selected = case_names("cases", cases)
    if selected is not None:
        exported = {f"{p.parent.parent.name}.{p.parent.name}" for p in manifests}
        unknown = sorted(set(selected) - exported)
        if unknown:
            raise ValueError(
                f"cases: {unknown} not exported under {str(reference_dir)!r} "
                f"(exported: {sorted(exported)})"
            )
        wanted = set(selected)
        manifests = [p for p in manifests if f"{p.parent.parent.name}.{p.parent.name}" in wanted]
    rows = []
    for manifest_path in manifests:
        required = require_all or selected is not None
        try:
            rows += _check_case(manifest_path, candidate_dir, required)
        except ValueError as exc:  # an unreadable reference file: named in the message
            raise ValueError(f"reference_dir: {exc}") from exc
    return CheckReport(rows)


def _reference_arrays(path) -> dict:
    if not path.is_file():
        raise ValueError(f"the reference file {str(path)!r} is missing")
    return load_arrays(path)


def _ceiling(output: str, registered: dict, manifest_path, entry):
    """The manifest's tolerance if it is no looser than the registered one; else a reason."""
    stated = _manifest_tolerance(manifest_path, output, entry)
    if stated.atol > registered["atol"] or stated.rtol > registered["rtol"]:
        return None, (
            f"the reference manifest's tolerance (atol {stated.atol:g}, rtol {stated.rtol:g}) "
            f"is looser than the registered one (atol {registered['atol']:g}, rtol "
            f"{registered['rtol']:g}): a tampered or stale export, not used"
        )
    return stated, ""


def _check_case(manifest_path, candidate_dir, required: bool) -> list[CheckRow]:
    """The rows of one exported case; ValueError naming the file if a reference file is bad."""
    manifest = read_manifest(manifest_path)
    name = manifest["case"]
    if manifest["schema_version"] != SCHEMA_VERSION:
        detail = f"schema version {manifest['schema_version']}, expected {SCHEMA_VERSION}"
        return [CheckRow(name, "-", None, None, False, detail)]
    try:
        case = get_case(name)
    except ValueError:
        return [CheckRow(name, "-", None, None, False, "unknown case (newer export?)")]
    candidate_file = case_directory(candidate_dir, name) / "outputs.npz"
    if not candidate_file.is_file():
        if not required:
            return [CheckRow(name, "-", None, None, True, "not checked", checked=False)]
        return [CheckRow(name, "-", None, None, False, f"missing {candidate_file}")]
    inputs = _reference_arrays(manifest_path.parent / "inputs.npz")
    reference = _reference_arrays(manifest_path.parent / "outputs.npz")
    try:
        candidate = load_arrays(candidate_file)
    except ValueError as exc:  # names the file and why: the candidate's file, not ours
        return [CheckRow(name, "-", None, None, False, f"unreadable outputs: {exc}")]
    rows = []
    registered = registered_checks(name)
    for output, entry in manifest["outputs"].items():
        if output not in registered or output not in reference:
            rows.append(CheckRow(name, output, None, None, False, "unknown output"))
            continue
        if "invariant" in registered[output]:  # evaluated by refimpl's code
            check_ = case.checks[output]
        elif "tolerance" not in entry:
            rows.append(CheckRow(name, output, None, None, False, "no tolerance in manifest"))
            continue
        else:
            check_, why = _ceiling(output, registered[output], manifest_path, entry["tolerance"])
            if check_ is None:
                rows.append(CheckRow(name, output, None, None, False, why))
                continue
        rows.append(
            compare_output(
                case, output, check_, candidate.get(output), reference[output], inputs, candidate
            )
        )
    return rows
