"""The API contract, as a harness that drives every public function with bad input.

refimpl promises, for every public name: bad input raises ``ValueError`` whose
message names the argument; numerical failure raises ``numpy.linalg.LinAlgError`` or
:class:`refimpl.validation.DivergenceError`; nothing returns NaN or inf silently;
every call returns within a few seconds. This module turns that promise into code.

A :class:`Spec` says how to make one *valid* call of a public function. The harness
derives the bad calls itself: each argument in turn is replaced by every
:func:`mutations` of its valid value (None, strings, bools, complex numbers, NaN,
inf, empty and mis-shaped arrays, arrays of a foreign library, zero, negative, huge
and tiny values, unknown options, ...), and :func:`check_outcome` judges the result.

The specs live in ``tests/contract_specs_<topic>.py`` (one file per subpackage, each
exporting ``SPECS`` and ``EXEMPT``); ``tests/test_contract.py`` collects them and
fails if a name in any ``__all__`` has neither a spec nor a written exemption.
``BackendUnavailableError`` also keeps the contract: it is the documented answer
to asking for CuPy where there is none.

Writing a spec
--------------
>>> import numpy as np
>>> from refimpl import validation
>>> spec = Spec(
...     "validation.check_positive",
...     lambda name, value: validation.check_positive(name, value),
...     lambda: {"name": "eta", "value": 0.5},
...     names={"value": ("eta",)},  # the message names the argument called `name`
...     skip={"name": "the argument's name, any string is accepted"},
... )
>>> failures(spec)
[]
"""

from __future__ import annotations

import dataclasses
import faulthandler
import math
import numbers
import re
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse

from refimpl.backend import BackendUnavailableError
from refimpl.validation import DivergenceError

#: Seconds a single call may take before it counts as a hang.
DEFAULT_TIMEOUT = 5.0

#: Mutations that can be valid input (extreme but legal values): a finite result is
#: fine. Every other mutation is invalid input and must raise, unless the spec lists
#: it in ``accepts``. Values from a spec's ``extra`` ("custom") and those Hypothesis
#: draws ("drawn") may also pass with a finite result.
MAY_PASS = frozenset({"zero", "negative", "huge", "tiny", "transposed", "negative entry"})


class ForeignArray:
    """A stand-in for an array of another library (array_api_strict, torch, jax).

    It speaks the array protocols, so ``numpy.asarray`` would convert it silently:
    exactly what refimpl must refuse, naming the argument.
    """

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape = self._data.shape
        self.ndim = self._data.ndim
        self.dtype = self._data.dtype
        self.size = self._data.size

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __array_namespace__(self, api_version=None):  # pragma: no cover - protocol only
        raise NotImplementedError

    def __len__(self):
        return len(self._data)

    def __getitem__(self, key):
        return ForeignArray(self._data[key])

    def __repr__(self):
        return f"ForeignArray(shape={self.shape})"


class ForeignInterface:
    """An array that speaks only ``__array_interface__`` (NumPy reads it off the instance)."""

    def __init__(self, data):
        self._data = np.ascontiguousarray(data)
        self.__array_interface__ = self._data.__array_interface__

    def __repr__(self):
        return f"ForeignInterface(shape={self._data.shape})"


class UnknownOption:
    """Marker for an extra keyword argument that the function must refuse by name."""

    def __init__(self, key: str, value: Any = 1):
        self.key, self.value = key, value


