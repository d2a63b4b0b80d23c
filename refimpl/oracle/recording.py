"""Export the golden cases to files, and record the references the tests hold refimpl to."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from refimpl import __version__
from refimpl.oracle.case import SCHEMA_VERSION, Case, Invariant, cases, lookup_case
from refimpl.oracle.files import case_directory, describe, read_arrays, write_arrays, write_manifest
from refimpl.oracle.report import as_case, as_folder, case_names, reference_outputs

__all__ = [
    "export",
    "record",
    "recorded_outputs",
    "case_digest",
    "conventions_table",
    "checks_of",
    "registered_checks",
    "RECORDED",
]

#: Where the recorded reference outputs live (shipped with the package).
RECORDED = Path(__file__).resolve().parent / "recorded"


def _sentinels(case: Case, name: str) -> list:
    return [{"value": v, "meaning": m} for v, m in case.sentinels.get(name, {}).items()]


def _manifest(case: Case, inputs: dict, outputs: dict) -> dict:
    described = {}
    for name, value in outputs.items():
        entry = describe(value)
        check_ = case.checks[name]
        key = "invariant" if isinstance(check_, Invariant) else "tolerance"
        entry[key] = check_.to_json()
        entry["compare_as"] = case.kinds.get(name, "array")
        if name in case.sentinels:
            entry["sentinels"] = _sentinels(case, name)
        described[name] = entry
    described_inputs = {}
    for name, value in inputs.items():
        described_inputs[name] = describe(value)
        if name in case.sentinels:
            described_inputs[name]["sentinels"] = _sentinels(case, name)
    return {
        "schema_version": SCHEMA_VERSION,
        "refimpl_version": __version__,
        "case": case.name,
        "subpackage": case.subpackage,
        "function": case.function,
        "description": case.description,
        "conventions": case.conventions,
        "inputs": described_inputs,
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
    case : str or list of str, optional
        Only these cases (full names, ``"<subpackage>.<case>"``).

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
    directory = as_folder("directory", directory, must_exist=False)
    names = case_names("case", case)
    selected = [lookup_case("case", n) for n in names] if names is not None else cases(subpackage)
    if names is not None and subpackage is not None:
        others = [c.name for c in selected if c.subpackage != subpackage]
        if others:
            raise ValueError(f"case: {others} are not cases of subpackage {subpackage!r}")
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
    selected = [lookup_case("case", case)] if case is not None else cases()
    folder = as_folder("directory", directory, False) if directory is not None else RECORDED
    folder.mkdir(parents=True, exist_ok=True)
    digests_file = folder / "digests.json"
    digests = _read_digests(digests_file) if digests_file.exists() else {}
    checks_file = folder / "checks.json"
    registered = _read_digests(checks_file) if checks_file.exists() else {}
    written = []
    for c in selected:
        _, outputs = reference_outputs(c)
        path = folder / f"{c.name}.npz"
        write_arrays(path, outputs)
        digests[c.name] = case_digest(c)
        registered[c.name] = checks_of(c)
        written.append(path)
    digests_file.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    checks_file.write_text(json.dumps(registered, indent=2, sort_keys=True) + "\n")
    _REGISTERED.clear()  # registered_checks reads the new file on its next call
    return written


def checks_of(case: Case) -> dict:
    """How each output of ``case`` is judged, as JSON: tolerances, or invariant names."""
    return {
        name: {"invariant": check.name}
        if isinstance(check, Invariant)
        else {"atol": check.atol, "rtol": check.rtol}
        for name, check in case.checks.items()
    }


def registered_checks(case_name: str) -> dict:
    """The recorded :func:`checks_of` a case (no computation: read from ``checks.json``).

    ``oracle check`` holds each manifest's tolerances to these, without building the
    case (some tolerances need a computed output, such as the largest entry of a factor).
    """
    if case_name not in _REGISTERED:
        try:
            _REGISTERED.update(json.loads((RECORDED / "checks.json").read_text("utf-8")))
        except (OSError, ValueError) as exc:  # the installation, not the caller, is broken
            message = f"refimpl's {RECORDED / 'checks.json'} cannot be read: {exc}"
            raise RuntimeError(message) from exc
    if case_name not in _REGISTERED:
        raise RuntimeError(f"{case_name!r} has no entry in {RECORDED / 'checks.json'}")
    return _REGISTERED[case_name]


_REGISTERED: dict = {}


def _read_digests(path: Path) -> dict:
    try:
        digests = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"directory: {str(path)!r} cannot be read as JSON: {exc}") from exc
    if not isinstance(digests, dict):
        raise ValueError(f"directory: {str(path)!r} is not a JSON object of case digests")
    return digests


def case_digest(case) -> str:
    """A SHA-256 of a case's inputs and manifest (tolerances, conventions, shapes).

    Recorded by :func:`record` and compared exactly by the test suite, so inputs,
    tolerances and documented conventions cannot change unnoticed either. The
    refimpl version is left out; outputs are compared within their tolerances
    instead, because their last bits may differ between BLAS builds.

    Parameters
    ----------
    case : str or Case

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> len(case_digest("cgd.cgd_step_bilinear"))
    64
    """
    case = as_case(case)
    inputs, outputs = reference_outputs(case)
    manifest = _manifest(case, inputs, outputs)
    manifest.pop("refimpl_version")
    h = hashlib.sha256(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode())
    for name in sorted(inputs):
        value = inputs[name]
        arr = value.toarray() if hasattr(value, "toarray") else np.ascontiguousarray(value)
        h.update(name.encode() + arr.dtype.str.encode() + str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()


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
    name = lookup_case("case", case).name
    folder = as_folder("directory", directory) if directory is not None else RECORDED
    path = folder / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"case: no recorded outputs for {name!r} in {str(folder)!r}")
    return read_arrays(path)


def conventions_table() -> str:
    """Every case's function, conventions and judged outputs, as a Markdown page.

    The page ``docs/oracle_conventions.md`` is this text (a test keeps it fresh); it is
    what the manifests say, gathered in one place for someone writing an implementation.

    Returns
    -------
    str
        Markdown: one section per case with its function, description, conventions,
        inputs (with sentinels) and outputs (compared as, tolerance or invariant).

    Examples
    --------
    >>> "## `vecchia.maximin_p3_random`" in conventions_table()
    True
    """
    lines = [
        "# Conventions of every golden case",
        "",
        "Generated from the manifests by `python -m refimpl oracle conventions` (a test keeps",
        "this page equal to its output). Each case's `manifest.json` holds the same text.",
        "",
    ]
    for c in cases():
        inputs, outputs = reference_outputs(c)
        manifest = _manifest(c, inputs, outputs)
        lines += [f"## `{c.name}`", "", f"*{manifest['function']}*: {c.description}.", ""]
        lines += [f"**Conventions.** {c.conventions}.", ""]
        described = [
            f"`{name}` {entry['dtype']} {tuple(entry['shape'])}"
            + "".join(f"; {s['value']:g} means {s['meaning']}" for s in entry.get("sentinels", []))
            for name, entry in manifest["inputs"].items()
        ]
        lines += ["**Inputs.** " + ", ".join(described) + ".", ""]
        lines += ["| output | shape | compared as | check |", "|---|---|---|---|"]
        for name, entry in manifest["outputs"].items():
            if "tolerance" in entry:
                t = entry["tolerance"]
                check = f"atol {t['atol']:g}, rtol {t['rtol']:g}: {t['reason']}"
            else:
                check = f"invariant `{entry['invariant']['name']}`"
            shape = tuple(entry["shape"])
            lines.append(f"| `{name}` | {shape} | {entry['compare_as']} | {check} |")
        lines.append("")
    return "\n".join(lines)
