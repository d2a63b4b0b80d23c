"""Pages the documentation generates at build time, so that they cannot drift from the code.

* ``api/``: one page per public module of refimpl, listing every name of its ``__all__``
  (found by ``refimpl._public_api``, the walk the contract test uses too: the floor
  modules, every package below ``refimpl``, and the modules those list in ``__all__``).
  Each object is documented once, under its shortest public name; its other names are
  listed beside it.
* ``tutorials/``: every ``tutorials/*.py`` (jupytext percent format) as a notebook that
  myst-nb executes, with links to download it as a notebook and as a script.
* ``gallery/``: every registered figure with its caption, the command that regenerates it
  and its data file.

All three folders are written anew on every build and ignored by git.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent

# The order of the API reference's table of contents: the papers first, then the floor.
TOPIC_ORDER = ["cgd", "inrank", "vecchia", "pde", "oracle", "nn", "backend", "validation"]


# --------------------------------------------------------------------------- API


@dataclass
class ApiEntry:
    """One public object: its documented name, the other names it is public under, its kind."""

    name: str  # shortest dotted name below refimpl, e.g. "vecchia.kl_cholesky"
    aliases: list[str] = field(default_factory=list)
    kind: str = "function"  # "function", "class" or "data"


def api_entries() -> dict[str, list[ApiEntry]]:
    """Every public object, grouped by the module of its shortest public name."""
    from refimpl._public_api import public_objects  # the contract test's walk

    pages: dict[str, list[ApiEntry]] = {}
    for obj, names in public_objects():
        names = sorted(set(names), key=lambda n: (n.count("."), n))
        kind = "class" if isinstance(obj, type) else "function" if callable(obj) else "data"
        entry = ApiEntry(names[0], names[1:], kind)
        pages.setdefault(names[0].rpartition(".")[0], []).append(entry)
    for entries in pages.values():
        entries.sort(key=lambda e: e.name)
    return dict(sorted(pages.items(), key=lambda item: _topic_key(item[0])))


def documented_names() -> set[str]:
    """Every dotted name (below refimpl) that the API reference documents or lists."""
    return {n for entries in api_entries().values() for e in entries for n in [e.name, *e.aliases]}


def _topic_key(module: str) -> tuple[int, str]:
    top = module.split(".")[0]
    return (TOPIC_ORDER.index(top) if top in TOPIC_ORDER else len(TOPIC_ORDER), module)


def _heading(text: str, underline: str = "=") -> str:
    return f"{text}\n{underline * len(text)}\n"


def write_api(out: Path) -> list[str]:
    """Write ``out/index.rst`` and one page per module; return the page names."""
    pages = api_entries()
    _fresh(out)
    names = []
    for module, entries in pages.items():
        qualified = f"refimpl.{module}"
        lines = [_heading(f"``{qualified}``"), f".. automodule:: {qualified}", "   :no-members:"]
        lines += ["", f".. currentmodule:: {qualified}", ""]
        for entry in entries:
            target = f"refimpl.{entry.name}"
            if entry.kind == "class":
                lines += [f".. autoclass:: {target}", "   :members:", ""]
            elif entry.kind == "function":
                lines += [f".. autofunction:: {target}", ""]
            else:
                lines += [f".. autodata:: {target}", "   :no-value:", ""]
            if entry.aliases:
                also = ", ".join(f"``refimpl.{a}``" for a in entry.aliases)
                lines += [f"   Also public as {also}.", ""]
        page = module.replace(".", "_")
        (out / f"{page}.rst").write_text("\n".join(lines), encoding="utf-8")
        names.append(page)
    index = [
        _heading("API reference"),
        "Every public name of refimpl: the ``__all__`` of each subpackage and of the floor",
        "modules, generated from the numpydoc docstrings at build time. Each object is",
        "documented once, under its shortest public name; the names it is also public under",
        "are listed beside it. Conventions and tolerances are in :doc:`/contract/index`.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *[f"   {page}" for page in names],
        "",
    ]
    (out / "index.rst").write_text("\n".join(index), encoding="utf-8")
    return names


# --------------------------------------------------------------------- tutorials


def tutorial_scripts() -> list[Path]:
    """The tutorials, as ``tests/test_tutorials.py`` finds them."""
    return sorted(p for p in (ROOT / "tutorials").glob("*.py") if not p.name.startswith("_"))


def write_tutorials(out: Path) -> list[str]:
    """Write each tutorial as a notebook page plus its downloads; return the page names."""
    import jupytext
    import nbformat

    _fresh(out)
    files = out / "files"
    files.mkdir()
    names = []
    for script in tutorial_scripts():
        notebook = jupytext.read(script, fmt="py:percent")
        shutil.copyfile(script, files / script.name)
        jupytext.write(notebook, files / f"{script.stem}.ipynb", fmt="ipynb")
        links = nbformat.v4.new_markdown_cell(
            f"Download this lecture as a notebook, {{download}}`{script.stem}.ipynb "
            f"<files/{script.stem}.ipynb>`, or as a script, {{download}}`{script.name} "
            f"<files/{script.name}>` (run it with `python {script.name}`; set "
            "`REFIMPL_QUICK=1` for small sizes)."
        )
        notebook.cells.insert(1, links)
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(notebook, out / f"{script.stem}.ipynb")
        names.append(script.stem)
    index = [
        "# Tutorials",
        "",
        "Lecture notes that run. Each tutorial is a jupytext percent-format script in",
        "`tutorials/`: run it with `python`, open it as a notebook in JupyterLab (see",
        "{doc}`/notebooks`), or read it here with its output. These pages are executed when",
        "the documentation is built (with small sizes when `CI` is set).",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        "",
        *names,
        "```",
        "",
    ]
    (out / "index.md").write_text("\n".join(index), encoding="utf-8")
    return names


# ----------------------------------------------------------------------- gallery


def write_gallery(out: Path) -> list[str]:
    """Write the figure gallery; return the names of the figures it shows."""
    import ast

    from refimpl import figures as registry

    _fresh(out)
    files = out / "files"
    files.mkdir()
    found = registry.discover(ROOT / "figures")
    lines = [
        "# Figure gallery",
        "",
        "Every registered figure, with the numbers behind it. `python -m refimpl figures`",
        "regenerates all of them into `figures/` (the figures command of the README);",
        "`python -m refimpl figures NAME` regenerates one, and `--quick` shrinks the sizes.",
        "",
    ]
    for topic in sorted({f.topic for f in found}, key=_topic_key):
        lines += [f"## `refimpl.{topic}`", ""]
        for figure in (f for f in found if f.topic == topic):
            doc = ast.get_docstring(ast.parse(figure.path.read_text(encoding="utf-8"))) or ""
            caption = "\n".join(doc.strip().splitlines()[1:]).strip()
            lines += [f"### {figure.title}", "", f"(figure-{figure.name})=", ""]
            png = figure.path.with_suffix(".png")
            data = figure.path.with_suffix(".json")
            if png.is_file():
                shutil.copyfile(png, files / png.name)
                lines += [f"```{{image}} files/{png.name}", f":alt: {figure.title}", "```", ""]
            else:
                lines += [
                    "```{note}",
                    "This figure depends on the machine (it reports timings), so its PNG is not",
                    "committed: run the command below to make it.",
                    "```",
                    "",
                ]
            if caption:
                lines += [caption, ""]
            lines += [f"Regenerate: `python -m refimpl figures {figure.name}`", ""]
            if data.is_file():
                shutil.copyfile(data, files / data.name)
                lines += [f"Data: {{download}}`{data.name} <files/{data.name}>`", ""]
    (out / "index.md").write_text("\n".join(lines), encoding="utf-8")
    return [f.name for f in found]


# ------------------------------------------------------------------------ sphinx


def _fresh(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def generate(app) -> None:
    """``builder-inited``: write the generated pages before Sphinx reads the sources."""
    srcdir = Path(app.srcdir)
    write_api(srcdir / "api")
    write_tutorials(srcdir / "tutorials")
    write_gallery(srcdir / "gallery")


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
