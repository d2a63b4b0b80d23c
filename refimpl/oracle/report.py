"""The report of a check: one row per output, a table, and a pytest-friendly failure."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import scipy.sparse

from refimpl.oracle.case import Case, Invariant, get_case

__all__ = ["CheckRow", "CheckReport", "compare_output", "reference_outputs", "as_case", "as_folder"]


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
        Why it failed, or the invariant's name.

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
        return bool(self.rows) and all(r.passed for r in self.rows)

    def table(self) -> str:
        """The rows as an aligned text table."""
        header = ("case", "output", "error", "tolerance", "result")
        lines = [
            (
                r.case,
                r.output,
                "-" if r.error is None else f"{r.error:.3g}",
                "-" if r.tolerance is None else f"{r.tolerance:.3g}",
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
                f"{r.case}: {r.output}: "
                + ("" if r.error is None else f"error {r.error:.3g} > {r.tolerance:.3g}; ")
                + r.detail
                for r in failed
            ]
            raise AssertionError("oracle check failed:\n  " + "\n  ".join(lines))


def as_folder(name: str, value, must_exist: bool = True) -> Path:
    """``value`` as a Path, refusing non-paths (and missing folders when ``must_exist``)."""
    if not isinstance(value, str | Path):
        raise ValueError(f"{name}: expected a folder path, received {value!r}")
    if must_exist and not Path(value).is_dir():
        raise ValueError(f"{name}: expected an existing folder, received {str(value)!r}")
    return Path(value)


def as_case(case) -> Case:
    """A :class:`Case` from itself or its registered name."""
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
    case = as_case(case)
    inputs = case.make_inputs()
    return inputs, case.compute(dict(inputs))


def _as_dense(value):
    return value.toarray() if scipy.sparse.issparse(value) else np.asarray(value)


def compare_output(case: Case, name: str, check, candidate, reference, inputs) -> CheckRow:
    """Judge one output of a candidate; never raises on what the candidate holds."""
    if candidate is None:
        return CheckRow(case.name, name, None, None, False, "missing output")
    ref = _as_dense(reference)
    try:
        cand = _as_dense(candidate)
    except Exception as exc:  # noqa: BLE001 - a candidate file can hold anything
        return CheckRow(case.name, name, None, None, False, f"unreadable: {exc}")
    if cand.dtype.kind not in "biuf":
        return CheckRow(case.name, name, None, None, False, f"dtype {cand.dtype} is not numeric")
    if cand.shape != ref.shape:
        detail = f"shape {cand.shape}, expected {ref.shape}"
        return CheckRow(case.name, name, None, None, False, detail)
    if not np.all(np.isfinite(cand)):
        return CheckRow(case.name, name, None, None, False, "non-finite entries")
    if isinstance(check, Invariant):
        try:
            error, tolerance = check.test(candidate, reference, inputs)
        except Exception as exc:  # noqa: BLE001
            return CheckRow(case.name, name, None, None, False, f"invariant failed: {exc}")
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
