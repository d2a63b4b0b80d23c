"""Array backend: where refimpl finds its array namespace.

Every array computation in refimpl asks this module for its namespace instead of
importing NumPy directly, so that CuPy arrays in give CuPy arrays out.

Two rules decide the namespace:

* **Functions of arrays follow their inputs.** :func:`array_namespace` returns
  ``numpy`` for NumPy (and SciPy sparse) inputs and ``cupy`` for CuPy inputs, and
  :func:`scipy_namespace` returns the matching ``scipy`` or ``cupyx.scipy``
  modules. Mixing NumPy and CuPy arrays in one call raises :class:`ValueError`.
* **Functions that create arrays from nothing** (random initializations, grids)
  use the process default: ``"numpy"`` unless changed by :func:`set_default` or the
  environment variable ``REFIMPL_BACKEND=cupy``.

The NumPy path never imports CuPy; CuPy arrays are recognised by the module name
of their type.

Examples
--------
>>> import numpy as np
>>> from refimpl import backend
>>> backend.array_namespace(np.ones(3), 2.0).__name__
'numpy'
>>> backend.get_default()
'numpy'
>>> backend.to_numpy(np.arange(3))
array([0, 1, 2])

Why this module is long: one idea (which array namespace a call uses) told through
eleven short public functions and one error class, each documented with its own doctest.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType, SimpleNamespace

import numpy as np

__all__ = [
    "BackendUnavailableError",
    "array_namespace",
    "scipy_namespace",
    "get_default",
    "set_default",
    "default_namespace",
    "asarray",
    "to_numpy",
    "is_cupy_array",
    "is_foreign_array",
    "refuse_foreign_array",
    "gpu_available",
]

BACKENDS = ("numpy", "cupy")
_default: str | None = None


class BackendUnavailableError(RuntimeError):
    """Raised when the CuPy backend is requested but CuPy or a GPU is missing."""


def is_cupy_array(x) -> bool:
    """Return True if ``x`` is a CuPy array or a cupyx sparse matrix.

    Decided from the type's module name, so this never imports CuPy.

    Parameters
    ----------
    x : object
        Anything.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_cupy_array(np.ones(2))
    False
    """
    return type(x).__module__.split(".", 1)[0] in ("cupy", "cupyx")


def is_foreign_array(x) -> bool:
    """Return True if ``x`` is an array of a library other than NumPy or CuPy.

    Recognised by the array protocols (``__array_namespace__``, ``__dlpack__``,
    ``__array__``, ``__cuda_array_interface__``) on an object that is neither a
    NumPy, CuPy nor SciPy-sparse array. Such arrays are refused rather than
    converted, so that "the same kind of array out" can hold.

    Parameters
    ----------
    x : object
        Anything.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_foreign_array(np.ones(2)), is_foreign_array([1.0, 2.0])
    (False, False)
    """
    if _is_numpy_array(x) or is_cupy_array(x):
        return False
    protocols = ("__array_namespace__", "__dlpack__", "__array__", "__cuda_array_interface__")
    return any(hasattr(type(x), attr) for attr in protocols)


def refuse_foreign_array(name: str, x, advice: str = "convert it with numpy.asarray first"):
    r"""Raise ValueError naming ``name`` if ``x`` is an array of another library.

    The one place where refimpl refuses foreign arrays (see :func:`is_foreign_array`),
    so that every such refusal names the argument, the received type and a remedy
    in the same words.

    Parameters
    ----------
    name : str
        The argument's name, for the message (``"arrays[2]"`` for a position).
    x : object
        Anything; lists, scalars, NumPy, CuPy and sparse arrays pass.
    advice : str
        The remedy appended to the message.

    Returns
    -------
    object
        ``x``, unchanged, when it is not a foreign array.

    Notes
    -----
    The rule is :math:`\text{refuse}(x) \iff \text{foreign}(x)`, with
    ``foreign`` decided by :func:`is_foreign_array`; converting instead would
    break the promise that the output is an array of the input's kind.

    References
    ----------
    .. [1] The Python array API standard, "Array interchange" (``__dlpack__``,
       ``__array_namespace__``), https://data-apis.org/array-api/.

    Examples
    --------
    >>> refuse_foreign_array("x", [1.0, 2.0])
    [1.0, 2.0]
    >>> class Foreign:
    ...     def __array__(self, dtype=None, copy=None):
    ...         return np.zeros(2)
    >>> refuse_foreign_array("x", Foreign())
    Traceback (most recent call last):
    ...
    ValueError: x: expected a NumPy or CuPy array (or a list of numbers), received ...
    """
    if is_foreign_array(x):
        raise ValueError(
            f"{name}: expected a NumPy or CuPy array (or a list of numbers), received "
            f"{type(x).__module__}.{type(x).__name__}; {advice}"
        )
    return x


def _is_numpy_array(x) -> bool:
    if isinstance(x, np.ndarray | np.generic):
        return True
    return type(x).__module__.startswith("scipy.sparse")


def _backend_of_inputs(arrays) -> str | None:
    """Name of the backend the array inputs live on, or None if there are none."""
    kinds: dict[str, list[int]] = {"numpy": [], "cupy": []}
    for position, x in enumerate(arrays):
        refuse_foreign_array(f"arrays[{position}]", x)
        if is_cupy_array(x):
            kinds["cupy"].append(position)
        elif _is_numpy_array(x):
            kinds["numpy"].append(position)
    if kinds["numpy"] and kinds["cupy"]:
        raise ValueError(
            "arrays: expected all NumPy or all CuPy arrays in one call, received NumPy "
            f"arrays at positions {kinds['numpy']} and CuPy arrays at positions "
            f"{kinds['cupy']}; convert with refimpl.backend.to_numpy or cupy.asarray"
        )
    if kinds["cupy"]:
        return "cupy"
    if kinds["numpy"]:
        return "numpy"
    return None


def gpu_available() -> tuple[bool, str]:
    """Whether CuPy imports and sees a CUDA device, with the reason if not.

    Returns
    -------
    available : bool
    reason : str
        Empty when available, otherwise why not (for skip messages).

    Examples
    --------
    >>> available, reason = gpu_available()
    >>> available or bool(reason)
    True
    """
    try:
        cupy = importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a CUDA library failing to load
        return False, f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy is installed but CUDA reports no device ({exc})"
    if count < 1:
        return False, "CuPy is installed but no CUDA device is present"
    return True, ""


def _import_cupy() -> ModuleType:
    available, reason = gpu_available()
    if not available:
        raise BackendUnavailableError(
            f"the 'cupy' backend was requested but cannot be used: {reason}. "
            "Install the extra with `pip install -e .[gpu]` on a machine with a CUDA GPU, "
            "or use the 'numpy' backend."
        )
    return importlib.import_module("cupy")


def get_default() -> str:
    """Name of the backend used by functions that create arrays from nothing.

    Read once from ``REFIMPL_BACKEND`` (default ``"numpy"``) unless
    :func:`set_default` was called.

    Returns
    -------
    str
        ``"numpy"`` or ``"cupy"``.

    Examples
    --------
    >>> get_default()
    'numpy'
    """
    global _default
    if _default is None:
        requested = os.environ.get("REFIMPL_BACKEND", "numpy").strip().lower() or "numpy"
        set_default(requested)
    return _default


def set_default(name: str) -> None:
    """Set the process-wide default backend, ``"numpy"`` or ``"cupy"``.

    Parameters
    ----------
    name : {"numpy", "cupy"}
        The backend for functions that create arrays from nothing.

    Examples
    --------
    >>> set_default("numpy")

    Raises
    ------
    ValueError
        If ``name`` is not a known backend.
    BackendUnavailableError
        If ``name == "cupy"`` and CuPy or a GPU is missing.
    """
    global _default
    if name not in BACKENDS:
        raise ValueError(f"name: expected one of {BACKENDS}, received {name!r}")
    if name == "cupy":
        _import_cupy()
    _default = name


def default_namespace() -> ModuleType:
    """The array module of the default backend (``numpy`` or ``cupy``).

    Returns
    -------
    module

    Examples
    --------
    >>> default_namespace().__name__
    'numpy'
    """
    return _module(get_default())


def _module(name: str) -> ModuleType:
    return np if name == "numpy" else _import_cupy()


def array_namespace(*arrays) -> ModuleType:
    """Array module (``numpy`` or ``cupy``) matching the array arguments.

    Non-array arguments (Python scalars, lists, None) are ignored. With no array
    argument at all, the default backend is returned.

    Parameters
    ----------
    *arrays : array or object
        The arguments of a call.

    Returns
    -------
    module
        ``numpy`` or ``cupy``.

    Examples
    --------
    >>> import numpy as np
    >>> array_namespace(np.ones(2), 3.0).__name__
    'numpy'

    Raises
    ------
    ValueError
        If NumPy and CuPy arrays are mixed.
    """
    name = _backend_of_inputs(arrays)
    return _module(name if name is not None else get_default())


def scipy_namespace(*arrays) -> SimpleNamespace:
    """SciPy-like modules matching the array arguments.

    Parameters
    ----------
    *arrays : array or object
        The arguments of a call.

    Returns
    -------
    types.SimpleNamespace
        Attributes ``linalg``, ``sparse``, ``sparse_linalg`` and ``special``: from
        ``scipy`` for NumPy inputs and from ``cupyx.scipy`` for CuPy inputs.

    Examples
    --------
    >>> import numpy as np
    >>> scipy_namespace(np.ones(2)).linalg.__name__
    'scipy.linalg'
    """
    xp = array_namespace(*arrays)
    root = "scipy" if xp is np else "cupyx.scipy"
    return SimpleNamespace(
        linalg=importlib.import_module(f"{root}.linalg"),
        sparse=importlib.import_module(f"{root}.sparse"),
        sparse_linalg=importlib.import_module(f"{root}.sparse.linalg"),
        special=importlib.import_module(f"{root}.special"),
    )


def asarray(x, like=None, dtype=None):
    """Convert ``x`` to an array of the backend of ``like`` (or of the default).

    A NumPy array moves to the GPU when ``like`` is a CuPy array; use
    :func:`to_numpy` for the way back.

    Parameters
    ----------
    x : array_like
        Numbers (a list, a scalar, a NumPy or CuPy array).
    like : array, optional
        An array of the target backend.
    dtype : dtype, optional
        The dtype of the result.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> asarray([1, 2], dtype=float)
    array([1., 2.])
    """
    try:
        xp = array_namespace(like) if like is not None else default_namespace()
    except ValueError as exc:
        raise ValueError(f"like: {exc}") from exc
    refuse_foreign_array("x", x)
    try:
        return xp.asarray(x, dtype=dtype)
    except TypeError as exc:
        raise ValueError(f"dtype: expected a NumPy dtype, received {dtype!r} ({exc})") from exc


def to_numpy(x):
    """Return ``x`` as a NumPy array (copying from the GPU for CuPy arrays).

    SciPy sparse matrices and non-arrays pass through ``numpy.asarray`` unchanged
    in value; cupyx sparse matrices become SciPy sparse matrices.

    Parameters
    ----------
    x : array_like
        A NumPy or CuPy array, a SciPy or cupyx sparse matrix, or a list.

    Returns
    -------
    ndarray or scipy.sparse matrix

    Examples
    --------
    >>> to_numpy([1.0, 2.0])
    array([1., 2.])
    """
    refuse_foreign_array("x", x, advice="convert it with that library's own function")
    if is_cupy_array(x):
        return x.get()
    if type(x).__module__.startswith("scipy.sparse"):
        return x
    return np.asarray(x)
