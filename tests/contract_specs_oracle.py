"""Contract specs for :mod:`refimpl.oracle` (the golden-case kit)."""

import tempfile

import numpy as np
from contract import Spec

from refimpl import oracle

CASE = "inrank.explained_ratio"
# One folder for every file the sweep writes, removed when the run ends.
_SCRATCH = tempfile.TemporaryDirectory(prefix="refimpl-contract-oracle-")


def _scratch():
    return tempfile.mkdtemp(dir=_SCRATCH.name)


def _export_dir():
    folder = _scratch()
    oracle.export(folder, case=CASE)
    return folder


def _outputs():
    case = oracle.get_case(CASE)
    return case.compute(case.make_inputs())


def _tolerance():
    return {"atol": 1e-12, "rtol": 1e-10, "reason": "rounding"}


SPECS = [
    Spec("oracle.Tolerance", oracle.Tolerance, _tolerance, kinds={"reason": "text"}),
    Spec(
        "oracle.Invariant",
        oracle.Invariant,
        lambda: {"name": "same", "description": "equal", "test": lambda c, r, i: (0.0, 0.0)},
        kinds={"name": "text", "description": "text"},
    ),
    Spec(
        "oracle.Case",
        oracle.Case,
        lambda: {
            "name": "demo.case",
            "function": "f",
            "description": "d",
            "conventions": "c",
            "make_inputs": dict,
            "compute": lambda inputs: {},
            "checks": {},
        },
        skip={
            "function": "free text",
            "description": "free text",
            "conventions": "free text",
        },
    ),
    Spec(
        "oracle.cases",
        oracle.cases,
        lambda: {"subpackage": "cgd"},
        accepts={"subpackage": {"None"}},
    ),
    Spec("oracle.get_case", oracle.get_case, lambda: {"name": CASE}),
    Spec(
        "oracle.check",
        oracle.check,
        lambda: {"case": CASE, "outputs": _outputs(), "raise_on_failure": False},
        skip={"outputs": "a dict of candidate arrays: wrong entries are reported, not raised"},
    ),
    Spec(
        "oracle.export",
        oracle.export,
        lambda: {"directory": _scratch(), "subpackage": None, "case": CASE},
        kinds={"directory": "text"},
        accepts={"case": {"None"}},  # None: every case
    ),
    Spec(
        "oracle.check_directory",
        oracle.check_directory,
        lambda: {"reference_dir": _export_dir(), "candidate_dir": _export_dir()},
        kinds={"reference_dir": "text", "candidate_dir": "text"},
    ),
    Spec(
        "oracle.record",
        oracle.record,
        lambda: {"case": CASE, "directory": _scratch()},
        skip={"directory": "None would rewrite the package's own recorded references"},
        accepts={"case": {"None"}},  # None: every case
    ),
    Spec("oracle.recorded_outputs", oracle.recorded_outputs, lambda: {"case": CASE}),
    Spec("oracle.case_digest", oracle.case_digest, lambda: {"case": CASE}),
    Spec("oracle.conventions_table", oracle.conventions_table, dict),
    Spec(
        "oracle.write_arrays",
        oracle.write_arrays,
        lambda: {"path": _scratch() + "/a.npz", "arrays": {"x": np.arange(3.0)}},
        kinds={"path": "text"},
        skip={"arrays": "stores any numbers given, NaN included: a file format, not maths"},
    ),
    Spec(
        "oracle.Tolerance.bound",
        lambda reference: oracle.Tolerance(1e-12, 1e-10, "rounding").bound(reference),
        lambda: {"reference": np.array([[1.0, -2.0], [0.0, 3.0]])},
        accepts={"reference": {"0-d", "empty", "extra axis", "one row short"}},  # any shape
    ),
    Spec(
        "oracle.read_arrays",
        oracle.read_arrays,
        lambda: {"path": oracle.export(_scratch(), case=CASE)[0] / "outputs.npz"},
    ),
]

EXEMPT = {
    "oracle.Tolerance.to_json": "takes no argument; the Tolerance was validated when built",
    "oracle.Invariant.to_json": "takes no argument; the Invariant was validated when built",
    "oracle.CheckReport.table": "takes no argument; prints the rows check and check_directory made",
    "oracle.CheckReport.raise_if_failed": (
        "takes no argument; raising AssertionError on a failed check is its purpose (for tests)"
    ),
    "oracle.CheckReport": "a result container built by check and check_directory",
    "oracle.CheckRow": "a result container built by check and check_directory",
}
