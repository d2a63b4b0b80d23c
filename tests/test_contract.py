"""The API contract holds for every public name (see ``tests/contract.py``).

* every name in the ``__all__`` of ``refimpl.validation``, ``refimpl.backend`` and
  every subpackage (recursing into public submodules) has a spec or a written
  exemption, so a new function is covered the day it is exported;
* each spec's valid call works and returns finite values;
* each bad call raises ``ValueError`` naming the argument, ``LinAlgError`` or
  ``DivergenceError``, or returns finite values, within the spec's time limit;
* Hypothesis draws arbitrary floats (NaN, inf, subnormals, huge) for every real
  argument, with the same judgement;
* seeded calls give bitwise equal results in two fresh processes.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from contract import (
    Spec,
    _infer_kind,
    check_outcome,
    digest,
    failures,
    valid_call_problem,
)
from hypothesis import given
from hypothesis import strategies as st

import refimpl

TESTS = Path(__file__).parent
SPEC_MODULES = sorted(p.stem for p in TESTS.glob("contract_specs_*.py"))
SWEPT = ("validation", "backend", "cgd", "inrank", "vecchia", "pde", "oracle", "nn")


def _load_specs():
    specs, exempt = {}, {}
    for module_name in SPEC_MODULES:
        module = importlib.import_module(module_name)
        for spec in module.SPECS:
            assert spec.name not in specs, f"two specs for {spec.name}"
            specs[spec.name] = spec
        exempt.update(module.EXEMPT)
    return specs, exempt


SPECS, EXEMPT = _load_specs()


def public_names() -> list[str]:
    """Every public name below ``refimpl``, as ``"topic.name"`` or ``"topic.module.name"``."""
    names = []

    def walk(module: types.ModuleType, prefix: str):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                walk(obj, f"{prefix}.{name}")
            else:
                names.append(f"{prefix}.{name}")

    for topic in SWEPT:
        try:
            module = importlib.import_module(f"refimpl.{topic}")
        except ModuleNotFoundError:
            continue
        walk(module, topic)
    return sorted(set(names))


def _needs_spec(qualified: str) -> bool:
    topic, *rest = qualified.split(".")
    obj = importlib.import_module(f"refimpl.{topic}")
    for part in rest:
        obj = getattr(obj, part)
    return callable(obj)


def test_every_public_name_has_a_spec_or_an_exemption():
    missing = [n for n in public_names() if _needs_spec(n) and n not in SPECS and n not in EXEMPT]
    assert not missing, f"public names without a contract spec or a written exemption: {missing}"


def test_exemptions_have_reasons_and_exist():
    names = set(public_names())
    for name, reason in EXEMPT.items():
        assert isinstance(reason, str) and len(reason) > 10, f"{name}: write why it is exempt"
        assert name in names, f"{name} is exempt but no longer public"


def test_spec_modules_cover_every_topic():
    topics = {n.split(".")[0] for n in SPECS}
    present = {t for t in SWEPT if importlib.util.find_spec(f"refimpl.{t}") is not None}
    assert present <= topics | {"backend"}, f"topics without specs: {present - topics}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_valid_call_works(name):
    problem = valid_call_problem(SPECS[name])
    assert problem is None, f"{name}: {problem}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_bad_input_keeps_the_contract(name):
    found = failures(SPECS[name])
    assert not found, f"{name} breaks the contract:\n  " + "\n  ".join(found)


REAL_ARGUMENTS = sorted(
    (name, argument)
    for name, spec in SPECS.items()
    for argument, value in spec.valid().items()
    if argument not in spec.skip
    and (spec.kinds.get(argument) or _infer_kind(argument, value)) == "real"
)


@pytest.mark.skipif(not REAL_ARGUMENTS, reason="no spec has a real argument")
@given(
    target=st.sampled_from(REAL_ARGUMENTS or [("", "")]),
    value=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
)
def test_any_float_keeps_the_contract(target, value):
    name, argument = target
    spec = SPECS[name]

    def call():
        kwargs = spec.valid()
        kwargs[argument] = value
        return spec.call(**kwargs)

    problem = check_outcome(spec, argument, f"float {value!r}", call)
    assert problem is None, f"{name}: {problem}"


SEEDED = sorted(name for name, spec in SPECS.items() if "rng" in spec.valid() and spec.exact_values)

_DIGEST_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import test_contract as t
from contract import digest
out = {{name: digest(t.SPECS[name].call(**t.SPECS[name].valid())) for name in t.SEEDED}}
print(json.dumps(out))
"""


def _digests_in_fresh_process() -> dict:
    env = dict(os.environ, PYTHONHASHSEED="random")
    completed = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT.format(tests=str(TESTS))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not SEEDED, reason="no seeded spec")
def test_seeded_calls_are_bitwise_reproducible_across_processes():
    first, second = _digests_in_fresh_process(), _digests_in_fresh_process()
    here = {name: digest(SPECS[name].call(**SPECS[name].valid())) for name in SEEDED}
    differing = sorted(n for n in SEEDED if not (first[n] == second[n] == here[n]))
    assert not differing, f"seeded calls that differ between processes: {differing}"
    assert len(first) == len(SEEDED)


def test_harness_catches_a_broken_function():
    """The harness itself can fail: a function that returns NaN, hangs or raises TypeError."""
    import numpy as np

    def silent_nan(x):
        return np.sqrt(np.asarray(x) - 10.0)

    def wrong_type(x):
        raise TypeError("unsupported operand")

    spec = Spec("demo", silent_nan, lambda: {"x": np.ones(3)})
    assert any("non-finite" in f for f in failures(spec))
    spec = Spec("demo", wrong_type, lambda: {"x": np.ones(3)})
    assert any("TypeError" in f for f in failures(spec))
    assert pkgutil is not None and refimpl is not None
