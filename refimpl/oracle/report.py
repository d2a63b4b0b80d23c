"""The report of a check: one row per output, a table, and a pytest-friendly failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import scipy.sparse

from refimpl import backend
from refimpl.oracle.case import Case, Invariant, lookup_case
from refimpl.oracle.files import SPARSE_PARTS

__all__ = [
    "CheckRow",
    "CheckReport",
    "compare_output",
    "reference_outputs",
    "as_case",
    "as_folder",
    "case_names",
]


@dataclasses.dataclass
class CheckRow:
    """One line of a check: a case's output, its error, the tolerance, the verdict.

    Attributes
    ----------
    case, output : str
        The case's name and the output's name (``"-"`` for the whole case).
    error, tolerance : float or None
        The deviation and the allowed deviation at the worst entry, or the
        invariant's error and tolerance; None where nothing could be measured
        (a missing output, a wrong shape or dtype, NaN).
    passed : bool
    detail : str
        Why it failed (how many entries, the first failing entry, step or position,
        the missing part), or the invariant's name.
    checked : bool
        False for a case the candidate does not cover, reported as "not checked"
        (it neither passes nor fails the report).

    Examples
    --------
    >>> CheckRow("cgd.cgd_quadratic", "x", 1e-16, 1e-10, True).passed
    True
    """

    case: str
    output: str
    error: float | None
    tolerance: float | None
    passed: bool
    detail: str = ""
    checked: bool = True


@dataclasses.dataclass
class CheckReport:
    """Every row of a check, with a table and a pytest-friendly failure.

    Attributes
    ----------
    rows : list of CheckRow

    Examples
    --------
    >>> report = CheckReport([CheckRow("inrank.gradients", "loss", None, None, False, "missing")])
    >>> report.passed
    False
    >>> print(report.table())
    case              output  error  tolerance  result
    inrank.gradients  loss    -      -          FAIL  missing
    """

    rows: list

    @property
    def passed(self) -> bool:
        """True when at least one output was compared and every compared output passed."""
        checked = [r for r in self.rows if r.checked]
        return bool(checked) and all(r.passed for r in checked)

    def table(self) -> str:
        """The rows as an aligned text table."""
        header = ("case", "output", "error", "tolerance", "result")
        lines = [
            (
                r.case,
                r.output,
                "-" if r.error is None else f"{r.error:.3g}",
                "-" if r.tolerance is None else f"{r.tolerance:.3g}",
                ("skip" if not r.checked else "pass" if r.passed else "FAIL")
                + (f"  {r.detail}" if r.detail else ""),
            )
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
        return "\n".join(fmt.format(*row) for row in [header, *lines])

    def raise_if_failed(self) -> None:
        """Raise AssertionError naming every failing case and output, and the worst entry.

        A report that compared nothing fails too.
        """
        failed = [r for r in self.rows if r.checked and not r.passed]
        if not any(r.checked for r in self.rows):
            raise AssertionError("oracle check failed: no output was compared")
        if failed:
            lines = [
                f"{r.case}: {r.output}: "
                + ("" if r.error is None else f"error {r.error:.3g} > {r.tolerance:.3g}; ")
                + r.detail
                for r in failed
            ]
            raise AssertionError("oracle check failed:\n  " + "\n  ".join(lines))


def as_folder(name: str, value, must_exist: bool = True) -> Path:
    """``value`` as a Path to a folder, else ValueError naming ``name`` and the path.

    With ``must_exist`` the folder must exist; without, it may be missing (it will
    be created) but its parent folder must exist, and it may not be an existing file.
    """
    if not isinstance(value, str | Path) or not str(value):
        raise ValueError(f"{name}: expected a folder path, received {value!r}")
    path = Path(value)
    if path.is_dir():
        return path
    if must_exist or path.exists():
        raise ValueError(f"{name}: expected an existing folder, received {str(value)!r}")
    if not path.parent.is_dir():
        raise ValueError(
            f"{name}: the parent folder of {str(value)!r} does not exist; create it first"
        )
    return path


def case_names(argument: str, value) -> list[str] | None:
    """None, one case name or a list of them, as a list (ValueError naming ``argument``)."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, list | tuple)
        or not names
        or not all(isinstance(n, str) for n in names)
    ):
        raise ValueError(
            f"{argument}: expected a case name or a non-empty list of them, received {value!r}"
        )
    return list(dict.fromkeys(names))


