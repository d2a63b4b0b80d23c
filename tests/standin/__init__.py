"""A strict stand-in for CuPy on the CPU: the device path of refimpl, run in every CI job.

CuPy is strict where NumPy is lenient, and most defects of a "CuPy in, CuPy out"
promise show without a GPU. This package imitates the strictness with NumPy
underneath, as SciPy tests its own device support with a strict array library:

* :class:`StandinArray` wraps a NumPy array. ``numpy.asarray`` on it raises
  ``TypeError`` (``__array__`` refuses, as CuPy's does: no implicit transfer to the
  host), so a SciPy function or a stray ``np.asarray`` on a device array fails here as
  it fails on a GPU. ``float``, ``int``, ``bool``, ``len``, iteration, indexing,
  ``shape`` and ``dtype`` work (in CuPy they synchronize).
* ``.get()`` and :func:`asnumpy` are the explicit transfers to the host;
  ``namespace.asarray(numpy_array)`` the one to the device.
* NumPy functions and ufuncs called on stand-in arrays dispatch through
  ``__array_function__``/``__array_ufunc__`` to :data:`namespace`, as they dispatch to
  ``cupy``; a NumPy array mixed into such a call raises ``TypeError``, as in CuPy.
* :data:`namespace` (with ``linalg``, ``random``, ``fft``) and :data:`scipy_namespace`
  (``linalg``, ``sparse``, ``sparse_linalg``, ``special``, like ``cupyx.scipy``) hold
  only the names CuPy :data:`CUPY_VERSION` provides (``cupy_names.py``, read from the
  wheel); array methods are those of ``cupy.ndarray``. Reductions return 0-d arrays,
  as CuPy's do. A CuPy name that NumPy/SciPy cannot imitate raises
  ``NotImplementedError`` naming it, so the stand-in never claims more than it does.

Lenient where CuPy is strict (known, not imitated): lists of numbers are accepted where
CuPy wants arrays; NumPy arrays are accepted as indices and as values of ``a[i] = v``;
dtypes follow NumPy (CuPy's ``float32`` reductions may sum in another order). The
stand-in registers itself with :func:`refimpl.backend.register_backend` as ``"standin"``
on import, next to CuPy.

Examples
--------
>>> import numpy as np
>>> from standin import namespace as sp
>>> a = sp.asarray(np.arange(3.0))
>>> np.asarray(a)
Traceback (most recent call last):
...
TypeError: Implicit conversion to a NumPy array is not allowed. Please use `.get()` ...
>>> type(np.sum(a)).__name__, float(np.sum(a)), a.get()
('StandinArray', 3.0, array([0., 1., 2.]))
"""

from __future__ import annotations

import functools
import types

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
import scipy.special
from numpy.lib.mixins import NDArrayOperatorsMixin

from refimpl import backend

from .cupy_names import (
    CUPY,
    CUPY_LINALG,
    CUPY_RANDOM,
    CUPY_VERSION,
    CUPYX_SCIPY_LINALG,
    CUPYX_SCIPY_SPARSE,
    CUPYX_SCIPY_SPARSE_LINALG,
    CUPYX_SCIPY_SPECIAL,
    CUPYX_SPARSE_MATRIX_ATTRIBUTES,
    GENERATOR_METHODS,
    NDARRAY_METHODS,
    UFUNC_METHODS,
)

__all__ = [
    "CUPY_VERSION",
    "NAME",
    "StandinArray",
    "StandinSparse",
    "asnumpy",
    "namespace",
    "register",
    "scipy_namespace",
]

#: The backend's name in :mod:`refimpl.backend`'s registry and the ``xp`` test id.
NAME = "standin"

#: Functions that take host data and put it on the device (``cupy.asarray(numpy_array)``).
HOST_TO_DEVICE = frozenset({"array", "asarray", "asanyarray", "ascontiguousarray"})

#: ``cupy.ndarray`` attributes that Cython declares as data, not methods, so the wheel's
#: strings do not list them.
NDARRAY_DATA = frozenset({"dtype", "base", "data"})

_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
    "construct a NumPy array explicitly."
)


def _refuse_numpy(x):
    raise TypeError(f"Unsupported type {type(x)}")


