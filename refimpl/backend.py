"""Array backend: where refimpl finds its array namespace.

Every array computation in refimpl asks this module for its namespace instead of
importing NumPy directly, so that CuPy arrays in give CuPy arrays out (where a stage
runs on the host, the contract's GPU table says so).

Two rules decide the namespace:

* **Functions of arrays follow their inputs.** :func:`array_namespace` returns
  ``numpy`` for NumPy (and SciPy sparse) inputs and ``cupy`` for CuPy inputs, and
  :func:`scipy_namespace` returns the matching ``scipy`` or ``cupyx.scipy``
  modules. Mixing NumPy and CuPy arrays in one call raises :class:`ValueError`.
* **Functions that create arrays from nothing** (random initializations, grids)
  use the process default: ``"numpy"`` unless changed by :func:`set_default` or the
  environment variable ``REFIMPL_BACKEND=cupy``.

Device backends live in a small registry (:func:`register_backend`): each says how
to recognise its arrays, how to load its array and SciPy-like namespaces, and how to
copy an array to the host. CuPy is registered by default; the test suite registers a
strict stand-in for CuPy beside it. The NumPy path never imports CuPy; CuPy arrays are
recognised by the module name of their type.

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
fifteen short public functions and one error class, each documented with its own doctest.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
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
    "to_device",
    "is_cupy_array",
    "is_device_array",
    "is_foreign_array",
    "refuse_foreign_array",
    "gpu_available",
    "register_backend",
    "unregister_backend",
    "registered_backends",
]

_default: str | None = None


class BackendUnavailableError(RuntimeError):
    """Raised when the CuPy backend is requested but CuPy or a GPU is missing."""


@dataclasses.dataclass(frozen=True)
class _DeviceBackend:
    """One registered device backend (see :func:`register_backend`)."""

    name: str
    is_array: Callable[[object], bool]
    load_namespace: Callable[[], ModuleType]
    load_scipy_namespace: Callable[[], SimpleNamespace]
    to_host: Callable[[object], object]
    label: str


#: The device backends by name, in registration order; CuPy is registered below.
_REGISTRY: dict[str, _DeviceBackend] = {}


def register_backend(
    name: str,
    *,
    load_namespace: Callable[[], ModuleType],
    load_scipy_namespace: Callable[[], SimpleNamespace],
    to_host: Callable[[object], object],
    module_prefixes: tuple[str, ...] = (),
    is_array: Callable[[object], bool] | None = None,
    label: str | None = None,
) -> None:
    """Register a device backend, so that its arrays in give its arrays out.

    A backend is recognised either by the top-level module name of an array's type
    (``module_prefixes``, which never imports the library) or by a predicate
    (``is_array``). Registering a name again replaces the earlier entry.

    Parameters
    ----------
    name : str
        The backend's name, for :func:`set_default` and ``REFIMPL_BACKEND``; not
        ``"numpy"``.
    load_namespace : callable
        Returns the array module (``cupy``); called only when an array of the backend
        is met or the backend is the default, and may raise
        :class:`BackendUnavailableError`.
    load_scipy_namespace : callable
        Returns a namespace with attributes ``linalg``, ``sparse``, ``sparse_linalg``
        and ``special`` (``cupyx.scipy``'s modules).
    to_host : callable
        Copies one array (or sparse matrix) of the backend to NumPy (or SciPy sparse):
        the explicit transfer of :func:`to_numpy`.
    module_prefixes : tuple of str, optional
        Top-level module names of the backend's array types (``("cupy", "cupyx")``).
    is_array : callable, optional
        Predicate recognising the backend's arrays; give this or ``module_prefixes``.
    label : str, optional
        The name used in messages (default ``name``).

    Raises
    ------
    ValueError
        If an argument is of the wrong kind, ``name`` is ``"numpy"``, or neither or
        both of ``module_prefixes`` and ``is_array`` are given.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> class Double:  # a device array of a test double
    ...     pass
    >>> register_backend(
    ...     "double",
    ...     is_array=lambda x: isinstance(x, Double),
    ...     load_namespace=lambda: np,
    ...     load_scipy_namespace=lambda: SimpleNamespace(),
    ...     to_host=lambda x: np.zeros(1),
    ... )
    >>> is_device_array(Double()), to_numpy(Double())
    (True, array([0.]))
    >>> unregister_backend("double")
    """
    if not isinstance(name, str) or not name.isidentifier() or name == "numpy":
        raise ValueError(f"name: expected an identifier other than 'numpy', received {name!r}")
    for argument, value in (
        ("load_namespace", load_namespace),
        ("load_scipy_namespace", load_scipy_namespace),
        ("to_host", to_host),
    ):
        if not callable(value):
            raise ValueError(f"{argument}: expected a callable, received {value!r}")
    if is_array is not None and not callable(is_array):
        raise ValueError(f"is_array: expected a callable or None, received {is_array!r}")
    if not isinstance(module_prefixes, tuple) or not all(
        isinstance(prefix, str) and prefix.isidentifier() for prefix in module_prefixes
    ):
        raise ValueError(
            f"module_prefixes: expected a tuple of module names, received {module_prefixes!r}"
        )
    if (is_array is None) == (not module_prefixes):
        raise ValueError(
            "module_prefixes: give either module_prefixes or is_array (exactly one), "
            f"received module_prefixes={module_prefixes!r} and is_array={is_array!r}"
        )
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label: expected a string or None, received {label!r}")
    if is_array is None:
        prefixes = frozenset(module_prefixes)

        def is_array(x):
            return type(x).__module__.split(".", 1)[0] in prefixes

    _REGISTRY[name] = _DeviceBackend(
        name, is_array, load_namespace, load_scipy_namespace, to_host, label or name
    )


def unregister_backend(name: str) -> None:
    """Remove the device backend ``name`` from the registry.

    The default backend falls back to ``"numpy"`` if it was ``name``.

    Parameters
    ----------
    name : str
        A registered backend (see :func:`registered_backends`).

    Raises
    ------
    ValueError
        If ``name`` is not registered.

    Examples
    --------
    >>> "cupy" in registered_backends()
    True
    """
    global _default
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"name: expected one of {tuple(_REGISTRY)}, received {name!r}")
    del _REGISTRY[name]
    if _default == name:
        _default = "numpy"


def registered_backends() -> tuple[str, ...]:
    """The backend names :func:`set_default` accepts: ``"numpy"``, then the devices.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> registered_backends()[:2]
    ('numpy', 'cupy')
    """
    return ("numpy", *_REGISTRY)


def _device_backend_of(x) -> _DeviceBackend | None:
    for entry in _REGISTRY.values():
        if entry.is_array(x):
            return entry
    return None


def is_device_array(x) -> bool:
    """Return True if ``x`` is an array of a registered device backend (CuPy, ...).

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
    >>> is_device_array(np.ones(2)), is_device_array([1.0])
    (False, False)
    """
    return _device_backend_of(x) is not None


def is_cupy_array(x) -> bool:
    """Return True if ``x`` is a CuPy array or a cupyx sparse matrix.

    Decided from the type's module name, so this never imports CuPy. Code that
    should serve every device backend asks :func:`is_device_array` instead.

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


def _cupy_scipy_namespace() -> SimpleNamespace:
    _import_cupy()
    return SimpleNamespace(
        linalg=importlib.import_module("cupyx.scipy.linalg"),
        sparse=importlib.import_module("cupyx.scipy.sparse"),
        sparse_linalg=importlib.import_module("cupyx.scipy.sparse.linalg"),
        special=importlib.import_module("cupyx.scipy.special"),
    )


def is_foreign_array(x) -> bool:
    """Return True if ``x`` is an array of a library other than NumPy or a device backend.

    Recognised by any array protocol that ``numpy.asarray`` or another library
    would convert from (``__array__``, ``__array_interface__``, ``__array_struct__``,
    ``__cuda_array_interface__``, ``__dlpack__``, ``__array_namespace__``), on the
    object or on its type, for an object that is neither a NumPy, SciPy-sparse nor
    registered device (CuPy, see :func:`register_backend`) array; a list or tuple is
    foreign when one of its entries is (so ``[torch_tensor, torch_tensor]`` is refused
    too). Such arrays are refused rather than converted, so that "the same kind of
    array out" can hold.

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
    if _is_numpy_array(x) or is_device_array(x):
        return False
    if isinstance(x, list | tuple):
        return any(is_foreign_array(entry) for entry in x)
    # NumPy reads the interface attributes from the instance, so look there too.
    return any(hasattr(x, attr) for attr in ARRAY_PROTOCOLS)


#: The attributes by which an object offers itself as an array to NumPy or to another
#: array library: an object with any of them (not NumPy, CuPy or SciPy sparse) is foreign.
ARRAY_PROTOCOLS = (
    "__array__",
    "__array_interface__",
    "__array_struct__",
    "__cuda_array_interface__",
    "__dlpack__",
    "__array_namespace__",
)


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
    kinds: dict[str, list[int]] = {}
    labels = {"numpy": "NumPy"}
    for position, x in enumerate(arrays):
        refuse_foreign_array(f"arrays[{position}]", x)
        device = _device_backend_of(x)
        if device is not None:
            kinds.setdefault(device.name, []).append(position)
            labels[device.name] = device.label
        elif _is_numpy_array(x):
            kinds.setdefault("numpy", []).append(position)
    if len(kinds) > 1:
        received = " and ".join(
            f"{labels[name]} arrays at positions {positions}" for name, positions in kinds.items()
        )
        raise ValueError(
            "arrays: expected the arrays of one call on one backend (all NumPy or all "
            f"CuPy), received {received}; convert with refimpl.backend.to_numpy or "
            "refimpl.backend.asarray(x, like=...)"
        )
    return next(iter(kinds), None)


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
        ``"numpy"``, ``"cupy"`` or another registered backend.

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
    """Set the process-wide default backend, ``"numpy"``, ``"cupy"`` or another registered one.

    Parameters
    ----------
    name : str
        The backend for functions that create arrays from nothing: one of
        :func:`registered_backends`.

    Examples
    --------
    >>> set_default("numpy")

    Raises
    ------
    ValueError
        If ``name`` is not a known backend.
    BackendUnavailableError
        If ``name == "cupy"`` and CuPy or a GPU is missing (or another device
        backend cannot load).
    """
    global _default
    if name not in registered_backends():
        raise ValueError(f"name: expected one of {registered_backends()}, received {name!r}")
    _module(name)
    _default = name


def default_namespace() -> ModuleType:
    """The array module of the default backend (``numpy``, ``cupy``, ...).

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
    return np if name == "numpy" else _REGISTRY[name].load_namespace()


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
        ``numpy``, ``cupy`` or the module of another registered device backend.

    Examples
    --------
    >>> import numpy as np
    >>> array_namespace(np.ones(2), 3.0).__name__
    'numpy'

    Raises
    ------
    ValueError
        If arrays of two backends (NumPy and CuPy, say) are mixed.
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
        ``scipy`` for NumPy inputs, from ``cupyx.scipy`` for CuPy inputs (from the
        registered loader for another device backend).

    Examples
    --------
    >>> import numpy as np
    >>> scipy_namespace(np.ones(2)).linalg.__name__
    'scipy.linalg'
    """
    name = _backend_of_inputs(arrays)
    name = name if name is not None else get_default()
    if name != "numpy":
        return _REGISTRY[name].load_scipy_namespace()
    return SimpleNamespace(
        linalg=importlib.import_module("scipy.linalg"),
        sparse=importlib.import_module("scipy.sparse"),
        sparse_linalg=importlib.import_module("scipy.sparse.linalg"),
        special=importlib.import_module("scipy.special"),
    )


def asarray(x, like=None, dtype=None):
    """Convert ``x`` to an array of the backend of ``like`` (or of the default).

    A NumPy array moves to the GPU when ``like`` is a CuPy array (to the device of
    any registered backend); use :func:`to_numpy` for the way back.

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
    in value; cupyx sparse matrices become SciPy sparse matrices. Arrays of a
    registered device backend go through its ``to_host`` (:func:`register_backend`).

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
    device = _device_backend_of(x)
    if device is not None:
        x = device.to_host(x)  # the one explicit device-to-host transfer
    if type(x).__module__.startswith("scipy.sparse"):
        return x
    return np.asarray(x)


def to_device(x, like):
    """Return ``x`` on the backend of ``like``: the explicit copy between host and device.

    The way back from a host stage (a KD-tree query, an incomplete factorization), and the
    move of data a caller gave on the other side (new points for a solution, a mixture's
    own centres). Where ``like`` is an array (or sparse matrix) of a device backend, a
    NumPy array becomes that backend's array and a SciPy sparse matrix its sparse matrix of
    the same format (``cupyx.scipy.sparse.csc_matrix`` for a CSC matrix); an array of
    another device backend goes through the host. Where ``like`` is a NumPy array or SciPy
    sparse matrix, a device ``x`` is copied to the host (:func:`to_numpy`). Otherwise
    (``x`` already there, or ``like`` None or a number) ``x`` is returned unchanged, so
    that NumPy callers get exactly what the host stage computed.

    Parameters
    ----------
    x : ndarray or sparse matrix
        A NumPy or device array, or a SciPy or device sparse matrix.
    like : array, sparse matrix or None
        An input of the caller; its backend is the target.

    Returns
    -------
    ndarray or sparse matrix
        On ``like``'s backend.

    Examples
    --------
    >>> import numpy as np
    >>> to_device(np.arange(2.0), like=np.ones(1))
    array([0., 1.])
    """
    refuse_foreign_array("x", x, advice="convert it with that library's own function")
    refuse_foreign_array("like", like, advice="pass a NumPy or device array")
    source, target = _device_backend_of(x), _device_backend_of(like)
    if source is target:
        return x
    if target is None:
        return to_numpy(x) if _is_numpy_array(like) else x
    if source is not None:
        x = to_numpy(x)  # from another device backend, through the host
    if type(x).__module__.startswith("scipy.sparse"):
        sparse = target.load_scipy_namespace().sparse
        kind = {"csr": sparse.csr_matrix, "csc": sparse.csc_matrix}.get(x.format)
        return kind(x) if kind is not None else sparse.csr_matrix(x.tocsr())
    return target.load_namespace().asarray(x)


register_backend(
    "cupy",
    module_prefixes=("cupy", "cupyx"),
    load_namespace=lambda: _import_cupy(),
    load_scipy_namespace=_cupy_scipy_namespace,
    to_host=lambda x: x.get(),
    label="CuPy",
)
