r"""Input checks and errors shared by every subpackage.

The error policy of refimpl: bad input raises :class:`ValueError` whose message
names the argument, says what was expected and what was received. Numerical
failure raises :class:`numpy.linalg.LinAlgError` or :class:`DivergenceError`;
nothing returns NaN or inf silently. ``tests/test_contract.py`` drives every
public function with bad input and holds the package to this.

Examples
--------
>>> from refimpl.validation import check_positive
>>> check_positive("eta", 0.1)
0.1
>>> check_positive("eta", 0.0)
Traceback (most recent call last):
...
ValueError: eta: expected a finite number > 0, received 0.0

Why this module is long: it is a flat list of small, independent checks, each with
the numpydoc sections and a doctest that the contract asks of every public name;
splitting it would scatter one idea (how refimpl refuses bad input) over several
files.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from refimpl import backend

__all__ = [
    "DivergenceError",
    "as_generator",
    "as_float_array",
    "all_finite",
    "check_finite",
    "check_positive",
    "check_nonnegative",
    "check_integer",
    "check_in_interval",
    "check_choice",
    "check_divergence",
    "check_array_size",
    "check_options",
    "check_array_type",
    "finite_or_overflow",
]


class DivergenceError(FloatingPointError):
    """An iteration produced non-finite values.

    Parameters
    ----------
    message : str
        What diverged, where, and a remedy.
    step : int
        The step (iteration index, counted from 1) at which it happened; kept as
        the attribute ``step``.
    """

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _as_real(name: str, value) -> float:
    if not _is_real(value):
        raise ValueError(f"{name}: expected a real number, received {value!r}")
    try:
        return float(value)
    except OverflowError as exc:  # a Python int beyond the float range
        raise ValueError(f"{name}: expected a finite number, received {value!r}") from exc


def as_generator(seed=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a seed, a Generator, or None.

    Parameters
    ----------
    seed : numpy.random.Generator, int >= 0, numpy.random.SeedSequence or None
        A Generator passes through unchanged, so callers share its stream; an
        integer or a SeedSequence seeds a new one; None draws fresh entropy.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> int(as_generator(3).integers(10)) == int(as_generator(3).integers(10))
    True
    >>> as_generator(True)
    Traceback (most recent call last):
    ...
    ValueError: rng: expected a numpy.random.Generator, ... received True of type bool
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence) or seed is None:
        return np.random.default_rng(seed)
    # bool is an Integral, but `rng=True` is a mistake, not a seed.
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool | np.bool_):
        if int(seed) < 0:
            raise ValueError(f"rng: expected a non-negative integer seed, received {int(seed)}")
        return np.random.default_rng(int(seed))
    raise ValueError(
        f"rng: expected a numpy.random.Generator, a non-negative integer seed or None, "
        f"received {seed!r} of type {type(seed).__name__}"
    )


def check_array_type(name: str, x) -> None:
    """Raise ValueError if ``x`` is an array of a library other than NumPy or CuPy.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    x : object
        Lists, scalars and NumPy, CuPy or SciPy-sparse arrays pass. Arrays of
        other libraries (``array_api_strict``, PyTorch, JAX, ...) are refused rather
        than converted, because refimpl returns arrays of the kind it receives and
        can keep that promise only for NumPy and CuPy.

    Examples
    --------
    >>> check_array_type("x", [1.0, 2.0])
    """
    backend.refuse_foreign_array(name, x)


def _plain(name: str, value):
    """``value`` with NumPy's ndarray subclasses made plain arrays (or refused).

    ``numpy.matrix`` keeps two dimensions and makes ``*`` and ``**`` matrix products, so
    array code would compute something else with it; it becomes an ndarray. A masked
    array is refused: converting would use the values under the mask.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise ValueError(
            f"{name}: expected a plain array, received a masked array; fill it "
            "(numpy.ma.filled) or drop the masked entries first"
        )
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return np.asarray(value)
    return value


def _numbers(name: str, value, xp=np, kinds="fciub", expected="an array of numbers"):
    """``value`` as an array of dtype kind in ``kinds``, else ValueError naming ``name``.

    NumPy and CuPy arrays stay on their backend; anything else becomes an array of ``xp``.
    """
    check_array_type(name, value)
    value = _plain(name, value)
    if not (backend.is_device_array(value) or isinstance(value, np.ndarray)):
        try:
            value = xp.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: expected an array of numbers, received {value!r}") from exc
    if value.dtype.kind not in kinds:
        raise ValueError(f"{name}: expected {expected}, received dtype {value.dtype}")
    return value