@dataclasses.dataclass
class Spec:
    """How to call one public function validly, and what its errors may name.

    Parameters
    ----------
    name : str
        The public name, relative to ``refimpl`` (``"cgd.gda_step"``,
        ``"inrank.dynamics.mode_strength"``); methods as ``"cgd.BilinearGame.grad_x_f"``.
    call : callable
        Called as ``call(**kwargs)``.
    valid : callable
        Returns fresh valid keyword arguments (deterministic: seeds, not entropy).
    kinds : dict
        Overrides the inferred kind of an argument: ``"size"`` (an integer that sizes
        an allocation: also tried huge), ``"flag"`` (a bool), ``"seed"``, ``"text"``
        (free text or a path: any string is valid), ``"options"``
        (a dict of options), ``"object"`` (a game, kernel, pattern, ...).
    skip : dict
        Arguments not mutated, each with the reason.
    extra : list of (argument, value)
        More bad values for an argument, such as misbehaving kernels or games. Use
        ``("**", UnknownOption("key"))`` for an unknown keyword option.
    names : dict
        Other words an error about an argument may use (its own name always counts).
    timeout : float
        Seconds one call may take.
    accepts : dict
        Argument -> set of mutation labels (``"extra axis"``, ``"one row short"``,
        ``"0-d"``, ``"empty"``, ...) that the function legitimately accepts, so a
        finite result for them is no failure (``"*"``: every label, for arguments
        that take anything, such as ``backend.to_numpy``'s). Every other *invalid*
        mutation (all but :data:`MAY_PASS`) must raise.
    passes_values_through : str
        Non-empty (the reason) for converters whose output holds the input's values,
        NaN included, by design (``backend.to_numpy``).
    exact_values : bool
        Whether a seeded call with ``rng`` in ``valid()`` must give bitwise equal
        results in two processes (default True; set False for timings).
    """

    name: str
    call: Callable[..., Any]
    valid: Callable[[], dict]
    kinds: dict = dataclasses.field(default_factory=dict)
    skip: dict = dataclasses.field(default_factory=dict)
    extra: list = dataclasses.field(default_factory=list)
    names: dict = dataclasses.field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    exact_values: bool = True
    passes_values_through: str = ""
    accepts: dict = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------- mutations


def _infer_kind(argument: str, value) -> str:
    if argument in ("rng", "seed"):
        return "seed"
    if isinstance(value, bool | np.bool_):
        return "flag"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "real"
    if isinstance(value, str):
        return "choice"
    if isinstance(value, np.ndarray):
        return "array"
    if scipy.sparse.issparse(value):
        return "sparse"
    if isinstance(value, list | tuple) and value and all(isinstance(v, np.ndarray) for v in value):
        return "array_list"
    if isinstance(value, dict):
        return "options"
    if value is None:
        return "none"
    return "object"


def _array_mutations(x: np.ndarray) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        ("None", None),
        ("str", "abc"),
        ("bool", True),
        ("foreign array", ForeignArray(x)),
        ("foreign interface", ForeignInterface(x)),
        ("extra axis", x[None]),
        ("empty", np.zeros((0,) * max(x.ndim, 1))),
    ]
    if x.ndim >= 1 and x.shape[0] > 1:
        out.append(("one row short", x[:-1]))
    if x.ndim >= 2:
        out.append(("foreign rows", [ForeignArray(row) for row in x]))
    if x.ndim >= 1 and x.size:
        out.append(("complex", x.astype(complex) + 1j))
        if x.dtype.kind == "f":
            for label, bad in (("NaN entry", np.nan), ("inf entry", np.inf)):
                y = x.copy()
                y.flat[0] = bad
                out.append((label, y))
            out.append(("huge", x * 1e300 + np.sign(x) * 1e300))
            out.append(("tiny", x * 1e-300))
        out.append(("0-d", np.asarray(x.flat[0])))
        if x.dtype.kind in "iu":
            y = x.copy()
            y.flat[0] = x.max() + max(len(x), 1)  # an index past the end
            out.append(("out-of-range entry", y))
            y = x.copy()
            y.flat[0] = -1
            out.append(("negative entry", y))
            out.append(("float dtype", x.astype(float) + 0.5))
    return out


