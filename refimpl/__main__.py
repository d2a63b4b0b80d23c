"""Command line: ``python -m refimpl`` (or ``refimpl``).

Subcommands
-----------
figures [NAME ...] [--quick] [--out DIR] [--list]
    Regenerate the registered figures (all of them when no name is given).
oracle {export DIR, check DIR CANDIDATE_DIR, list, conventions, record}
    The oracle kit: write the golden cases, or check an implementation against them;
    ``record`` (maintainers, in a source checkout) rewrites the recorded references.
info
    Print the versions, the array backend, and the BLAS library and its threads.

Exit codes: 0 on success, 2 on a usage error, 1 on failure.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

from refimpl import __version__


class UsageError(Exception):
    """A mistake in the command line, reported with exit code 2."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refimpl",
        description="refimpl: NumPy/SciPy reference implementations of InRank, "
        "KL-minimizing sparse Cholesky (Vecchia), Gaussian-process PDE solvers and "
        "competitive gradient descent.",
    )
    parser.add_argument("--version", action="version", version=f"refimpl {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks instead of one-line errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    fig = sub.add_parser(
        "figures",
        help="regenerate figures (PNG plus the numbers behind them)",
        description="Regenerate the registered figures. With no NAME, all of them.",
    )
    fig.add_argument("names", nargs="*", metavar="NAME", help="figures to make (default: all)")
    fig.add_argument("--quick", action="store_true", help="small sizes, for CI and smoke tests")
    fig.add_argument(
        "--out", type=Path, default=None, help="output folder (default: the figures/ folder)"
    )
    fig.add_argument("--list", action="store_true", help="list the registered figures and exit")
    fig.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder with the figure scripts (default: figures/)",
    )

    oracle = sub.add_parser(
        "oracle",
        help="export golden cases, or check an implementation's outputs against them",
        description="The oracle kit: golden cases with inputs, reference outputs and "
        "tolerances as .npz files plus a JSON manifest per case.",
    )
    verbs = oracle.add_subparsers(dest="verb", metavar="VERB")
    export = verbs.add_parser("export", help="write every case (or a selection) to DIR")
    export.add_argument("directory", type=Path, metavar="DIR")
    export.add_argument("--subpackage", default=None, help="only this subpackage's cases")
    export.add_argument("--case", action="append", default=None, help="only this case (repeatable)")
    check = verbs.add_parser(
        "check", help="compare CANDIDATE_DIR with an export in DIR; exit 0 only if all pass"
    )
    check.add_argument("directory", type=Path, metavar="DIR")
    check.add_argument("candidate", type=Path, metavar="CANDIDATE_DIR")
    check.add_argument(
        "--case",
        action="append",
        default=None,
        help="check only this case (repeatable); it must be in the candidate",
    )
    check.add_argument(
        "--require-all",
        action="store_true",
        help="fail for every exported case the candidate lacks (default: 'not checked')",
    )
    verbs.add_parser("list", help="list the cases with the function each exercises")
    verbs.add_parser(
        "conventions", help="print every case's conventions, inputs and checks (Markdown)"
    )
    rec = verbs.add_parser(
        "record",
        help="record the current outputs as the references (maintainers; log it in CHANGES.md)",
    )
    rec.add_argument("--case", default=None, help="only this case (subpackage.name)")

    sub.add_parser(
        "info",
        help="print versions, backend and BLAS",
        description="Print versions, the array backend, and the BLAS library and threads.",
    )
    return parser


