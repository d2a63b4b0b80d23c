r"""The oracle kit: golden cases that any implementation can be checked against.

refimpl is the correctness oracle for faster implementations of its papers (GPU,
JAX, C++, Julia). This subpackage turns that role into files: for every
subpackage a versioned set of named :class:`Case` objects with fully fixed
inputs, reference outputs computed by refimpl, and a stated tolerance (with its
reason) or a named :class:`Invariant` for each output.

* :func:`export` writes each case as ``inputs.npz``, ``outputs.npz`` and
  ``manifest.json`` (layout in :mod:`refimpl.oracle.files`), readable from any
  language without pickles;
* :func:`check` compares a candidate's outputs of one case (a dict of arrays) with
  refimpl's, for use inside a test suite;
* :func:`check_directory` compares a whole candidate folder with an export and
  returns a :class:`CheckReport` whose ``table()`` prints case, output, error,
  tolerance and verdict.

The command line does the same: ``python -m refimpl oracle export DIR``,
``python -m refimpl oracle check DIR CANDIDATE_DIR``, ``python -m refimpl oracle list``.

Examples
--------
>>> from refimpl import oracle
>>> case = oracle.get_case("cgd.cgd_step_bilinear")
>>> outputs = case.compute(case.make_inputs())   # a candidate would compute these
>>> oracle.check(case, outputs).passed
True
"""

from refimpl.oracle.case import SCHEMA_VERSION, Case, Invariant, Tolerance, cases, get_case
from refimpl.oracle.checking import check, check_directory
from refimpl.oracle.files import read_arrays, write_arrays
from refimpl.oracle.recording import (
    case_digest,
    conventions_table,
    export,
    record,
    recorded_outputs,
)
from refimpl.oracle.report import CheckReport, CheckRow

__all__ = [
    "SCHEMA_VERSION",
    "Case",
    "Invariant",
    "Tolerance",
    "CheckReport",
    "CheckRow",
    "cases",
    "get_case",
    "check",
    "check_directory",
    "export",
    "record",
    "case_digest",
    "recorded_outputs",
    "conventions_table",
    "read_arrays",
    "write_arrays",
]