def mutations(kind: str, value) -> list[tuple[str, Any]]:
    """Bad (or extreme) values to try in place of ``value``, labelled."""
    common = [("None", None), ("str", "abc")]
    if kind == "seed":
        return [("bool", True), ("str", "abc"), ("negative", -1), ("float", 1.5)]
    if kind == "flag":
        return common + [("int 2", 2), ("float", 0.5)]
    if kind in ("int", "size"):
        out = common + [("bool", True), ("float", 2.5), ("zero", 0), ("negative", -1)]
        out += [("complex", 1 + 1j), ("NaN", math.nan)]
        if kind == "size":
            out.append(("huge", 10**13))
        return out
    if kind == "real":
        v = float(value)
        return common + [
            ("bool", True),
            ("complex", complex(v, 1.0)),
            ("NaN", math.nan),
            ("inf", math.inf),
            ("-inf", -math.inf),
            ("zero", 0.0),
            ("negative", -abs(v) if v else -1.0),
            ("huge", 1e300),
            ("tiny", 1e-300),
            ("array", np.array([v, v])),
        ]
    if kind == "choice":
        return [("unknown", "no-such-choice"), ("None", None), ("int", 3), ("empty", "")]
    if kind == "text":  # free text or a file path: any string goes, nothing else
        return [("None", None), ("int", 3)]
    if kind == "array":
        return _array_mutations(np.asarray(value))
    if kind == "sparse":
        dense = value.toarray()
        out = [(f"dense {label}", v) for label, v in _array_mutations(dense)]
        nan = value.copy().astype(float)
        if nan.nnz:
            nan.data[0] = np.nan
            out.append(("sparse NaN", nan))
        return out
    if kind == "array_list":
        arrays = list(value)
        out = common + [("empty list", []), ("one short", arrays[:-1])]
        nan = [a.copy() for a in arrays]
        if nan[0].size and nan[0].dtype.kind == "f":
            nan[0].flat[0] = np.nan
            out.append(("NaN entry", nan))
        out.append(("foreign", [ForeignArray(a) for a in arrays]))
        out.append(("transposed", [a.T for a in arrays]))
        return out
    if kind == "options":
        return [("str", "abc"), ("unknown key", {"no_such_option": 1})]
    if kind == "none":
        return [("str", "abc")]
    return common + [("float", 1.0), ("object", object())]


# --------------------------------------------------------------------------- judging