def _cmd_figures(args) -> int:
    from refimpl import figures as registry

    source = args.source if args.source is not None else registry.figures_dir()
    if args.source is not None and not source.is_dir():
        raise UsageError(f"--source: expected an existing folder, received {source}")
    found = registry.discover(source)
    by_name = {f.name: f for f in found}

    if args.list:
        if not found:
            print(f"no figures are registered (no scripts in {source})")
        for f in found:
            print(f"{f.name:<28} {f.topic:<8} {f.title}")
        return 0

    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none"
        raise UsageError(f"unknown figure name(s) {unknown}; registered figures: {known}")
    chosen = [by_name[n] for n in args.names] if args.names else found
    if not chosen:
        print(f"no figures are registered yet (no scripts in {source}); nothing to do")
        return 0

    import matplotlib

    matplotlib.use("Agg")
    out_dir = args.out if args.out is not None else source
    failures = 0
    total_start = time.perf_counter()
    for f in chosen:
        start = time.perf_counter()
        try:
            paths = registry.load(f)(out_dir, quick=args.quick)
        except Exception as exc:
            failures += 1
            print(f"FAILED {f.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            if args.debug:
                traceback.print_exc()
            continue
        elapsed = time.perf_counter() - start
        written = ", ".join(Path(p).name for p in paths)
        print(f"{f.name:<28} {elapsed:7.1f} s   {written}", flush=True)
    total = time.perf_counter() - total_start
    print(f"{len(chosen) - failures} of {len(chosen)} figures in {total:.1f} s")
    return 1 if failures else 0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _blas_description() -> str:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        name = "unknown (numpy.show_config() prints details)"
    try:
        from threadpoolctl import threadpool_info

        threads = ", ".join(
            f"{p['internal_api']}: {p['num_threads']} threads"
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        )
    except ImportError:
        env = {
            k: os.environ[k]
            for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        }
        threads = f"threads from environment {env}" if env else f"{os.cpu_count()} CPU cores"
    return f"{name}; {threads}"


def _cmd_oracle(args) -> int:
    from refimpl import oracle

    if args.verb is None:
        raise UsageError("oracle: expected a verb: export, check, list, conventions or record")
    if args.verb == "conventions":
        print(oracle.conventions_table())
        return 0
    if args.verb == "list":
        for case in oracle.cases():
            print(f"{case.name:<36} {case.function}")
        return 0
    if args.verb == "record":
        try:
            written = oracle.record(case=args.case)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        print(f"recorded {len(written)} case(s) in {oracle.recording.RECORDED}")
        print("say why in refimpl/oracle/recorded/CHANGES.md")
        return 0
    if args.verb == "export":
        try:
            folders = oracle.export(args.directory, subpackage=args.subpackage, case=args.case)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        print(f"wrote {len(folders)} case(s) to {args.directory}")
        return 0
    if not args.directory.is_dir():
        raise UsageError(f"DIR: expected an exported oracle folder, received {args.directory}")
    if not args.candidate.is_dir():
        raise UsageError(f"CANDIDATE_DIR: expected a folder, received {args.candidate}")
    try:
        report = oracle.check_directory(
            args.directory, args.candidate, cases=args.case, require_all=args.require_all
        )
    except ValueError as exc:  # name the command line's arguments, not the function's
        message = str(exc).replace("reference_dir:", "DIR:", 1)
        raise UsageError(message.replace("candidate_dir:", "CANDIDATE_DIR:", 1)) from exc
    print(report.table())
    checked = [r for r in report.rows if r.checked]
    failed = sum(not r.passed for r in checked)
    skipped = len({r.case for r in report.rows if not r.checked})
    print(
        f"{len(checked) - failed} of {len(checked)} outputs within tolerance"
        + (f"; {skipped} case(s) not in the candidate, not checked" if skipped else "")
    )
    if not checked:
        print("nothing was compared: the candidate holds none of the exported cases")
    return 0 if report.passed else 1


def _cmd_info(args) -> int:
    import importlib.util

    from refimpl import backend

    print(f"refimpl     {_version('refimpl')}")
    print(f"python      {platform.python_version()} ({platform.platform()})")
    for package in ("numpy", "scipy", "matplotlib"):
        print(f"{package:<11} {_version(package)}")
    requested = os.environ.get("REFIMPL_BACKEND", "")
    # `info` is what a user runs when the backend does not work, so it reports a
    # broken backend instead of failing on it.
    try:
        default = backend.get_default()
    except (backend.BackendUnavailableError, ValueError) as exc:
        default = f"unavailable: {exc}"
    print(f"backend     {default} (REFIMPL_BACKEND={requested!r})")
    has_cupy = importlib.util.find_spec("cupy") is not None
    available, reason = backend.gpu_available() if has_cupy else (False, "")
    state = "not installed" if not has_cupy else ("usable" if available else f"broken: {reason}")
    print(f"cupy        {state}")
    print(f"blas        {_blas_description()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)  # exits with code 2 on argparse usage errors
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"figures": _cmd_figures, "info": _cmd_info, "oracle": _cmd_oracle}[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        print(f"refimpl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        print(f"refimpl {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
