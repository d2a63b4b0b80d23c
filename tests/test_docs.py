"""The documentation covers what it claims to, and its contract tables name real tests.

* The API reference is generated from ``__all__`` (``docs/_ext/refimpl_docs.py``, with the
  contract test's walk ``refimpl._public_api``); its pages must list every public name that
  the contract test knows, under some alias, so a new public function cannot be left out.
* Every tutorial and every registered figure gets a page or a gallery entry.
* The oracle contract (``docs/contract/*.md``) states tolerances in tables whose last
  column names the test that enforces each one, as ``tests/FILE.py::NAME``. The tolerance
  cell quotes the test's own expression in backticks (for example ``rtol=1e-12`` or
  ``10 * EPS``). This test checks that the named test exists and that every quoted
  expression occurs in it (in its body, or in a module-level constant it uses), ignoring
  spaces. A test whose tolerance changes without the page changing therefore fails here,
  and so does a page that names a test that was renamed or removed.

The Sphinx build itself (``sphinx-build -W``) runs in CI as its own step.
"""

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONTRACT_PAGES = sorted((DOCS / "contract").glob("*.md"))
SUBPACKAGE_PAGES = {"cgd", "inrank", "vecchia", "pde"}
HEADER = ["quantity", "tolerance", "why", "test"]
#: The inventory of quantities computed by two routes (docs/contract/index.md).
ROUTES_HEADER = ["quantity", "routes", "tolerance", "test"]


