"""Figure registry: discovery, running and saving of the scripts in ``figures/``.

Each figure is one script ``figures/<name>.py`` (names starting with ``_`` are
skipped). A script defines

* a module docstring whose first line is the figure's title,
* ``TOPIC``: the subpackage it belongs to (``"cgd"``, ``"inrank"``, ``"vecchia"``,
  ``"pde"``),
* ``make(out_dir, quick=False) -> list[pathlib.Path]``: computes the numbers,
  draws the figure, and writes ``<name>.png`` with the plotted numbers beside it
  (``<name>.json``, through :func:`save_figure`). ``quick=True`` shrinks every
  size so that the figure runs in seconds (used by CI).

and ends with ``if __name__ == "__main__": script_main(make, __file__)`` so that
it also runs as ``python figures/<name>.py [--quick] [--out DIR]``.

``python -m refimpl figures`` discovers the scripts itself; adding a file is all
it takes to register a figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Figure",
    "figures_dir",
    "discover",
    "load",
    "save_figure",
    "save_data",
    "script_main",
]


@dataclass(frozen=True)
class Figure:
    """A registered figure script."""

    name: str
    path: Path
    topic: str
    title: str


def figures_dir() -> Path:
    """The folder holding the figure scripts and their committed outputs.

    ``REFIMPL_FIGURES_DIR`` wins; otherwise ``figures/`` of the source checkout
    this package was imported from; otherwise ``./figures``.
    """
    env = os.environ.get("REFIMPL_FIGURES_DIR")
    if env:
        return Path(env)
    beside_package = Path(__file__).resolve().parents[1] / "figures"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "figures"


def _read_header(path: Path) -> tuple[str, str]:
    """TOPIC and title of a script, read without importing it (cheap for --list)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    doc = ast.get_docstring(tree) or ""
    title = doc.strip().splitlines()[0] if doc.strip() else path.stem
    topic = ""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "TOPIC" for t in node.targets
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                topic = node.value.value
    if not topic:
        raise ValueError(f"figure script {path}: expected a module-level TOPIC = '...' string")
    return topic, title


def discover(directory: Path | str | None = None) -> list[Figure]:
    """All figure scripts in ``directory`` (default :func:`figures_dir`), by name."""
    directory = Path(directory) if directory is not None else figures_dir()
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        topic, title = _read_header(path)
        found.append(Figure(name=path.stem, path=path, topic=topic, title=title))
    return found


def load(figure: Figure):
    """Import a figure script as a module and return its ``make`` function."""
    spec = importlib.util.spec_from_file_location(f"refimpl_figure_{figure.name}", figure.path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    make = getattr(module, "make", None)
    if not callable(make):
        raise ValueError(f"figure script {figure.path}: expected a function make(out_dir, quick)")
    return make


def _jsonable(value):
    """Convert arrays and NumPy scalars to JSON; non-finite floats become strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf", "nan": JSON has no such numbers
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def save_data(data: dict, out_dir: Path | str, name: str) -> Path:
    """Write the numbers behind a figure as ``<name>.json`` and return the path.

    Arrays become nested lists; ``inf`` and ``nan`` become the strings ``"inf"``
    and ``"nan"`` (JSON has no such numbers).
    """
    out = Path(out_dir) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_jsonable(data), indent=1) + "\n", encoding="utf-8")
    return out


def save_figure(fig, data: dict, out_dir: Path | str, name: str, dpi: int = 120) -> list[Path]:
    """Save a Matplotlib figure as ``<name>.png`` and its numbers as ``<name>.json``.

    The figure is closed afterwards. Returns both paths.
    """
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{name}.png"
    fig.savefig(png, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return [png, save_data(data, out_dir, name)]


def script_main(make, script_path: str) -> None:
    """Command line of a single figure script: ``[--quick] [--out DIR]``."""
    import matplotlib

    matplotlib.use("Agg")
    script = Path(script_path).resolve()
    parser = argparse.ArgumentParser(prog=script.name, description=(make.__doc__ or "").strip())
    parser.add_argument("--quick", action="store_true", help="small sizes, runs in seconds")
    parser.add_argument("--out", type=Path, default=script.parent, help="output folder")
    args = parser.parse_args()
    for path in make(args.out, quick=args.quick):
        print(path)