def _device_args(x, allow_host: bool):
    """``x`` with stand-in arrays unwrapped; NumPy arrays refused unless ``allow_host``."""
    if isinstance(x, StandinArray):
        return x._a
    if isinstance(x, StandinSparse):
        return x._m
    if isinstance(x, np.ndarray):
        return x if allow_host else _refuse_numpy(x)
    if scipy.sparse.issparse(x):
        return x if allow_host else _refuse_numpy(x)
    if isinstance(x, list | tuple) and not hasattr(x, "_fields"):
        return type(x)(_device_args(entry, allow_host) for entry in x)
    return x


def _wrap(x):
    """Results back on the device: arrays (0-d for NumPy scalars, as CuPy returns)."""
    if isinstance(x, np.ndarray):
        return StandinArray(x)
    if isinstance(x, np.generic):
        return StandinArray(np.asarray(x))
    if scipy.sparse.issparse(x):
        return StandinSparse(x)
    if hasattr(x, "_fields"):  # a named tuple (eigh, slogdet, svd results)
        return type(x)(*(_wrap(entry) for entry in x))
    if isinstance(x, list | tuple):
        return type(x)(_wrap(entry) for entry in x)
    return x


def _device_function(function, name: str, allow_host: bool = False):
    """``function`` (NumPy/SciPy) as the stand-in's ``name``: device in, device out."""

    @functools.wraps(function)
    def on_device(*args, **kwargs):
        args = _device_args(args, allow_host)
        out = kwargs.get("out")
        kwargs = {key: _device_args(value, allow_host) for key, value in kwargs.items()}
        result = function(*args, **kwargs)
        if out is None:
            return _wrap(result)
        # ufuncs receive ``out`` as a tuple (``a += b`` passes ``out=(a,)``)
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out

    on_device.__qualname__ = on_device.__name__ = name
    return on_device


def _not_emulated(qualified: str):
    def missing(*args, **kwargs):
        raise NotImplementedError(f"the stand-in does not emulate {qualified}")

    missing.__name__ = qualified.rsplit(".", 1)[-1]
    return missing


