"""Export the golden cases to files, and record the references the tests hold refimpl to."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from refimpl import __version__
from refimpl.oracle.case import SCHEMA_VERSION, Case, Invariant, cases, get_case
from refimpl.oracle.files import case_directory, describe, read_arrays, write_arrays, write_manifest
from refimpl.oracle.report import as_case, as_folder, reference_outputs

__all__ = ["export", "record", "recorded_outputs", "case_digest", "RECORDED"]

#: Where the recorded reference outputs live (shipped with the package).
RECORDED = Path(__file__).resolve().parent / "recorded"


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
    directory = as_folder("directory", directory, must_exist=False)
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
    folder = as_folder("directory", directory, False) if directory is not None else RECORDED
    folder.mkdir(parents=True, exist_ok=True)
    digests_file = folder / "digests.json"
    digests = json.loads(digests_file.read_text()) if digests_file.is_file() else {}
    written = []
    for c in selected:
        _, outputs = reference_outputs(c)
        path = folder / f"{c.name}.npz"
        write_arrays(path, outputs)
        digests[c.name] = case_digest(c)
        written.append(path)
    digests_file.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    return written


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
    name = get_case(case).name
    folder = as_folder("directory", directory) if directory is not None else RECORDED
    path = folder / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"case: no recorded outputs for {name!r} in {str(folder)!r}")
    return read_arrays(path)
