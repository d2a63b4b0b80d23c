r"""Export the golden cases and check a candidate's outputs against them.

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

import dataclasses
from pathlib import Path

import numpy as np
import scipy.sparse

from refimpl import __version__
from refimpl.oracle.case import SCHEMA_VERSION, Case, Invariant, Tolerance, cases, get_case
from refimpl.oracle.files import (
    case_directory,
    describe,
    read_arrays,
    read_manifest,
    write_arrays,
    write_manifest,
)

__all__ = [
    "CheckRow",
    "CheckReport",
    "export",
    "check",
    "check_directory",
    "reference_outputs",
    "record",
    "recorded_outputs",
    "RECORDED",
]

#: Where the recorded reference outputs live (shipped with the package).
RECORDED = Path(__file__).resolve().parent / "recorded"


@dataclasses.dataclass
class CheckRow:
    """One line of a check: a case's output, its error, the tolerance, the verdict."""

    case: str
    output: str
    error: float
    tolerance: float
    passed: bool
    detail: str = ""


@dataclasses.dataclass
class CheckReport:
    """Every row of a check, with a table and a pytest-friendly failure.

    Attributes
    ----------
    rows : list of CheckRow
    """

    rows: list

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    def table(self) -> str:
        """The rows as an aligned text table."""
        header = ("case", "output", "error", "tolerance", "result")
        lines = [
            (
                r.case,
                r.output,
                "-" if not np.isfinite(r.error) else f"{r.error:.3g}",
                f"{r.tolerance:.3g}",
                ("pass" if r.passed else "FAIL") + (f"  {r.detail}" if r.detail else ""),
            )
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
        return "\n".join(fmt.format(*row) for row in [header, *lines])

    def raise_if_failed(self) -> None:
        """Raise AssertionError naming every failing case and output, and the worst entry."""
        failed = [r for r in self.rows if not r.passed]
        if failed:
            lines = [
                f"{r.case}: {r.output}: error {r.error:.3g} > {r.tolerance:.3g}; {r.detail}"
                for r in failed
            ]
            raise AssertionError("oracle check failed:\n  " + "\n  ".join(lines))


def _folder(name: str, value, must_exist: bool = True) -> Path:
    if not isinstance(value, str | Path):
        raise ValueError(f"{name}: expected a folder path, received {value!r}")
    if must_exist and not Path(value).is_dir():
        raise ValueError(f"{name}: expected an existing folder, received {str(value)!r}")
    return Path(value)


def _case(case) -> Case:
    if isinstance(case, Case):
        return case
    return get_case(case)


def reference_outputs(case) -> tuple[dict, dict]:
    """``(inputs, outputs)`` of ``case``, computed by refimpl now.

    Parameters
    ----------
    case : str or Case

    Returns
    -------
    inputs, outputs : dict

    Examples
    --------
    >>> inputs, outputs = reference_outputs("inrank.explained_ratio")
    >>> int(outputs["selected_rank"])
    2
    """
    case = _case(case)
    inputs = case.make_inputs()
    return inputs, case.compute(dict(inputs))


def _as_dense(value):
    return value.toarray() if scipy.sparse.issparse(value) else np.asarray(value)


def _compare(case: Case, name: str, check, candidate, reference, inputs) -> CheckRow:
    if candidate is None:
        return CheckRow(case.name, name, np.inf, 1.0, False, "missing output")
    ref = _as_dense(reference)
    try:
        cand = _as_dense(candidate)
    except Exception as exc:  # noqa: BLE001 - a candidate file can hold anything
        return CheckRow(case.name, name, np.inf, 1.0, False, f"unreadable: {exc}")
    if cand.dtype.kind not in "biuf":
        return CheckRow(case.name, name, np.inf, 1.0, False, f"dtype {cand.dtype} is not numeric")
    if cand.shape != ref.shape:
        detail = f"shape {cand.shape}, expected {ref.shape}"
        return CheckRow(case.name, name, np.inf, 1.0, False, detail)
    if not np.all(np.isfinite(cand)):
        return CheckRow(case.name, name, np.inf, 1.0, False, "non-finite entries")
    if isinstance(check, Invariant):
        try:
            error, tolerance = check.test(candidate, reference, inputs)
        except Exception as exc:  # noqa: BLE001
            return CheckRow(case.name, name, np.inf, 0.0, False, f"invariant failed: {exc}")
        ok = bool(error <= tolerance)
        return CheckRow(case.name, name, float(error), float(tolerance), ok, f"[{check.name}]")
    bound = check.bound(ref.astype(float))
    diff = np.abs(cand.astype(float) - ref.astype(float))
    if diff.size == 0:
        return CheckRow(case.name, name, 0.0, 1.0, True)
    # The worst entry is the one furthest beyond its own bound (exact entries: any miss).
    ratio = np.where(
        bound > 0, diff / np.where(bound > 0, bound, 1.0), np.where(diff > 0, np.inf, 0)
    )
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    passed = bool(ratio[worst] <= 1)
    detail = ""
    if not passed:
        at = tuple(int(i) for i in worst)
        detail = f"worst entry {at}: {float(cand[worst]):.17g} vs {float(ref[worst]):.17g}"
    return CheckRow(case.name, name, float(diff[worst]), float(bound[worst]), passed, detail)


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
    case = _case(case)
    if not isinstance(raise_on_failure, bool):
        raise ValueError(f"raise_on_failure: expected a bool, received {raise_on_failure!r}")
    if not isinstance(outputs, dict):
        raise ValueError(f"outputs: expected a dict of arrays, received {type(outputs).__name__}")
    inputs, reference = reference_outputs(case)
    rows = [
        _compare(case, name, check_, outputs.get(name), reference[name], inputs)
        for name, check_ in case.checks.items()
    ]
    report = CheckReport(rows)
    if raise_on_failure:
        report.raise_if_failed()
    return report


def _manifest(case: Case, inputs: dict, outputs: dict) -> dict:
    described = {}
    for name, value in outputs.items():
        entry = describe(value)
        check_ = case.checks[name]
        key = "invariant" if isinstance(check_, Invariant) else "tolerance"
        entry[key] = check_.to_json()
        described[name] = entry
    return {
        "schema_version": SCHEMA_VERSION,
        "refimpl_version": __version__,
        "case": case.name,
        "subpackage": case.subpackage,
        "function": case.function,
        "description": case.description,
        "conventions": case.conventions,
        "inputs": {name: describe(value) for name, value in inputs.items()},
        "outputs": described,
    }


def export(directory, subpackage: str | None = None, case: str | None = None) -> list[Path]:
    """Write the inputs, reference outputs and manifest of every selected case.

    Parameters
    ----------
    directory : str or Path
        Root folder; each case goes to ``directory/<subpackage>/<case>/``.
    subpackage : str, optional
        Only this subpackage's cases.
    case : str, optional
        Only this case (full name, ``"<subpackage>.<case>"``).

    Returns
    -------
    list of Path
        The case folders written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folders = export(tmp, case="inrank.explained_ratio")
    ...     sorted(p.name for p in folders[0].iterdir())
    ['inputs.npz', 'manifest.json', 'outputs.npz']
    """
    directory = _folder("directory", directory, must_exist=False)
    selected = [get_case(case)] if case is not None else cases(subpackage)
    if case is not None and subpackage is not None and selected[0].subpackage != subpackage:
        raise ValueError(f"case: {case!r} is not a case of subpackage {subpackage!r}")
    written = []
    for c in selected:
        inputs, outputs = reference_outputs(c)
        folder = case_directory(directory, c.name)
        folder.mkdir(parents=True, exist_ok=True)
        write_arrays(folder / "inputs.npz", inputs)
        write_arrays(folder / "outputs.npz", outputs)
        write_manifest(folder / "manifest.json", _manifest(c, inputs, outputs))
        written.append(folder)
    return written


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
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = export(tmp, case="inrank.explained_ratio")
    ...     check_directory(tmp, tmp).passed
    True
    """
    reference_dir = _folder("reference_dir", reference_dir)
    candidate_dir = _folder("candidate_dir", candidate_dir)
    manifests = sorted(reference_dir.glob("*/*/manifest.json"))
    if not manifests:
        raise ValueError(f"reference_dir: no exported case found under {str(reference_dir)!r}")
    rows = []
    for manifest_path in manifests:
        manifest = read_manifest(manifest_path)
        name = manifest["case"]
        try:
            case = get_case(name)
        except ValueError:
            rows.append(CheckRow(name, "-", np.inf, 1.0, False, "unknown case (newer export?)"))
            continue
        inputs = read_arrays(manifest_path.parent / "inputs.npz")
        reference = read_arrays(manifest_path.parent / "outputs.npz")
        candidate_file = case_directory(candidate_dir, name) / "outputs.npz"
        if not candidate_file.is_file():
            rows.append(CheckRow(name, "-", np.inf, 1.0, False, f"missing {candidate_file}"))
            continue
        try:
            candidate = read_arrays(candidate_file)
        except Exception as exc:  # noqa: BLE001
            rows.append(CheckRow(name, "-", np.inf, 1.0, False, f"unreadable outputs: {exc}"))
            continue
        for output, entry in manifest["outputs"].items():
            check_ = case.checks[output]
            if isinstance(check_, Tolerance) and "tolerance" in entry:
                t = entry["tolerance"]
                check_ = Tolerance(t["atol"], t["rtol"], t["reason"])
            rows.append(
                _compare(case, output, check_, candidate.get(output), reference[output], inputs)
            )
    return CheckReport(rows)


def record(case: str | None = None, directory=None) -> list[Path]:
    """Record refimpl's current outputs as the reference of each case (a deliberate act).

    The test suite compares freshly computed outputs with the recorded ones, so a
    change to a reference output cannot happen unnoticed: it needs this call and a
    line in ``recorded/CHANGES.md`` saying why.

    Parameters
    ----------
    case : str, optional
        Only this case; by default every case.
    directory : str or Path, optional
        Where to write (default :data:`RECORDED`, inside the package).

    Returns
    -------
    list of Path
        The files written, ``<directory>/<case>.npz``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in record("inrank.explained_ratio", tmp)]
    ['inrank.explained_ratio.npz']
    """
    selected = [get_case(case)] if case is not None else cases()
    folder = _folder("directory", directory, False) if directory is not None else RECORDED
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for c in selected:
        _, outputs = reference_outputs(c)
        path = folder / f"{c.name}.npz"
        write_arrays(path, outputs)
        written.append(path)
    return written


def recorded_outputs(case: str, directory=None) -> dict:
    """The recorded reference outputs of ``case`` (see :func:`record`).

    Parameters
    ----------
    case : str
        A case name.
    directory : str or Path, optional
        Default :data:`RECORDED`.

    Returns
    -------
    dict
        Output name -> array or SciPy sparse matrix.

    Examples
    --------
    >>> sorted(recorded_outputs("cgd.cgd_step_bilinear"))
    ['norm', 'x', 'y']
    """
    name = get_case(case).name
    folder = _folder("directory", directory) if directory is not None else RECORDED
    path = folder / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"case: no recorded outputs for {name!r} in {str(folder)!r}")
    return read_arrays(path)
