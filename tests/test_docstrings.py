"""Every public function and class documents itself the numpydoc way.

For the paper subpackages (``cgd``, ``inrank``, ``vecchia``, ``pde``) each public
function needs the sections Parameters (when it takes any), Returns, Notes (where
the paper's equation goes), References and Examples with a doctest; each public
class needs Parameters or Attributes, Notes, References and Examples. The shared
floor (``validation``, ``backend``) needs Parameters, Returns and Examples. The
doctests themselves run through ``pytest --doctest-modules refimpl``.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from test_contract import public_names

PAPER_TOPICS = ("cgd", "inrank", "vecchia", "pde")


def _resolve(qualified: str):
    topic, *rest = qualified.split(".")
    obj = importlib.import_module(f"refimpl.{topic}")
    for part in rest:
        obj = getattr(obj, part)
    return obj


def sections(doc: str) -> set[str]:
    """Names of the numpydoc sections in ``doc`` (a title line underlined by dashes)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    return {
        lines[i].strip()
        for i in range(len(lines) - 1)
        if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())
    }


def _takes_parameters(obj) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return True
    return any(p.name not in ("self", "cls") for p in signature.parameters.values())


def _returns_nothing(obj) -> bool:
    try:
        annotation = inspect.signature(obj).return_annotation
    except (TypeError, ValueError):
        return False
    return annotation in (None, "None")


def required_sections(qualified: str, obj) -> set[str]:
    paper = qualified.split(".")[0] in PAPER_TOPICS
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return {"Parameters"} if paper else set()
        needed = {"Examples"} | ({"Notes", "References"} if paper else set())
        return needed
    needed = {"Examples"}
    if _takes_parameters(obj):
        needed.add("Parameters")
    if not _returns_nothing(obj):
        needed.add("Returns")
    if paper:
        needed |= {"Notes", "References"}
    return needed


DOCUMENTED = [
    name
    for name in public_names()
    if callable(_resolve(name)) and not name.split(".")[-1].isupper()
]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_public_name_has_the_numpydoc_sections(name):
    obj = _resolve(name)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    found = sections(doc)
    missing = required_sections(name, obj) - found
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        if not {"Parameters", "Attributes"} & found:
            missing.add("Parameters or Attributes")
    assert not missing, f"{name}: missing numpydoc sections {sorted(missing)}"
    if "Examples" in found:
        assert ">>>" in doc.split("Examples", 1)[1], f"{name}: Examples has no doctest"


def test_the_section_parser_can_fail():
    doc = "Summary.\n\nParameters\n----------\nx : int\n\nExamples\n--------\n>>> 1\n1\n"
    assert sections(doc) == {"Parameters", "Examples"}
    assert required_sections("cgd.demo", lambda x: x) - sections(doc) == {
        "Returns",
        "Notes",
        "References",
    }