def all_finite(*values) -> bool:
    r"""Return True if every entry of every value is finite (neither NaN nor ±inf).

    The one predicate behind refimpl's checks for overflow: :func:`check_finite`,
    :func:`check_divergence` and :func:`finite_or_overflow` raise on its answer, and
    the subpackages ask it before raising their own, more specific errors.

    Parameters
    ----------
    *values : array_like
        NumPy or CuPy arrays, SciPy or cupyx sparse matrices (their stored
        entries), Python or NumPy scalars, or lists of numbers. Integer and bool
        entries are always finite; a complex entry is finite when both its real
        and imaginary parts are. Foreign arrays and non-numbers raise ValueError
        naming ``value``.

    Returns
    -------
    bool
        True for no values or empty arrays. For CuPy arrays the per-array answers
        stay on the device and are combined there, so the call synchronises with
        the host once.

    Notes
    -----
    .. math::

        \operatorname{all\_finite}(v_1, \dots, v_k) =
        \bigwedge_{j=1}^{k} \bigwedge_{i} \big(|v_{j,i}| < \infty\big),

    with :math:`|a + ib| < \infty` meaning that both :math:`a` and :math:`b` are
    finite, as in ``numpy.isfinite``.

    References
    ----------
    .. [1] IEEE Standard for Floating-Point Arithmetic, IEEE 754-2019 (NaN and
       infinities).

    Examples
    --------
    >>> all_finite(np.ones(3), 2.0)
    True
    >>> all_finite(np.array([1.0, np.nan])), all_finite(complex(0.0, np.inf))
    (False, False)
    >>> all_finite(np.array([], dtype=float)), all_finite(np.arange(3))
    (True, True)
    """
    flags = []
    for value in values:
        if hasattr(value, "nnz") and hasattr(value, "data"):  # SciPy or cupyx sparse
            value = value.data
        array = _numbers("value", value)
        if array.dtype.kind in "fc":  # integers and bools are finite by type
            xp = backend.array_namespace(array)
            flags.append(xp.all(xp.isfinite(array)))
    answer = True
    for flag in flags:
        answer = answer & flag  # stays on the device for CuPy
    return bool(answer)


def check_finite(name: str, x):
    """Return ``x`` as an array if every entry is finite, else raise ValueError.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    x : array_like
        Numbers (NumPy or CuPy array, list or scalar).

    Returns
    -------
    ndarray
        ``x`` itself when it is already a NumPy or CuPy array.

    Examples
    --------
    >>> check_finite("x", np.array([1.0, np.nan]))
    Traceback (most recent call last):
    ...
    ValueError: x: expected finite values, received 1 non-finite entry (first at index (1,))
    """
    x = _numbers(name, x)
    if not all_finite(x):
        xp = backend.array_namespace(x)
        finite = xp.isfinite(x)
        bad = int(finite.size - xp.count_nonzero(finite))
        first = tuple(int(i) for i in np.argwhere(~backend.to_numpy(finite))[0])
        raise ValueError(
            f"{name}: expected finite values, received {bad} non-finite "
            f"entr{'y' if bad == 1 else 'ies'} (first at index {first})"
        )
    return x


def as_float_array(name: str, x, ndim: int | tuple[int, ...] | None = None, like=None):
    """Convert ``x`` to a finite, real floating-point array of the right dimension.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    x : array_like
        Real numbers. Integers, bools, float16 and long double become float64;
        float32 stays float32.
    ndim : int or tuple of int, optional
        The allowed numbers of dimensions.
    like : array, optional
        Lists and scalars become arrays of the backend of ``like``.

    Returns
    -------
    ndarray
        A NumPy or CuPy array (the backend of ``x``, else of ``like``).

    Examples
    --------
    >>> as_float_array("x", [1, 2], ndim=1)
    array([1., 2.])
    """
    check_array_type(name, x)
    if backend.is_device_array(x) or isinstance(x, np.ndarray):
        xp = backend.array_namespace(x)
    else:
        xp = backend.array_namespace(like) if like is not None else np
    arr = _numbers(name, x, xp=xp, kinds="fiub", expected="a real numeric array")
    # float32 and float64 are kept; integers, bools, float16 and long double become
    # float64 (LAPACK and SuperLU have no half or extended precision).
    if arr.dtype not in (xp.float32, xp.float64):
        arr = arr.astype(xp.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, numbers.Integral) else ndim
        if not isinstance(allowed, tuple) or not all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in allowed
        ):
            raise ValueError(f"ndim: expected an int or a tuple of ints, received {ndim!r}")
        if arr.ndim not in allowed:
            raise ValueError(
                f"{name}: expected an array with ndim in {allowed}, received shape {arr.shape}"
            )
    return check_finite(name, arr)