class CallTimeout(BaseException):
    """A call ran longer than its spec allows."""


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`CallTimeout` in the main thread after ``seconds``."""

    def handler(signum, frame):
        raise CallTimeout(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    # SIGALRM cannot interrupt a hang inside C code (LAPACK, SuperLU): the watchdog
    # then ends the whole run with every thread's traceback instead of hanging CI.
    faulthandler.dump_traceback_later(10 * seconds + 30, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def leaves(result, path: str = "result", skip=lambda name: False, depth: int = 0):
    """Yield ``(path, leaf)`` for every number or array inside ``result``.

    Walks dicts (sorted keys), lists, tuples, dataclasses and refimpl objects' public
    attributes, down to depth 4; sparse matrices give their CSC ``indptr``,
    ``indices`` and ``data``. Fields whose name ``skip`` accepts are left out.
    """
    if depth > 4 or result is None or isinstance(result, str | bytes | bool):
        return
    if scipy.sparse.issparse(result):
        csc = scipy.sparse.csc_matrix(result)
        for part in ("indptr", "indices", "data"):
            yield f"{path}.{part}", getattr(csc, part)
    elif isinstance(result, np.ndarray | np.generic | numbers.Number):
        yield path, result
    elif isinstance(result, dict):
        for key in sorted(result, key=str):
            if not skip(str(key)):
                yield from leaves(result[key], f"{path}[{key!r}]", skip, depth + 1)
    elif isinstance(result, list | tuple):
        for i, value in enumerate(result):
            yield from leaves(value, f"{path}[{i}]", skip, depth + 1)
    elif dataclasses.is_dataclass(result):
        for field in dataclasses.fields(result):
            if not skip(field.name):
                yield from leaves(
                    getattr(result, field.name), f"{path}.{field.name}", skip, depth + 1
                )
    elif type(result).__module__.startswith("refimpl") and hasattr(result, "__dict__"):
        for key, value in sorted(vars(result).items()):
            if not key.startswith("_") and not skip(key):
                yield from leaves(value, f"{path}.{key}", skip, depth + 1)


def non_finite_parts(result) -> list[str]:
    """Paths of NaN or inf values (or of arrays that hold no numbers) inside ``result``."""
    found = []
    for path, leaf in leaves(result):
        if isinstance(leaf, numbers.Number):
            if not np.isfinite(complex(leaf)):
                found.append(f"{path} = {leaf}")
        elif leaf.dtype.kind in "OUS":
            found.append(f"{path} has dtype {leaf.dtype}, not numbers")
        elif leaf.dtype.kind in "fc" and not np.all(np.isfinite(leaf)):
            found.append(f"{path} has {int(np.sum(~np.isfinite(leaf)))} non-finite entries")
    return found


def _names_argument(message: str, words) -> bool:
    # A whole word, so that "x" is not found inside "expected".
    return any(re.search(rf"(?<![\w.]){re.escape(w)}(?!\w)", message) for w in words)


def check_outcome(spec: Spec, argument: str, label: str, thunk) -> str | None:
    """Run ``thunk`` and return why it breaks the contract, or None if it keeps it."""
    start = time.perf_counter()
    try:
        with time_limit(spec.timeout), np.errstate(all="ignore"):
            result = thunk()
    except CallTimeout as exc:
        return f"{argument} = <{label}>: {exc}"
    except (np.linalg.LinAlgError, DivergenceError, BackendUnavailableError):
        return None
    except ValueError as exc:
        message = str(exc)
        accepted = (argument, *spec.names.get(argument, ()))
        if _names_argument(message, accepted):
            return None
        return f"{argument} = <{label}>: ValueError does not name {accepted}: {message[:200]}"
    except Exception as exc:  # noqa: BLE001 - any other type breaks the contract
        return f"{argument} = <{label}>: {type(exc).__name__}: {str(exc)[:200]}"
    elapsed = time.perf_counter() - start
    if "foreign" in label:
        return f"{argument} = <{label}>: a foreign array was accepted (expected ValueError)"
    bad = [] if spec.passes_values_through else non_finite_parts(result)
    if bad:
        return f"{argument} = <{label}>: returned non-finite values: {'; '.join(bad[:3])}"
    if elapsed > spec.timeout:
        return f"{argument} = <{label}>: took {elapsed:.1f} s"
    legal = (
        label in MAY_PASS
        or label.startswith(("custom ", "drawn "))
        or spec.accepts.get(argument) == "*"
        or label in spec.accepts.get(argument, ())
    )
    if not legal:
        return (
            f"{argument} = <{label}>: invalid input returned a value instead of a ValueError "
            f"naming {argument!r} (if the function legitimately accepts it, list it in the "
            f"spec: accepts={{{argument!r}: {{{label!r}}}}})"
        )
    return None


def bad_calls(spec: Spec):
    """Yield ``(argument, label, thunk)`` for every bad call derived from ``spec``."""
    valid = spec.valid()
    for argument, value in valid.items():
        if argument in spec.skip:
            continue
        kind = spec.kinds.get(argument) or _infer_kind(argument, value)
        for label, bad in mutations(kind, value):
            yield argument, label, _thunk(spec, argument, bad)
    for argument, bad in spec.extra:
        if isinstance(bad, UnknownOption):
            kwargs = spec.valid()
            kwargs[bad.key] = bad.value

            def unknown(kwargs=kwargs):
                return spec.call(**kwargs)

            yield bad.key, "unknown option", unknown
        else:
            yield argument, f"custom {bad!r}"[:60], _thunk(spec, argument, bad)


def _thunk(spec: Spec, argument: str, bad):
    def call():
        kwargs = spec.valid()
        kwargs[argument] = bad
        return spec.call(**kwargs)

    return call


def failures(spec: Spec) -> list[str]:
    """Every way in which ``spec``'s function breaks the contract (empty: it keeps it)."""
    found = []
    for argument, label, thunk in bad_calls(spec):
        problem = check_outcome(spec, argument, label, thunk)
        if problem:
            found.append(problem)
    return found


def valid_call_problem(spec: Spec) -> str | None:
    """Why the valid call itself fails, or None (a spec must describe a working call)."""
    try:
        with time_limit(spec.timeout):
            result = spec.call(**spec.valid())
    except Exception as exc:  # noqa: BLE001
        return f"valid call raised {type(exc).__name__}: {exc}"
    bad = non_finite_parts(result)
    return f"valid call returned non-finite values: {bad[:3]}" if bad else None


def _is_timing(name: str) -> bool:
    # Wall-clock measurements differ between runs by nature; every other number must not.
    return any(word in name for word in ("time", "second", "clock", "wall"))


def digest(result) -> str:
    """A hash of every number in ``result`` (wall-clock fields left out), for reproducibility."""
    import hashlib

    h = hashlib.sha256()
    for _, leaf in leaves(result, skip=_is_timing):
        arr = np.ascontiguousarray(leaf)
        if arr.dtype != object:
            h.update(arr.dtype.str.encode() + str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()
