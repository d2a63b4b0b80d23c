"""The repository stands on its own and the README's commands do what they say.

* the figure command installs only what the figures need (no test extra);
* nothing cites files outside the repository (the leads' notes) or issue numbers,
  which mean nothing to a reader;
* machine-dependent outputs (timing figures) are kept out of the tracked files, so
  regenerating every figure leaves the git tree clean;
* the derivations the code relies on are in the repository.
"""

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import refimpl

ROOT = Path(__file__).resolve().parents[1]
# The package under test: the checkout's refimpl/, or the installed copy when CI tests the wheel.
PACKAGE = Path(refimpl.__file__).resolve().parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SOURCES = [
    p
    for folder in (
        PACKAGE,
        *(ROOT / f for f in ("tests", "tutorials", "figures", "benchmarks", "docs")),
    )
    for p in folder.rglob("*")
    if p.suffix in (".py", ".md", ".rst") and p.is_file() and "_build" not in p.parts
] + [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]


def _command(marker: str) -> str:
    block = README.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]
    return next(line for line in block.splitlines() if line.startswith("python -m pip"))


def test_figure_command_installs_only_the_runtime_dependencies():
    command = _command("figures-command")
    assert "pip install -e . " in command + " ", command
    assert "[test]" not in command and "refimpl figures" in command


def test_test_command_installs_the_test_extra():
    assert '".[test]"' in _command("test-command")


def test_nothing_cites_files_outside_the_repository():
    outside = re.compile(r"papers\.md|\.\./shared")
    this_file = Path(__file__).resolve()
    offenders = [
        p.name
        for p in SOURCES
        if p.resolve() != this_file and outside.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"files citing material outside the repository: {offenders}"


def test_no_issue_numbers_in_readme_or_benchmarks():
    cited = re.compile(r"\bissue\s+#?\d+", re.IGNORECASE)
    texts = [ROOT / "README.md", *(ROOT / "benchmarks").glob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in texts if cited.search(p.read_text("utf-8"))]
    assert not offenders, f"issue numbers mean nothing to a reader: {offenders}"


def test_derivations_are_in_the_repository():
    index = ROOT / "docs" / "derivations" / "README.md"
    assert index.is_file()
    for topic in ("cgd", "inrank", "vecchia"):
        page = ROOT / "docs" / "derivations" / f"{topic}.md"
        assert page.is_file(), f"missing derivations for {topic}"
        assert "References" in page.read_text(encoding="utf-8"), f"{page.name} cites no paper"


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
def test_timing_figures_are_not_tracked():
    for name in ("vecchia_timing.png", "vecchia_timing.json", "pde_timing.png"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"figures/{name}"], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"figures/{name} would be tracked"
    tracked = subprocess.run(
        ["git", "ls-files", "figures"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [t for t in tracked if "_timing." in t and not t.endswith(".py")], tracked


def test_no_module_imports_another_modules_private_names():
    """Shared helpers are public within their subpackage or live on the shared floor."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offenders.append(f"{path.relative_to(PACKAGE)}: {node.module}.{alias.name}")
    assert not offenders, f"private names imported across modules: {offenders}"


def code_lines(text: str) -> int:
    """Non-blank lines outside docstrings (comments count as code)."""
    tree = ast.parse(text)
    docstring_lines = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstring_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(
        1
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and number not in docstring_lines
    )


def test_code_lines_leave_out_docstrings_and_blank_lines():
    text = 'def f():\n    """Doc\n\n    more."""\n\n    # why\n    return 1\n'
    assert code_lines(text) == 3


#: The paper subpackages, each with a readable core (``refimpl/<name>/core.py``).
CORES = ("cgd", "vecchia", "inrank", "pde")


def core_measurements(text: str) -> dict:
    """Lines, non-blank lines, code lines and the code share of a module's text."""
    nonblank = sum(1 for line in text.splitlines() if line.strip())
    code = code_lines(text)
    return {"lines": text.count("\n"), "nonblank": nonblank, "code": code, "share": code / nonblank}


@pytest.mark.parametrize("name", CORES)
def test_each_paper_is_one_readable_core(name):
    """A student reads one file: at most about 300 lines, two thirds of them code."""
    measured = core_measurements((PACKAGE / name / "core.py").read_text(encoding="utf-8"))
    assert measured["lines"] <= 320, measured
    assert measured["share"] >= 2 / 3, measured


def test_cores_are_not_public_api():
    """Cores stay out of every ``__all__`` and out of the contract's and the docs' walk."""
    from refimpl._public_api import public_modules, public_objects

    assert not any(short.endswith("core") for short, _ in public_modules())
    for obj, names in public_objects():
        assert not any(".core." in f".{n}." for n in names), names
        assert not getattr(obj, "__module__", "").endswith(".core"), names


def test_modules_are_small_or_say_why():
    """One idea per module: at most about 300 code lines, or a reason written at the top."""
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if code_lines(text) > 330 and "Why this module is long" not in text[:3000]:
            too_long.append(f"{path.relative_to(PACKAGE)} ({code_lines(text)} code lines)")
    assert not too_long, f"modules over ~300 code lines without a reason at the top: {too_long}"


def test_readme_is_a_landing_page():
    """About a hundred lines: set-up, a map and links; API tables and tolerances live in docs/."""
    assert README.count("\n") <= 130
    for marker in ("figures-command", "test-command", "docs-command"):
        assert _command(marker).startswith("python -m pip install -e ")
    assert "sphinx-build -W docs" in _command("docs-command")
    for page in re.findall(r"\]\(((?:docs/|CITATION|LICENSE|CONTRIBUTING)[^)]*)\)", README):
        assert (ROOT / page).exists(), f"README links to a missing file: {page}"
    assert "tolerance | why | test" not in README
