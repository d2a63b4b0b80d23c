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
import inspect
import json
import os
import subprocess
import sys
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
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl._public_api import public_modules, public_objects

TESTS = Path(__file__).parent
SPEC_MODULES = sorted(p.stem for p in TESTS.glob("contract_specs_*.py"))


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


_OBJECTS: dict[int, object] = {}


def public_aliases() -> dict[int, list[str]]:
    """Every public object, by id, with all the dotted names it is public under.

    The walk is ``refimpl._public_api``, shared with the documentation's API reference.
    """
    aliases = {}
    for obj, names in public_objects():
        aliases[id(obj)] = names
        _OBJECTS[id(obj)] = obj
    return aliases


def public_names() -> list[str]:
    """Every public name below ``refimpl``, one per object (its shortest alias)."""
    return sorted(
        min(names, key=lambda n: (n.count("."), n)) for names in public_aliases().values()
    )


def test_every_public_name_has_a_spec_or_an_exemption():
    aliases = public_aliases()
    missing = [
        min(names)
        for key, names in aliases.items()
        if callable(_OBJECTS[key]) and not any(n in SPECS or n in EXEMPT for n in names)
    ]
    assert not missing, f"public names without a contract spec or a written exemption: {missing}"


def _is_method(value) -> bool:
    return inspect.isfunction(value) or isinstance(value, classmethod | staticmethod)


def public_methods() -> dict[str, list[str]]:
    """Every public method of every public class, with the names a spec may use for it.

    Public: defined (not inherited from ``object``) in a refimpl class of the class's
    MRO, named without a leading underscore, or ``__call__``. Properties that take no
    argument are exempt. A method is covered by a spec named after any public alias of
    the class that *defines* it (``cgd.Game.f`` covers ``cgd.BilinearGame.f`` unless
    ``BilinearGame`` overrides ``f``).
    """
    aliases = public_aliases()
    by_class = {key: names for key, names in aliases.items() if inspect.isclass(_OBJECTS[key])}
    found: dict[str, list[str]] = {}
    for key, names in by_class.items():
        cls = _OBJECTS[key]
        if issubclass(cls, BaseException):
            continue
        for klass in cls.__mro__:
            if not klass.__module__.startswith("refimpl"):
                continue
            owners = by_class.get(id(klass), [f"{klass.__module__}.{klass.__qualname__}"])
            for method, value in vars(klass).items():
                if (method.startswith("_") and method != "__call__") or not _is_method(value):
                    continue
                shortest = min(names, key=lambda n: (n.count("."), n))
                label = f"{shortest}.{method}"
                if any(k.endswith(f".{method}") for k in found if k.startswith(shortest + ".")):
                    continue  # overridden lower in the MRO: already listed
                found[label] = [f"{owner}.{method}" for owner in owners]
    return found


def test_every_public_method_has_a_spec_or_an_exemption():
    missing = sorted(
        label
        for label, candidates in public_methods().items()
        if not any(c in SPECS or c in EXEMPT for c in [label, *candidates])
    )
    assert not missing, f"public methods without a contract spec or a written exemption: {missing}"


def test_exemptions_have_reasons_and_exist():
    names = {n for group in public_aliases().values() for n in group}
    names |= {c for label, group in public_methods().items() for c in [label, *group]}
    for name, reason in EXEMPT.items():
        assert isinstance(reason, str) and len(reason) > 10, f"{name}: write why it is exempt"
        assert name in names, f"{name} is exempt but no longer public"


def test_spec_modules_cover_every_topic():
    topics = {n.split(".")[0] for n in SPECS}
    present = {short.split(".")[0] for short, _ in public_modules()}
    assert present <= topics, f"topics without specs: {present - topics}"


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


@pytest.mark.parametrize("name, argument", REAL_ARGUMENTS)
@settings(max_examples=4)
@given(value=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True))
def test_any_float_keeps_the_contract(name, argument, value):
    spec = SPECS[name]

    def call():
        kwargs = spec.valid()
        kwargs[argument] = value
        return spec.call(**kwargs)

    problem = check_outcome(spec, argument, f"drawn {value!r}", call)
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


def test_harness_catches_broken_functions():
    """The harness itself can fail: NaN out, a hang, a TypeError, a vague message,
    a foreign array or a wrong length accepted."""
    import time

    import numpy as np

    def silent_nan(x):
        return np.sqrt(np.asarray(x) - 10.0)

    def wrong_type(x):
        raise TypeError("unsupported operand")

    def hangs(x):
        while True:
            time.sleep(0.01)

    def vague(x):
        raise ValueError("bad input, expected something else")

    def accepts_anything(x):
        return float(np.sum(np.asarray(x, dtype=float).real))

    def dot(x, y):  # accepts vectors of different lengths when y broadcasts
        return float(np.sum(np.asarray(x, float) * np.asarray(y, float)))

    def valid():
        return {"x": np.ones(3)}

    assert any("non-finite" in f for f in failures(Spec("demo", silent_nan, valid)))
    assert any("TypeError" in f for f in failures(Spec("demo", wrong_type, valid)))
    assert any("did not return" in f for f in failures(Spec("demo", hangs, valid, timeout=0.2)))
    assert all("does not name" in f for f in failures(Spec("demo", vague, valid)))
    found = failures(Spec("demo", accepts_anything, valid))
    assert any("foreign" in f for f in found)
    assert any("<one row short>" in f and "invalid input" in f for f in found)
    found = failures(Spec("demo", dot, lambda: {"x": np.ones(3), "y": np.ones(1)}))
    assert any("x = <one row short>" in f for f in found)
