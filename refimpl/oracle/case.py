r"""Golden cases: fixed inputs, reference outputs, and what "equal" means for each.

A :class:`Case` fixes the inputs of one public refimpl computation completely
(seeded, or given by a documented formula), computes the reference outputs with
refimpl, and states for every output how a candidate is judged:

* a :class:`Tolerance` — entrywise :math:`|c - r| \le \mathrm{atol} + \mathrm{rtol}\,|r|`,
  with the reason for the numbers (conditioning, step size, solver tolerance);
* an :class:`Invariant` — for outputs defined only up to a convention (signs of
  singular vectors, ties in an ordering), a named property that the candidate must
  have instead of raw equality.

Cases register themselves with :func:`register`; :func:`cases` lists them.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import sys
from collections.abc import Callable, Mapping

import numpy as np

from refimpl.validation import as_float_array, check_nonnegative, finite_or_overflow

__all__ = [
    "Case",
    "Tolerance",
    "Invariant",
    "register",
    "cases",
    "get_case",
    "lookup_case",
    "SCHEMA_VERSION",
]

#: Version of the file layout and manifest schema; bumped on any incompatible change.
SCHEMA_VERSION = 2


def _two_digits_up(value: float) -> float:
    if value == 0:
        return 0.0
    # Through the decimal string, so subnormal values do not underflow on the way.
    mantissa, exponent = f"{value:.9e}".split("e")
    rounded_up = math.ceil(round(float(mantissa) * 10, 6)) / 10
    # near the largest double, rounding up would overflow: the largest double is still >= value
    return min(float(f"{rounded_up}e{exponent}"), sys.float_info.max)


@dataclasses.dataclass(frozen=True)
class Tolerance:
    r"""Entrywise closeness :math:`|c - r| \le \mathrm{atol} + \mathrm{rtol}\,|r|`.

    Parameters
    ----------
    atol, rtol : float
        Absolute and relative tolerance (``atol = rtol = 0`` demands equality).
    reason : str
        Why these numbers: the bound they come from.

    Examples
    --------
    >>> Tolerance(0.0, 1e-12, "rounding").bound(np.array([2.0]))
    array([2.e-12])
    >>> Tolerance(1.4637e-8, 0.0, "rounded up to two digits").atol
    1.5e-08
    """

    atol: float
    rtol: float
    reason: str

    def __post_init__(self):
        # Rounded up to two significant digits: tolerances computed at run time (from a
        # condition number, say) then read the same in every manifest and digest.
        object.__setattr__(self, "atol", _two_digits_up(check_nonnegative("atol", self.atol)))
        object.__setattr__(self, "rtol", _two_digits_up(check_nonnegative("rtol", self.rtol)))
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"reason: expected a non-empty string, received {self.reason!r}")

    def bound(self, reference):
        """The allowed deviation at each entry of ``reference`` (finite numbers)."""
        if (
            isinstance(reference, bool)
            or getattr(getattr(reference, "dtype", None), "kind", "") == "b"
        ):
            raise ValueError(f"reference: expected numbers, received booleans {reference!r:.60}")
        reference = as_float_array("reference", reference)
        return finite_or_overflow(self.atol + self.rtol * np.abs(reference), "reference, rtol")

    def to_json(self) -> dict:
        return {"atol": self.atol, "rtol": self.rtol, "reason": self.reason}


@dataclasses.dataclass(frozen=True)
class Invariant:
    """A property the candidate output must have, instead of raw equality.

    Parameters
    ----------
    name : str
        A stable name (``"maximin_order"``, ``"columns_up_to_sign"``, ...).
    description : str
        The property in words, with its tolerance and why.
    test : callable
        ``test(candidate, reference, inputs) -> (error, tolerance)``; the output
        passes when ``error <= tolerance``.

    Examples
    --------
    >>> def same_sum(candidate, reference, inputs):
    ...     return abs(candidate.sum() - reference.sum()), 0.0
    >>> Invariant("same_sum", "the entries sum alike", same_sum).test(
    ...     np.array([1, 2]), np.array([2, 1]), {}
    ... )
    (np.int64(0), 0.0)
    """

    name: str
    description: str
    test: Callable

    def __post_init__(self):
        for field in ("name", "description"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{field}: expected a non-empty string, received {value!r}")
        if not callable(self.test):
            raise ValueError(f"test: expected a callable, received {self.test!r}")

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description}


@dataclasses.dataclass(frozen=True)
class Case:
    """One golden case.

    Parameters
    ----------
    name : str
        Unique and stable, ``"<subpackage>.<what>"``.
    function : str
        The refimpl function the case exercises (``"refimpl.vecchia.kl_factor"``).
    description : str
        What is computed, in words.
    conventions : str
        The conventions a candidate must follow (ordering, signs, normalization).
    make_inputs : callable
        ``make_inputs() -> dict`` of arrays and numbers (deterministic).
    compute : callable
        ``compute(inputs) -> dict`` of outputs (NumPy arrays or SciPy sparse).
    checks : dict or callable
        Output name -> :class:`Tolerance` or :class:`Invariant`; or a function
        returning that dict, called once on first use (for tolerances that need a
        computed output, so that registering a case costs nothing).
    kinds : dict, optional
        Output name -> ``"trajectory"`` (steps along axis 0: a report names the first
        failing step), ``"ordering"`` (a sequence of indices: the first position where
        it departs) or ``"factor"`` (a lower triangular matrix: entries above the
        diagonal are named); other outputs are ``"array"``.
    sentinels : dict, optional
        Input or output name -> {value: meaning} for entries that stand for something
        else (``{-1.0: "infinite length"}``); written into the manifest, and a
        candidate's NaN or inf where an output holds one is named in the report.

    Examples
    --------
    >>> case = get_case("vecchia.maximin_p1_random")
    >>> sorted(case.checks)
    ['lengths', 'order']
    """

    name: str
    function: str
    description: str
    conventions: str
    make_inputs: Callable[[], dict]
    compute: Callable[[dict], dict]
    checks: dict
    kinds: dict = dataclasses.field(default_factory=dict)
    sentinels: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name.count(".") != 1:
            raise ValueError(f"name: expected 'subpackage.case', received {self.name!r}")
        for field in ("function", "description", "conventions"):
            if not isinstance(getattr(self, field), str):
                raise ValueError(f"{field}: expected a string, received {getattr(self, field)!r}")
        for field in ("make_inputs", "compute"):
            if not callable(getattr(self, field)):
                raise ValueError(f"{field}: expected a callable, received {getattr(self, field)!r}")
        if callable(self.checks) and not isinstance(self.checks, dict):
            # Built on first use: some tolerances need a computed output (max |L|), and
            # `oracle check` should build only the cases it checks.
            object.__setattr__(self, "checks", _LazyChecks(self.checks))
        else:
            _check_checks(self.checks)
        for field, allowed in (("kinds", OUTPUT_KINDS), ("sentinels", None)):
            value = getattr(self, field)
            if not isinstance(value, dict):
                raise ValueError(f"{field}: expected a dict, received {value!r}")
            if allowed and isinstance(self.checks, dict) and not set(value) <= set(self.checks):
                raise ValueError(
                    f"{field}: expected a dict keyed by output names {sorted(self.checks)}, "
                    f"received {value!r}"
                )
            if allowed and not set(value.values()) <= set(allowed):
                raise ValueError(f"{field}: expected values in {allowed}, received {value!r}")
            if not allowed and not all(isinstance(v, dict) for v in value.values()):
                raise ValueError(f"{field}: expected dicts {{value: meaning}}, received {value!r}")

    @property
    def subpackage(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]


def _check_checks(checks) -> dict:
    if not isinstance(checks, dict) or not all(
        isinstance(c, Tolerance | Invariant) for c in checks.values()
    ):
        raise ValueError(f"checks: expected a dict of Tolerance or Invariant, received {checks!r}")
    return checks


class _LazyChecks(Mapping):
    """The checks of a case, made by ``make()`` on first use."""

    def __init__(self, make):
        self._make, self._checks = make, None

    def _resolved(self) -> dict:
        if self._checks is None:
            self._checks = _check_checks(self._make())
        return self._checks

    def __getitem__(self, key):
        return self._resolved()[key]

    def __iter__(self):
        return iter(self._resolved())

    def __len__(self):
        return len(self._resolved())

    def __repr__(self):
        return "<checks built on first use>" if self._checks is None else repr(self._checks)


class LazyModule:
    """A refimpl subpackage imported on first attribute access.

    The case modules name the subpackages they exercise through these, so that
    registering (and checking) cases imports a subpackage only when a case is computed.
    """

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self):
        return f"<{self._name}, imported on first use>"


#: The kinds of output a report knows how to explain (see :class:`Case`).
OUTPUT_KINDS = ("array", "trajectory", "ordering", "factor")

_REGISTRY: dict[str, Case] = {}


def register(case: Case) -> Case:
    """Add ``case`` to the registry (names must be unique) and return it."""
    if case.name in _REGISTRY:
        raise ValueError(f"case: the name {case.name!r} is registered twice")
    _REGISTRY[case.name] = case
    return case


#: The modules that register each subpackage's cases: importing one costs only the
#: refimpl subpackage it exercises, so checking one kind of case stays cheap.
CASE_MODULES = {
    "cgd": ("cases_cgd", "cases_gan"),
    "inrank": ("cases_inrank",),
    "pde": ("cases_pde",),
    "vecchia": ("cases_vecchia", "cases_vecchia_gp"),
}


def _load(subpackage: str | None = None) -> None:
    # Importing a case module registers its cases.
    topics = [subpackage] if subpackage in CASE_MODULES else list(CASE_MODULES)
    for topic in topics:
        for module in CASE_MODULES[topic]:
            importlib.import_module(f"refimpl.oracle.{module}")


def cases(subpackage: str | None = None) -> list[Case]:
    """All registered cases, sorted by name, optionally of one subpackage.

    Parameters
    ----------
    subpackage : str, optional
        ``"cgd"``, ``"inrank"``, ``"vecchia"`` or ``"pde"``.

    Returns
    -------
    list of Case

    Examples
    --------
    >>> len(cases("vecchia")) > 0
    True
    """
    if subpackage is not None and not isinstance(subpackage, str):
        raise ValueError(f"subpackage: expected a string or None, received {subpackage!r}")
    _load()
    found = sorted(_REGISTRY.values(), key=lambda c: c.name)
    if subpackage is not None:
        topics = sorted({c.subpackage for c in found})
        if subpackage not in topics:
            raise ValueError(f"subpackage: expected one of {topics}, received {subpackage!r}")
        found = [c for c in found if c.subpackage == subpackage]
    return found


def get_case(name: str) -> Case:
    """The registered case called ``name``.

    Parameters
    ----------
    name : str
        A case name such as ``"vecchia.kl_factor_rho3"``.

    Returns
    -------
    Case

    Examples
    --------
    >>> get_case("cgd.cgd_step_bilinear").function
    'refimpl.cgd.run'
    """
    return lookup_case("name", name)


def lookup_case(argument: str, name) -> Case:
    """The registered case called ``name``; a ValueError names ``argument`` (the caller's)."""
    if isinstance(name, str):
        _load(name.split(".", 1)[0])
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"{argument}: expected one of the registered case names, received {name!r}"
        )
    return _REGISTRY[name]