def _docs_extension():
    spec = importlib.util.spec_from_file_location("refimpl_docs", DOCS / "_ext" / "refimpl_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["refimpl_docs"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ API reference


def test_api_reference_lists_every_public_name():
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_contract import public_aliases
    finally:
        sys.path.remove(str(ROOT / "tests"))
    public = {name for names in public_aliases().values() for name in names}
    documented = _docs_extension().documented_names()
    missing = sorted(public - documented)
    assert not missing, f"public names missing from the API reference: {missing}"
    assert len(public) > 200  # the walk found the subpackages


def test_api_pages_document_each_object_once(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    pages = _docs_extension().write_api(tmp_path)
    text = "\n".join((tmp_path / f"{p}.rst").read_text(encoding="utf-8") for p in pages)
    targets = re.findall(r"^\.\. auto(?:function|class|data):: (\S+)$", text, re.MULTILINE)
    assert len(targets) == len(set(targets)), "an object documented twice"
    assert "refimpl.vecchia.kl_cholesky" in targets and "refimpl.cgd.run" in targets
    assert {"cgd", "inrank", "vecchia", "pde", "oracle", "backend", "validation"} <= set(pages)


# -------------------------------------------------------------- tutorials, gallery


def test_every_tutorial_becomes_a_page_with_both_downloads(tmp_path):
    pytest.importorskip("jupytext", reason="the docs extra is not installed")
    extension = _docs_extension()
    names = extension.write_tutorials(tmp_path)
    assert names == sorted(p.stem for p in extension.tutorial_scripts())
    assert len(names) >= 8
    for name in names:
        assert (tmp_path / f"{name}.ipynb").is_file()
        assert (tmp_path / "files" / f"{name}.ipynb").is_file()
        assert (tmp_path / "files" / f"{name}.py").is_file()
        page = (tmp_path / f"{name}.ipynb").read_text(encoding="utf-8")
        assert f"files/{name}.ipynb" in page and f"files/{name}.py" in page
    index = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert all(f"\n{name}\n" in index for name in names)


def test_every_registered_figure_is_in_the_gallery(tmp_path):
    from refimpl import figures

    extension = _docs_extension()
    shown = extension.write_gallery(tmp_path)
    registered = [f.name for f in figures.discover(ROOT / "figures")]
    assert sorted(shown) == sorted(registered) and len(registered) >= 20
    page = (tmp_path / "index.md").read_text(encoding="utf-8")
    for name in registered:
        assert f"python -m refimpl figures {name}`" in page
        if (ROOT / "figures" / f"{name}.json").is_file():
            assert f"<files/{name}.json>" in page


def test_mathematics_renders_without_network():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"sphinx-mathjax-offline"' in conf
    assert "mathjax_path" not in conf or "http" not in conf.split("mathjax_path", 1)[1][:200]


# ------------------------------------------------------------- contract tables


def _tables(text: str, header=HEADER) -> list[list[list[str]]]:
    """Markdown tables whose header is ``header``, as lists of rows of cells."""
    tables, current = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current is None:
            current = [] if [c.lower() for c in cells] == header else None
            if current is not None:
                tables.append(current)
        elif not set("".join(cells)) <= set("-: "):
            current.append(cells)
    return tables


def _test_source(reference: str) -> tuple[str, str]:
    """The source of the test named ``tests/FILE.py::[CLASS::]NAME`` and of its module constants."""
    match = re.fullmatch(r"`?(tests/[\w/]+\.py)::((?:\w+::)?\w+)`?", reference)
    assert match, f"expected tests/FILE.py::NAME, received {reference!r}"
    path = ROOT / match.group(1)
    assert path.is_file(), f"{reference}: no such file"
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    scope, name = tree, match.group(2)
    if "::" in name:
        cls, name = name.split("::")
        scope = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
        assert scope is not None, f"{reference}: no class {cls}"
    function = next(
        (n for n in scope.body if isinstance(n, ast.FunctionDef) and n.name == name), None
    )
    assert function is not None, f"{reference}: no test {name}"
    body = ast.get_source_segment(source, function)
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    constants = "\n".join(
        ast.get_source_segment(source, n)
        for n in tree.body
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id in used for t in n.targets)
    )
    return body, constants


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_row(row: list[str], tolerance: int = 1) -> None:
    """Every cell filled; the tolerance cell's quoted expressions occur in the named test."""
    assert len(row) == len(HEADER) and all(row), f"a row needs all {len(HEADER)} cells: {row}"
    quoted = re.findall(r"`([^`]+)`", row[tolerance])
    assert quoted, (
        f"{row[0]}: quote the test's tolerance expression in backticks: {row[tolerance]!r}"
    )
    body, constants = _test_source(row[3])
    for expression in quoted:
        assert _squeeze(expression) in _squeeze(body) or _squeeze(expression) in _squeeze(
            constants
        ), f"{row[3]} does not contain the tolerance `{expression}` that the contract states"


def test_every_subpackage_has_a_contract_page_with_tolerance_rows():
    pages = {p.stem: _tables(p.read_text(encoding="utf-8")) for p in CONTRACT_PAGES}
    assert SUBPACKAGE_PAGES <= set(pages)
    for name in SUBPACKAGE_PAGES:
        rows = [row for table in pages[name] for row in table]
        assert len(rows) >= 8, f"docs/contract/{name}.md: only {len(rows)} tolerance rows"


@pytest.mark.parametrize("page", CONTRACT_PAGES, ids=[p.stem for p in CONTRACT_PAGES])
def test_every_tolerance_row_names_a_test_that_enforces_it(page):
    for table in _tables(page.read_text(encoding="utf-8")):
        for row in table:
            _check_row(row)


def test_the_inventory_of_two_route_quantities_names_passing_tests():
    """Each quantity computed two ways has a row: both routes, the tolerance, the test."""
    tables = _tables((DOCS / "contract" / "index.md").read_text(encoding="utf-8"), ROUTES_HEADER)
    assert len(tables) == 1, "docs/contract/index.md: one inventory table of two-route quantities"
    rows = tables[0]
    for row in rows:
        _check_row(row, tolerance=2)
        assert " vs " in row[1], f"{row[0]}: name both routes as 'A vs B': {row[1]!r}"
    names = " ".join(row[0] + " " + row[1] for row in rows)
    # the pairs the package must never let drift apart (the self-consistency issue's list)
    for required in (
        "vs the callable",
        "kl_divergence_from_variances",
        "dense_inverse_cholesky",
        "predict",
        "noisy_posterior_mean",
        "noisy_kl_divergences",
        "cgd_step",
        "cgd.run",
        "inrank_efficient",
        "factored gradients",
    ):
        assert required in names, f"the inventory has no row for {required!r}"


def test_the_row_check_can_fail():
    good = [
        "a step",
        "`10 * EPS * (1`",
        "cond",
        "tests/test_cgd_closed_forms.py::test_cgd_step_equals_iteration_matrix",
    ]
    _check_row(good)
    for bad in (
        [*good[:3], "tests/test_cgd_closed_forms.py::test_no_such_test"],
        [good[0], "`rtol=1e-3`", *good[2:]],
        [good[0], "1e-12 (not quoted)", *good[2:]],
        [*good[:2], "", good[3]],
        [*good[:3], "tests/test_no_such_file.py::test_x"],
    ):
        with pytest.raises(AssertionError):
            _check_row(bad)
    table = "| quantity | tolerance | why | test |\n|---|---|---|---|\n| a | b | c | d |\n"
    assert _tables(table) == [[["a", "b", "c", "d"]]]
