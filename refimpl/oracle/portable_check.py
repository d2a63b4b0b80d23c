"""A checker of exported golden cases that needs only NumPy and the files: the one to port.

This file imports nothing from refimpl (nor SciPy), so it can be copied out of the
package, read in one sitting and translated into C++, Julia or JAX. It gives the same
verdict as ``python -m refimpl oracle check`` on every exported case, with one
documented difference: refimpl also holds each manifest's tolerance to the tolerance
registered in refimpl (a ceiling against tampered or stale exports); this checker can
only trust the manifest.

Usage::

    python portable_check.py REFERENCE_DIR CANDIDATE_DIR [--require-all]

Exit status 0 when every compared output passes (and something was compared), 1 when
one fails, 2 when a reference file cannot be read. The rules, from the manifests:

* an output with a ``tolerance`` passes when every entry obeys
  ``|c - r| <= atol + rtol * |r|`` (shapes equal, entries finite and numeric);
* an output with an ``invariant`` passes when the named property holds; the one
  invariant in schema 2 is ``maximin_order`` (below);
* a sparse output is stored as ``NAME.indptr``, ``NAME.indices``, ``NAME.data`` and
  ``NAME.shape`` (compressed sparse columns) and compared as a dense matrix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 2
CSC_PARTS = ("indptr", "indices", "data", "shape")


def load(path: Path) -> dict:
    """The arrays of one ``.npz`` file, CSC quadruples as dense matrices."""
    with np.load(path, allow_pickle=False) as archive:
        flat = {key: archive[key] for key in archive.files}
    arrays = {}
    for name in {key.rsplit(".", 1)[0] for key in flat if key.endswith(".indptr")}:
        if all(f"{name}.{p}" in flat for p in CSC_PARTS):
            indptr, indices, data, shape = (flat.pop(f"{name}.{p}") for p in CSC_PARTS)
            dense = np.zeros(tuple(int(s) for s in shape), dtype=data.dtype)
            columns = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            np.add.at(dense, (indices, columns), data)
            arrays[name] = dense
    arrays.update(flat)
    return arrays


def maximin_order(order, points, initial) -> tuple[float, float]:
    """Shortfall of a reverse maximin order: each point chosen is a farthest remaining one."""
    order = np.asarray(order)
    if order.dtype.kind not in "iu" or sorted(order.tolist()) != list(range(len(points))):
        return np.inf, 0.0  # not a permutation of the points
    chosen = order[::-1]
    if chosen[0] != int(initial):
        return np.inf, 0.0
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)
    shortfall = 0.0
    for k in range(1, len(points)):
        shortfall = max(shortfall, distance.max() - distance[chosen[k]])
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[k]], axis=1))
    return shortfall / np.ptp(points, axis=0).max(), 1e-14


def compare(entry: dict, cand, ref, inputs) -> tuple[bool, str]:
    """Verdict and reason for one output, from its manifest entry."""
    if cand is None:
        return False, "missing output"
    cand = np.asarray(cand)
    if cand.dtype.kind not in "biuf":
        return False, f"dtype {cand.dtype} is not numeric"
    if cand.shape != ref.shape:
        return False, f"shape {cand.shape}, expected {ref.shape}"
    if not np.all(np.isfinite(cand)):
        return False, "non-finite entries"
    if "invariant" in entry:
        name = entry["invariant"]["name"]
        if name != "maximin_order":
            return False, f"unknown invariant {name}"
        error, tolerance = maximin_order(cand, inputs["points"], inputs["initial"])
        return bool(error <= tolerance), f"[{name}] {error:.3g} vs {tolerance:.3g}"
    atol, rtol = entry["tolerance"]["atol"], entry["tolerance"]["rtol"]
    if entry.get("compare_as") == "factor" and np.any(np.abs(np.triu(cand, 1)) > atol):
        return False, "entries above the diagonal"
    failing = np.abs(cand.astype(float) - ref.astype(float)) > atol + rtol * np.abs(ref)
    if not failing.any():
        return True, ""
    first = tuple(int(i) for i in np.argwhere(failing)[0])
    return False, f"{int(failing.sum())} of {failing.size} entries beyond tolerance, first {first}"


def check(reference_dir, candidate_dir, require_all: bool = False) -> list[tuple]:
    """Rows ``(case, output, verdict, reason)``; verdict is True, False or None (not checked)."""
    rows = []
    for manifest_path in sorted(Path(reference_dir).glob("*/*/manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        case = manifest["case"]
        if manifest["schema_version"] != SCHEMA_VERSION:
            rows.append((case, "-", False, f"schema version {manifest['schema_version']}"))
            continue
        subpackage, short = case.split(".", 1)
        candidate_file = Path(candidate_dir) / subpackage / short / "outputs.npz"
        if not candidate_file.is_file():
            rows.append((case, "-", False if require_all else None, "not in the candidate"))
            continue
        inputs = load(manifest_path.parent / "inputs.npz")
        reference = load(manifest_path.parent / "outputs.npz")
        try:
            candidate = load(candidate_file)
        except Exception as exc:  # noqa: BLE001 - a candidate's file may hold anything
            rows.append((case, "-", False, f"unreadable outputs: {exc}"))
            continue
        for output, entry in manifest["outputs"].items():
            verdict, reason = compare(entry, candidate.get(output), reference[output], inputs)
            rows.append((case, output, verdict, reason))
    return rows


def main(argv: list[str]) -> int:
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 2:
        print(__doc__.split("Usage::")[1].split("Exit")[0].strip(), file=sys.stderr)
        return 2
    try:
        rows = check(*paths, require_all="--require-all" in argv)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: a reference file cannot be read: {exc}", file=sys.stderr)
        return 2
    for case, output, verdict, reason in rows:
        word = {True: "pass", False: "FAIL", None: "skip"}[verdict]
        print(f"{case:<36} {output:<14} {word}  {reason}")
    compared = [verdict for *_, verdict, _ in rows if verdict is not None]
    return 0 if compared and all(compared) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