class StandinArray(NDArrayOperatorsMixin):
    """A device array: NumPy data that refuses implicit transfer to the host.

    Parameters
    ----------
    a : numpy.ndarray
        The data (not copied).
    """

    __slots__ = ("_a",)
    __hash__ = None

    def __init__(self, a):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"StandinArray wraps a numpy.ndarray, received {type(a)}")
        self._a = a

    # -- no implicit transfer ---------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True):
        """The explicit transfer to the host: a NumPy copy."""
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        """Copy the NumPy array ``arr`` into this array."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        self._a[...] = arr

    # -- what CuPy allows: scalars, truth values, iteration, indexing -----------------
    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __index__(self):
        return self._a.__index__()

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (StandinArray(np.asarray(row)) for row in self._a)

    def __getitem__(self, key):
        return _wrap(self._a[_device_args(key, allow_host=True)])

    def __setitem__(self, key, value):
        self._a[_device_args(key, allow_host=True)] = _device_args(value, allow_host=True)

    def __repr__(self):
        return f"standin.{self._a!r}"

    def __format__(self, spec):
        return format(self._a, spec) if self._a.ndim == 0 else repr(self)

    def __getattr__(self, name):
        if name in NDARRAY_DATA or name in NDARRAY_METHODS:
            try:
                attribute = getattr(self._a, name)
            except AttributeError:
                return _not_emulated(f"cupy.ndarray.{name}")
            if callable(attribute):
                return _device_function(attribute, name)
            return _wrap(attribute)
        raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        if name == "shape":
            self._a.shape = value
        else:
            object.__setattr__(self, name, value)

    # -- NumPy functions on device arrays go to the stand-in namespace ----------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        own = getattr(namespace, ufunc.__name__, None)
        if own is None:
            # SciPy's special functions dispatch to cupyx.scipy.special where it has them
            own = getattr(scipy_namespace.special, ufunc.__name__, None)
        if not isinstance(own, _Ufunc):
            raise TypeError(f"cupy has no ufunc {ufunc.__name__!r}")
        return getattr(own, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = func.__module__ or "numpy"
        target = {"numpy.linalg": namespace.linalg, "numpy.fft": namespace.fft}.get(
            module, namespace
        )
        own = getattr(target, func.__name__, None)
        if own is None:
            raise TypeError(f"cupy has no {module}.{func.__name__} (called on a device array)")
        return own(*args, **kwargs)


class _Ufunc:
    """A CuPy ufunc: calls and its methods (reduce, accumulate, outer, at) on the device."""

    def __init__(self, ufunc):
        self._ufunc, self.__name__ = ufunc, ufunc.__name__
        for method in UFUNC_METHODS & {"reduce", "accumulate", "outer", "at", "reduceat"}:
            setattr(self, method, _device_function(getattr(ufunc, method), method))
        self.nin, self.nout, self.nargs = ufunc.nin, ufunc.nout, ufunc.nargs

    def __call__(self, *args, **kwargs):
        return _device_function(self._ufunc, self.__name__)(*args, **kwargs)

    def __repr__(self):
        return f"<standin ufunc {self.__name__}>"


class StandinSparse:
    """A ``cupyx.scipy.sparse`` matrix: SciPy sparse data that refuses the host path.

    Products with stand-in arrays stay on the device; ``.get()`` returns the SciPy
    matrix; ``toarray()`` a dense stand-in array.
    """

    __array_priority__ = 1000

    def __init__(self, m):
        self._m = m

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None):
        """The explicit transfer to the host: a SciPy sparse copy."""
        return self._m.copy()

    def __matmul__(self, other):
        return _wrap(self._m @ _device_args(other, allow_host=False))

    def __rmatmul__(self, other):
        return _wrap(_device_args(other, allow_host=False) @ self._m)

    def _binary(name):
        def operator(self, other):
            return _wrap(getattr(self._m, name)(_device_args(other, allow_host=False)))

        operator.__name__ = name
        return operator

    __add__, __radd__ = _binary("__add__"), _binary("__radd__")
    __sub__, __rsub__ = _binary("__sub__"), _binary("__rsub__")
    __mul__, __rmul__ = _binary("__mul__"), _binary("__rmul__")
    __truediv__ = _binary("__truediv__")
    del _binary

    def __neg__(self):
        return StandinSparse(-self._m)

    def __getitem__(self, key):  # cupyx slices and indexes sparse matrices on the device
        return _wrap(self._m[_device_args(key, allow_host=True)])

    def __getattr__(self, name):
        if name not in CUPYX_SPARSE_MATRIX_ATTRIBUTES:
            raise AttributeError(f"cupyx sparse matrices have no attribute '{name}'")
        attribute = getattr(self._m, name)
        return _device_function(attribute, name) if callable(attribute) else _wrap(attribute)


def _module(name: str, names, source, overrides=None) -> types.ModuleType:
    """A module holding exactly ``names``, each imitated from ``source`` or not emulated.

    ``name`` is the CuPy module imitated (for messages); the module itself is named
    ``standin...``, so that nothing mistakes it for the real ``cupy``.
    """
    module = types.ModuleType(name.replace("cupyx.scipy", "standin.scipy").replace("cupy", NAME))
    missing = object()
    for attr in sorted(names):
        if attr in (overrides or {}):
            setattr(module, attr, overrides[attr])
            continue
        value = getattr(source, attr, missing)
        if value is missing:
            value = _not_emulated(f"{name}.{attr}")
        elif isinstance(value, np.ufunc):
            value = _Ufunc(value)
        elif isinstance(value, types.FunctionType | types.BuiltinFunctionType) or (
            callable(value) and not isinstance(value, type)
        ):
            value = _device_function(value, attr, allow_host=attr in HOST_TO_DEVICE)
        setattr(module, attr, value)
    return module


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """The explicit transfer to the host (``cupy.asnumpy``): NumPy in, NumPy out."""
    if isinstance(a, StandinArray | StandinSparse):
        return a.get()
    return np.asarray(a, order=order)


def _get_array_module(*args):
    return namespace if any(isinstance(a, StandinArray | StandinSparse) for a in args) else np


class _Generator:
    """``cupy.random.Generator``: only CuPy's methods, NumPy's PCG64 underneath."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def __getattr__(self, name):
        if name not in GENERATOR_METHODS:
            raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")
        return _device_function(getattr(self._rng, name), name)