def as_case(case) -> Case:
    """A :class:`Case` from itself or its registered name."""
    if isinstance(case, Case):
        return case
    return lookup_case("case", case)


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
    3
    """
    case = as_case(case)
    inputs = case.make_inputs()
    return inputs, case.compute(dict(inputs))


def _as_dense(value):
    return value.toarray() if scipy.sparse.issparse(value) else np.asarray(value)


def _on_host(value):
    """A candidate on a device (CuPy, any registered backend) copied to the host.

    The check's one device-to-host transfer: ``numpy.asarray`` refuses device arrays,
    so a device candidate is judged on its explicit copy, ``backend.to_numpy``.
    """
    return backend.to_numpy(value) if backend.is_device_array(value) else value


def _row(case, name, passed, detail, error=None, tolerance=None) -> CheckRow:
    return CheckRow(case.name, name, error, tolerance, passed, detail)


def _missing_detail(name: str, others: dict) -> str:
    """Why an output is missing: a sparse matrix written without all its CSC parts."""
    found = [p for p in SPARSE_PARTS if f"{name}.{p}" in others]
    if not found:
        return "missing output"
    missing = ", ".join(f"{name}.{p}" for p in SPARSE_PARTS if p not in found)
    return f"sparse output without its CSC part(s) {missing} (found {', '.join(found)})"


def _non_finite_detail(case, name, cand, ref) -> str:
    bad = ~np.isfinite(cand)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    detail = f"{int(bad.sum())} non-finite entries, first at {first}"
    for value, meaning in case.sentinels.get(name, {}).items():
        if np.all(ref[bad] == value):
            detail += f": the reference holds the sentinel {value:g} there ({meaning})"
    return detail


def _compare_ordering(case, name, cand, ref) -> CheckRow:
    differ = np.flatnonzero(cand.ravel() != ref.ravel())
    if not differ.size:
        return _row(case, name, True, "", 0.0, 0.0)
    first = int(differ[0])
    detail = (
        f"{differ.size} of {ref.size} positions differ; the sequence departs first at "
        f"position {first}: candidate {cand.ravel()[first]}, reference {ref.ravel()[first]}"
    )
    return _row(case, name, False, detail, float(differ.size), 0.0)


def _above_diagonal(candidate, bound_scale: float):
    """Positions (i, j), i < j, where a factor that must be lower triangular has entries."""
    upper = scipy.sparse.triu(scipy.sparse.csr_matrix(candidate), k=1).tocoo()
    keep = np.abs(upper.data) > bound_scale
    return upper.row[keep], upper.col[keep]


def compare_output(
    case: Case, name: str, check, candidate, reference, inputs, others: dict | None = None
) -> CheckRow:
    """Judge one output of a candidate; never raises on what the candidate holds.

    The row names the cause: how many entries fail and the worst one; for a
    trajectory (``case.kinds[name] == "trajectory"``, steps along axis 0) the first
    failing step; for an ordering the first position where the sequences part; for a
    factor entries above the diagonal; a sentinel where the candidate holds NaN or
    inf; and the CSC parts missing from a sparse output (``others``: every array the
    candidate wrote).
    """
    if candidate is None:
        return _row(case, name, False, _missing_detail(name, others or {}))
    ref = _as_dense(reference)
    try:
        candidate = _on_host(candidate)
        cand = _as_dense(candidate)
    except Exception as exc:  # noqa: BLE001 - a candidate file can hold anything
        return _row(case, name, False, f"unreadable: {exc}")
    if cand.dtype.kind not in "biuf":
        return _row(case, name, False, f"dtype {cand.dtype} is not numeric")
    if cand.shape != ref.shape:
        return _row(case, name, False, f"shape {cand.shape}, expected {ref.shape}")
    if not np.all(np.isfinite(cand)):
        return _row(case, name, False, _non_finite_detail(case, name, cand, ref))
    kind = case.kinds.get(name, "array")
    if isinstance(check, Invariant):
        try:
            error, tolerance = check.test(candidate, reference, inputs)
        except Exception as exc:  # noqa: BLE001
            return _row(case, name, False, f"invariant failed: {exc}")
        ok = bool(error <= tolerance)
        return _row(case, name, ok, f"[{check.name}]", float(error), float(tolerance))
    if kind == "ordering":
        return _compare_ordering(case, name, cand, ref)
    ref_f, cand_f = ref.astype(float), cand.astype(float)
    bound = check.bound(ref_f)
    diff = np.abs(cand_f - ref_f)
    if diff.size == 0:
        return _row(case, name, True, "", 0.0, 1.0)
    if kind == "factor":
        # The reference is zero above the diagonal, where the bound is atol.
        rows, cols = _above_diagonal(candidate, check.atol)
        if rows.size:
            detail = (
                f"{rows.size} entries above the diagonal, first at ({rows[0]}, {cols[0]}): "
                "the factor must be lower triangular"
            )
            return _row(case, name, False, detail)
    # The worst entry is the one furthest beyond its own bound (exact entries: any miss).
    ratio = np.where(
        bound > 0, diff / np.where(bound > 0, bound, 1.0), np.where(diff > 0, np.inf, 0)
    )
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    failing = ratio > 1
    passed = not failing.any()
    detail = ""
    if not passed:
        at = tuple(int(i) for i in worst)
        detail = (
            f"{int(failing.sum())} of {failing.size} entries beyond tolerance; worst entry "
            f"{at}: {float(cand_f[worst]):.17g} vs {float(ref_f[worst]):.17g}"
        )
        if kind == "trajectory":
            step = int(np.flatnonzero(failing.reshape(len(failing), -1).any(axis=1))[0])
            detail = f"first failing step {step}; " + detail
    return _row(case, name, passed, detail, float(diff[worst]), float(bound[worst]))
