"""Input checks and errors shared by every subpackage.

The error policy of refimpl: bad input raises :class:`ValueError` whose message
names the argument, says what was expected and what was received. Numerical
failure raises :class:`numpy.linalg.LinAlgError` or :class:`DivergenceError`;
nothing returns NaN or inf silently.

Examples
--------
>>> from refimpl.validation import check_positive
>>> check_positive("eta", 0.1)
0.1
>>> check_positive("eta", 0.0)
Traceback (most recent call last):
...
ValueError: eta: expected a finite number > 0, received 0.0
"""

from __future__ import annotations

import numbers

import numpy as np

from refimpl import backend

__all__ = [
    "DivergenceError",
    "as_generator",
    "as_float_array",
    "check_finite",
    "check_positive",
    "check_nonnegative",
    "check_integer",
    "check_in_interval",
    "check_choice",
]


class DivergenceError(FloatingPointError):
    """An iteration produced non-finite values.

    Attributes
    ----------
    step : int
        The step (iteration index, counted from 1) at which it happened.
    """

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


def as_generator(seed=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a seed, a Generator, or None.

    A Generator passes through unchanged, so callers share its stream.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, numbers.Integral | np.random.SeedSequence):
        return np.random.default_rng(seed)
    raise ValueError(
        f"rng: expected a numpy.random.Generator, an integer seed or None, "
        f"received {type(seed).__name__}"
    )


def check_finite(name: str, x):
    """Raise ValueError if the array ``x`` has a NaN or inf entry; return ``x``."""
    xp = backend.array_namespace(x)
    finite = xp.isfinite(x)
    if not bool(xp.all(finite)):
        bad = int(xp.size(finite) - xp.count_nonzero(finite))
        first = tuple(int(i) for i in np.argwhere(~backend.to_numpy(finite))[0])
        raise ValueError(
            f"{name}: expected finite values, received {bad} non-finite "
            f"entr{'y' if bad == 1 else 'ies'} (first at index {first})"
        )
    return x


def as_float_array(name: str, x, ndim: int | tuple[int, ...] | None = None, like=None):
    """Convert ``x`` to a finite floating-point array of the right dimension.

    Keeps the backend of ``x`` (or of ``like`` for lists and scalars). Integer
    input becomes float64; float32 stays float32.
    """
    if backend.is_cupy_array(x) or isinstance(x, np.ndarray):
        xp = backend.array_namespace(x)
    else:
        xp = backend.array_namespace(like) if like is not None else np
    try:
        arr = xp.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an array of numbers, received {x!r}") from exc
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name}: expected a real numeric array, received dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(xp.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(
                f"{name}: expected an array with ndim in {allowed}, received shape {arr.shape}"
            )
    return check_finite(name, arr)


def _as_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, received {value!r}")
    return float(value)


def check_positive(name: str, value) -> float:
    """Return ``value`` as float if finite and > 0, else raise ValueError."""
    v = _as_real(name, value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a finite number > 0, received {value!r}")
    return v


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as float if finite and >= 0, else raise ValueError."""
    v = _as_real(name, value)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name}: expected a finite number >= 0, received {value!r}")
    return v


def check_integer(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as int if integral and within bounds, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer, received {value!r}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], received {v}")
    return v


def check_in_interval(name: str, value, low: float, high: float, closed: str = "both") -> float:
    """Return ``value`` as float if inside the interval, else raise ValueError.

    ``closed`` is one of ``"both"``, ``"left"``, ``"right"``, ``"neither"``.
    """
    v = _as_real(name, value)
    left_ok = v >= low if closed in ("both", "left") else v > low
    right_ok = v <= high if closed in ("both", "right") else v < high
    if not (np.isfinite(v) and left_ok and right_ok):
        lb = "[" if closed in ("both", "left") else "("
        rb = "]" if closed in ("both", "right") else ")"
        raise ValueError(f"{name}: expected a number in {lb}{low}, {high}{rb}, received {value!r}")
    return v


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {sorted(choices)}, received {value!r}")
    return value