class _RandomState:
    """``cupy.random.RandomState``: NumPy's legacy generator, device arrays out."""

    def __init__(self, seed=None):
        self._state = np.random.RandomState(seed)

    def __getattr__(self, name):
        return _device_function(getattr(self._state, name), name)


_GLOBAL_STATE = _RandomState()


def _random_module() -> types.ModuleType:
    def legacy(name):
        return lambda *args, **kwargs: getattr(_GLOBAL_STATE, name)(*args, **kwargs)

    overrides = {
        "default_rng": _Generator,
        "Generator": _Generator,
        "RandomState": _RandomState,
        "seed": lambda seed=None: _GLOBAL_STATE._state.seed(seed),
    }
    source = types.SimpleNamespace(
        **{
            name: legacy(name)
            for name in CUPY_RANDOM
            if hasattr(np.random.RandomState, name) and name not in overrides
        }
    )
    return _module("cupy.random", CUPY_RANDOM, source, overrides)


def _host_parts(arg1):
    """Whether ``arg1`` (a constructor's argument, tuples walked) holds NumPy arrays or lists."""
    if isinstance(arg1, tuple):
        return any(_host_parts(part) for part in arg1)
    return isinstance(arg1, np.ndarray | list)


def _sparse_constructor(kind):
    def construct(arg1, shape=None, dtype=None, copy=False):
        # cupyx builds (data, indices, indptr), (data, (row, col)) and dense matrices from
        # device arrays only; a SciPy matrix (an explicit host-to-device copy) is accepted
        if isinstance(arg1, tuple) and len(arg1) == 3 and _host_parts(arg1):
            raise ValueError("data, indices, and indptr must be 1-D cupy arrays")
        if _host_parts(arg1):
            raise TypeError(f"cupyx {kind}: host arrays are not accepted, received {type(arg1)}")
        arg1 = _device_args(arg1, allow_host=True)
        return StandinSparse(getattr(scipy.sparse, kind)(arg1, shape=shape, dtype=dtype))

    construct.__name__ = kind
    return construct


_SPARSE_KINDS = [
    name for name in CUPYX_SCIPY_SPARSE if name.endswith(("_matrix", "_array")) and "_" in name
]


class _LinearOperator:
    """``cupyx.scipy.sparse.linalg.LinearOperator``: a matvec on device vectors."""

    def __init__(self, shape, matvec, rmatvec=None, matmat=None, dtype=None, rmatmat=None):
        self.shape, self._matvec = tuple(shape), matvec
        self.dtype = np.dtype(float if dtype is None else dtype)

    def matvec(self, x):
        return self._matvec(x)


def _host_operator(A, name):
    """A SciPy operator running ``A``'s device products (what CuPy's solvers call)."""
    if isinstance(A, StandinSparse | StandinArray):
        matrix = _device_args(A, allow_host=False)
        return scipy.sparse.linalg.aslinearoperator(matrix)
    if not isinstance(A, _LinearOperator):
        raise TypeError(f"{name} must be cupy.ndarray, cupyx spmatrix or LinearOperator")

    def matvec(v):
        result = A.matvec(StandinArray(np.asarray(v)))
        if not isinstance(result, StandinArray):
            raise TypeError(f"{name}.matvec returned {type(result)}, not cupy.ndarray")
        return result._a

    return scipy.sparse.linalg.LinearOperator(A.shape, matvec=matvec, dtype=A.dtype)


def _cg(A, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, M=None, callback=None):
    """``cupyx.scipy.sparse.linalg.cg``: SciPy's CG on the device products."""
    if not isinstance(b, StandinArray) or not isinstance(x0, StandinArray | type(None)):
        raise TypeError("b and x0 must be cupy.ndarray")
    host_callback = None if callback is None else lambda xk: callback(StandinArray(xk.copy()))
    x, info = scipy.sparse.linalg.cg(
        _host_operator(A, "A"),
        b._a,
        None if x0 is None else x0._a,
        rtol=rtol,
        atol=atol,
        maxiter=maxiter,
        M=None if M is None else _host_operator(M, "M"),
        callback=host_callback,
    )
    return StandinArray(x), info