def check_positive(name: str, value) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise ValueError.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : float
        A real number (bools are refused).

    Returns
    -------
    float

    Examples
    --------
    >>> check_positive("tol", 1e-8)
    1e-08
    """
    v = _as_real(name, value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a finite number > 0, received {value!r}")
    return v


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a float if it is finite and >= 0, else raise ValueError.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : float
        A real number (bools are refused).

    Returns
    -------
    float

    Examples
    --------
    >>> check_nonnegative("nugget", 0)
    0.0
    """
    v = _as_real(name, value)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name}: expected a finite number >= 0, received {value!r}")
    return v


def check_integer(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int if it is integral and within bounds, else raise ValueError.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : int
        An integer (bools and floats such as 2.0 are refused).
    minimum, maximum : int or None
        Inclusive bounds; None for none.

    Returns
    -------
    int

    Examples
    --------
    >>> check_integer("steps", 10, minimum=0)
    10
    """
    for bound_name, bound in (("minimum", minimum), ("maximum", maximum)):
        if bound is not None and (
            isinstance(bound, bool) or not isinstance(bound, numbers.Integral)
        ):
            raise ValueError(f"{bound_name}: expected an integer or None, received {bound!r}")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer, received {value!r}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], received {v}")
    return v


def check_in_interval(name: str, value, low: float, high: float, closed: str = "both") -> float:
    """Return ``value`` as a float if it lies in the interval, else raise ValueError.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : float
        A finite real number.
    low, high : float
        The interval's ends (``-inf``/``inf`` allowed).
    closed : {"both", "left", "right", "neither"}
        Which ends belong to the interval.

    Returns
    -------
    float

    Examples
    --------
    >>> check_in_interval("threshold", 1.0, 0.0, 1.0, closed="right")
    1.0
    """
    for end_name, end in (("low", low), ("high", high)):
        if not _is_real(end) or np.isnan(float(end)):
            raise ValueError(f"{end_name}: expected a real number, received {end!r}")
    check_choice("closed", closed, ("both", "left", "right", "neither"))
    v = _as_real(name, value)
    left_ok = v >= low if closed in ("both", "left") else v > low
    right_ok = v <= high if closed in ("both", "right") else v < high
    if not (np.isfinite(v) and left_ok and right_ok):
        lb = "[" if closed in ("both", "left") else "("
        rb = "]" if closed in ("both", "right") else ")"
        raise ValueError(f"{name}: expected a number in {lb}{low}, {high}{rb}, received {value!r}")
    return v


def _as_collection(name: str, choices) -> tuple:
    if isinstance(choices, str) or not hasattr(choices, "__iter__"):
        raise ValueError(f"{name}: expected a collection of allowed values, received {choices!r}")
    return tuple(choices)


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value to look up (compared with ``==``).
    choices : collection
        The allowed values.

    Returns
    -------
    object
        ``value``.

    Examples
    --------
    >>> check_choice("solver", "cg", ("cg", "gmres"))
    'cg'
    """
    allowed = _as_collection("choices", choices)
    # Arrays compare elementwise and True == 1, so neither may slip through `in`.
    is_bool = isinstance(value, bool | np.bool_)
    if (
        isinstance(value, np.ndarray)
        or (is_bool and not any(isinstance(c, bool) for c in allowed))
        or value not in allowed
    ):
        raise ValueError(f"{name}: expected one of {sorted(map(str, allowed))}, received {value!r}")
    return value


def check_divergence(value, step: int, what: str = "the loss", hint: str = "") -> None:
    """Raise :class:`DivergenceError` if the scalar or array ``value`` is not finite.

    Parameters
    ----------
    value : float or array
        The quantity computed at ``step``.
    step : int
        The step at which ``value`` was computed (counted from 1).
    what : str
        What ``value`` is, for the message.
    hint : str
        A remedy appended to the message, such as ``"try a smaller learning rate"``.

    Examples
    --------
    >>> check_divergence(1.0, step=3)
    >>> check_divergence(float("inf"), step=3, hint="try a smaller learning rate")
    Traceback (most recent call last):
    ...
    refimpl.validation.DivergenceError: the loss became non-finite (inf) at step 3; try a ...
    """
    step = check_integer("step", step, minimum=1)
    if not all_finite(value):
        array = value if backend.is_device_array(value) else np.asarray(value)
        shown = repr(array.item()) if array.ndim == 0 else "non-finite entries"
        message = f"{what} became non-finite ({shown}) at step {step}"
        raise DivergenceError(message + (f"; {hint}" if hint else ""), step=step)


def finite_or_overflow(
    value,
    names: str,
    hint: str = "",
    message: str = "the result overflows float64 for these inputs",
):
    """Return ``value`` if every entry is finite; else a ValueError naming the inputs.

    For results that overflow although every input was finite (a huge scale, a huge
    noise level): the inputs are to blame, so the error names them. Iterations that
    blow up use :func:`check_divergence` instead, which names the step.

    Parameters
    ----------
    value : float, array, or list or tuple of arrays
        The result to check.
    names : str
        The inputs that decide it, as they appear in the signature (``"std"``).
    hint : str
        A remedy appended to the message.
    message : str
        What overflowed, said after ``names`` (``"the iteration matrix exceeds the
        float range"``).

    Returns
    -------
    object
        ``value``, unchanged.

    Examples
    --------
    >>> finite_or_overflow(1.0, "x")
    1.0
    >>> finite_or_overflow([np.ones(2), np.array([np.inf])], "std")
    Traceback (most recent call last):
    ...
    ValueError: std: the result overflows float64 for these inputs
    """
    parts = value if isinstance(value, list | tuple) else [value]
    if not all_finite(*parts):
        raise ValueError(f"{names}: {message}" + (f"; {hint}" if hint else ""))
    return value


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 64 GiB
        return 64 * 2**30


def check_array_size(name: str, shape, itemsize: int = 8) -> None:
    """Raise ValueError if an array of ``shape`` would not fit in this machine's memory.

    Checking before allocating turns a ``MemoryError`` (or a machine that starts
    swapping) into an error that names its cause.

    Parameters
    ----------
    name : str
        The argument that decides the size.
    shape : tuple of int
        The shape about to be allocated.
    itemsize : int
        Bytes per entry.

    Examples
    --------
    >>> check_array_size("n", (10, 10))
    >>> check_array_size("n", (10**9, 10**9))
    Traceback (most recent call last):
    ...
    ValueError: n: an array of shape (1000000000, 1000000000) would need 8e+18 bytes, ...
    """
    extents = (shape,) if isinstance(shape, numbers.Integral) else shape
    if not isinstance(extents, tuple | list) or not all(
        isinstance(e, numbers.Integral) and not isinstance(e, bool) and e >= 0 for e in extents
    ):
        raise ValueError(f"shape: expected a tuple of non-negative ints, received {shape!r}")
    check_integer("itemsize", itemsize, minimum=1)
    n_bytes = float(itemsize)
    for extent in extents:
        n_bytes *= float(extent)
    available = _memory_bytes()
    if n_bytes > available:
        raise ValueError(
            f"{name}: an array of shape {tuple(int(e) for e in extents)} would need "
            f"{n_bytes:.3g} bytes, more than this machine's memory ({available:.3g} bytes)"
        )


def check_options(name: str, options, allowed) -> dict:
    """Return ``options`` as a dict if every key is in ``allowed``, else raise ValueError.

    A misspelt option then fails loudly, naming the key, instead of being ignored
    or raising a ``TypeError`` deep inside.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    options : dict or None
        The options given (None means none).
    allowed : collection of str
        The known keys.

    Returns
    -------
    dict

    Examples
    --------
    >>> check_options("options", {"tol": 1e-8}, ("tol", "maxiter"))
    {'tol': 1e-08}
    >>> check_options("options", {"tolerance": 1e-8}, ("tol", "maxiter"))
    Traceback (most recent call last):
    ...
    ValueError: options: unknown option 'tolerance'; expected keys among ['maxiter', 'tol']
    """
    known = _as_collection("allowed", allowed)
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(f"{name}: expected a dict of options, received {options!r}")
    for key in options:
        if key not in known:
            raise ValueError(
                f"{name}: unknown option {key!r}; expected keys among {sorted(map(str, known))}"
            )
    return dict(options)