def _spsolve_triangular(
    A, b, lower=True, overwrite_A=False, overwrite_b=False, unit_diagonal=False
):
    """``cupyx.scipy.sparse.linalg.spsolve_triangular``: device matrix and vectors only."""
    if not isinstance(A, StandinSparse):
        raise TypeError("A must be cupyx.scipy.sparse.spmatrix")
    if not isinstance(b, StandinArray):
        raise TypeError("b must be cupy.ndarray")
    return StandinArray(
        scipy.sparse.linalg.spsolve_triangular(
            A._m.tocsr(), b._a, lower=lower, unit_diagonal=unit_diagonal
        )
    )


def _partial_cholesky(block):
    """LAPACK's potrf on a matrix that is not positive definite: columns before the first
    pivot that is not positive are factored, that pivot stays in place, the rest is A's."""
    L = np.tril(block).astype(np.result_type(block.dtype, np.float32))
    for j in range(L.shape[0]):
        pivot = L[j, j] - L[j, :j] @ L[j, :j]
        if not pivot > 0:
            L[j, j] = pivot
            break
        L[j, j] = np.sqrt(pivot)
        L[j + 1 :, j] = (L[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


def _cholesky(a):
    """``cupy.linalg.cholesky``: outside ``cupyx.errstate(linalg="raise")`` CuPy does not
    raise on a matrix that is not positive definite; it returns the partial factor."""
    if not isinstance(a, StandinArray):
        raise TypeError(f"Unsupported type {type(a)}")
    stack = a._a.reshape((-1,) + a._a.shape[-2:])
    blocks = []
    for block in stack:
        try:
            blocks.append(np.linalg.cholesky(block))
        except np.linalg.LinAlgError:
            blocks.append(_partial_cholesky(block))
    return StandinArray(
        np.stack(blocks).reshape(a._a.shape) if blocks else np.linalg.cholesky(a._a)
    )


#: The array namespace (``cupy``): exactly CuPy's names, NumPy underneath.
namespace = _module(
    "cupy",
    CUPY - {"linalg", "random", "fft", "testing", "polynomial"},
    np,
    {"ndarray": StandinArray, "asnumpy": asnumpy, "get_array_module": _get_array_module},
)
namespace.linalg = _module("cupy.linalg", CUPY_LINALG, np.linalg, {"cholesky": _cholesky})
namespace.random = _random_module()
namespace.fft = _module("cupy.fft", [n for n in dir(np.fft) if not n.startswith("_")], np.fft)

#: The SciPy namespace (``cupyx.scipy``), shaped as :func:`refimpl.backend.scipy_namespace`.
scipy_namespace = types.SimpleNamespace(
    linalg=_module("cupyx.scipy.linalg", CUPYX_SCIPY_LINALG, scipy.linalg),
    sparse=_module(
        "cupyx.scipy.sparse",
        CUPYX_SCIPY_SPARSE,
        scipy.sparse,
        {kind: _sparse_constructor(kind) for kind in _SPARSE_KINDS}
        | {"issparse": lambda x: isinstance(x, StandinSparse)},
    ),
    sparse_linalg=_module(
        "cupyx.scipy.sparse.linalg",
        CUPYX_SCIPY_SPARSE_LINALG,
        types.SimpleNamespace(),
        {
            "LinearOperator": _LinearOperator,
            "cg": _cg,
            "spsolve_triangular": _spsolve_triangular,
        },
    ),
    special=_module("cupyx.scipy.special", CUPYX_SCIPY_SPECIAL, scipy.special),
)


def _is_standin(x) -> bool:
    return isinstance(x, StandinArray | StandinSparse)


def register() -> None:
    """Register the stand-in with :mod:`refimpl.backend` (idempotent)."""
    backend.register_backend(
        NAME,
        is_array=_is_standin,
        load_namespace=lambda: namespace,
        load_scipy_namespace=lambda: scipy_namespace,
        to_host=asnumpy,
        label="stand-in",
    )


register()
