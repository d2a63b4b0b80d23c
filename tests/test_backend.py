"""The array backend: namespaces follow the inputs, defaults, errors."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse

from refimpl import backend


def test_numpy_inputs_give_numpy_and_scipy():
    a = np.ones(3)
    assert backend.array_namespace(a, 2.0, None, [1, 2]) is np
    sp = backend.scipy_namespace(a)
    assert sp.linalg.__name__ == "scipy.linalg"
    assert sp.sparse.__name__ == "scipy.sparse"
    assert sp.sparse_linalg.__name__ == "scipy.sparse.linalg"
    assert sp.special.__name__ == "scipy.special"


def test_scipy_sparse_counts_as_numpy():
    assert backend.array_namespace(scipy.sparse.eye(3, format="csc")) is np


def test_no_arrays_give_the_default():
    assert backend.array_namespace(1.0, None) is backend.default_namespace()


def test_mixing_numpy_and_cupy_raises_naming_positions():
    class FakeCupyArray:  # recognised by module name, like the real one
        pass

    FakeCupyArray.__module__ = "cupy._core.core"
    with pytest.raises(
        ValueError, match=r"NumPy arrays at positions \[0\].*CuPy arrays at positions \[1\]"
    ):
        backend.array_namespace(np.ones(2), FakeCupyArray())


def test_unknown_backend_name_raises():
    with pytest.raises(ValueError, match="name: expected one of"):
        backend.set_default("torch")


def test_to_numpy_roundtrip_and_asarray():
    x = np.arange(4.0)
    assert backend.to_numpy(x) is x
    np.testing.assert_array_equal(backend.to_numpy([1, 2]), np.array([1, 2]))
    y = backend.asarray([1.0, 2.0], like=x)
    assert isinstance(y, np.ndarray) and y.tolist() == [1.0, 2.0]


def test_default_path_never_imports_cupy():
    code = (
        "import sys, numpy as np; from refimpl import backend, validation; "
        "backend.array_namespace(np.ones(2)); backend.get_default(); "
        "validation.check_finite('x', np.ones(2)); "
        "print('cupy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_requesting_cupy_without_gpu_says_why(monkeypatch):
    monkeypatch.setattr(backend, "gpu_available", lambda: (False, "CuPy is not importable (test)"))
    with pytest.raises(
        backend.BackendUnavailableError, match="'cupy' backend was requested.*not importable"
    ):
        backend.set_default("cupy")
    assert backend.get_default() == "numpy"


def test_environment_variable_selects_default():
    code = "from refimpl import backend; print(backend.get_default())"
    env = dict(os.environ, REFIMPL_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "numpy"
    env["REFIMPL_BACKEND"] = "jax"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "name: expected one of" in out.stderr


def test_namespace_follows_xp_fixture(xp):
    a = xp.linspace(0.0, 1.0, 5)
    assert backend.array_namespace(a) is xp
    np.testing.assert_allclose(backend.to_numpy(xp.cumsum(a)), np.cumsum(np.linspace(0, 1, 5)))


@pytest.mark.gpu
def test_cupy_inputs_give_cupy_and_cupyx():
    import cupy

    a = cupy.ones(3)
    assert backend.array_namespace(a) is cupy
    assert backend.scipy_namespace(a).linalg.__name__ == "cupyx.scipy.linalg"
    assert isinstance(backend.to_numpy(a), np.ndarray)
    with pytest.raises(ValueError, match="CuPy arrays at positions"):
        backend.array_namespace(a, np.ones(3))


class _Foreign:
    """An array of another library: speaks ``__array__``, so NumPy would convert it."""

    def __array__(self, dtype=None, copy=None):
        return np.zeros(2)


def test_refuse_foreign_array_names_argument_type_and_advice():
    assert backend.refuse_foreign_array("x", [1.0]) == [1.0]
    a = np.ones(2)
    assert backend.refuse_foreign_array("x", a) is a
    assert backend.refuse_foreign_array("x", scipy.sparse.eye(2)) is not None
    with pytest.raises(ValueError, match=r"^theta: .* received .*_Foreign; do this$"):
        backend.refuse_foreign_array("theta", _Foreign(), advice="do this")


class _Interface:
    """Speaks only ``__array_interface__`` (an instance attribute, as NumPy reads it)."""

    def __init__(self, data):
        self._data = data
        self.__array_interface__ = data.__array_interface__


class _Struct:
    """Speaks only ``__array_struct__`` (the C-level interface)."""

    def __init__(self, data):
        self._data = data
        self.__array_struct__ = data.__array_struct__


class _DLPack:
    """Speaks only DLPack (``__dlpack__`` and ``__dlpack_device__``), like a JAX array."""

    def __init__(self, data):
        self._data = data

    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()


class _CudaInterface:
    """Speaks only ``__cuda_array_interface__``, like a Numba or PyTorch CUDA array."""

    __module__ = "numba.cuda"

    def __init__(self):
        self.__cuda_array_interface__ = {"shape": (2,), "typestr": "<f8", "version": 3}


class _Namespace:
    """Speaks only ``__array_namespace__``, like ``array_api_strict`` arrays."""

    def __array_namespace__(self, api_version=None):
        return np


PROTOCOL_OBJECTS = {
    "__array__": lambda: _Foreign(),
    "__array_interface__": lambda: _Interface(np.arange(2.0)),
    "__array_struct__": lambda: _Struct(np.arange(2.0)),
    "__dlpack__": lambda: _DLPack(np.arange(2.0)),
    "__cuda_array_interface__": lambda: _CudaInterface(),
    "__array_namespace__": lambda: _Namespace(),
}


def test_every_array_protocol_has_a_stand_in():
    assert set(PROTOCOL_OBJECTS) == set(backend.ARRAY_PROTOCOLS)


@pytest.mark.parametrize("protocol", sorted(PROTOCOL_OBJECTS))
def test_an_array_speaking_any_one_protocol_is_refused_by_name(protocol):
    from refimpl import validation, vecchia

    obj = PROTOCOL_OBJECTS[protocol]()
    assert backend.is_foreign_array(obj)
    with pytest.raises(ValueError, match=r"^x: expected a NumPy or CuPy array"):
        validation.as_float_array("x", obj)
    with pytest.raises(ValueError, match=r"points"):
        vecchia.maximin_ordering(obj)
    # Inside a list, too: NumPy would convert a list of such arrays element by element.
    with pytest.raises(ValueError, match=r"^x: expected a NumPy or CuPy array"):
        validation.as_float_array("x", [obj, obj])


def test_numpy_would_convert_the_host_protocols_silently():
    # The reason for refusing: without it these would become NumPy arrays unnoticed.
    for protocol in ("__array__", "__array_interface__", "__array_struct__"):
        assert np.asarray(PROTOCOL_OBJECTS[protocol]()).shape == (2,)
    assert np.from_dlpack(PROTOCOL_OBJECTS["__dlpack__"]()).shape == (2,)


def test_numpy_cupy_sparse_lists_and_scalars_are_not_foreign():
    class FakeCupy:  # a registered device backend is recognised by its module
        __module__ = "cupy._core.core"
        __cuda_array_interface__ = {}

    for x in (
        np.ones(2),
        np.float64(1.0),
        scipy.sparse.eye(2),
        [1.0, 2.0],
        [[1.0]],
        3.0,
        (np.ones(2), np.ones(2)),
        FakeCupy(),
    ):
        assert not backend.is_foreign_array(x)


def test_every_foreign_array_refusal_names_its_argument():
    cases = [
        (lambda: backend.array_namespace(np.ones(2), _Foreign()), r"^arrays\[1\]: "),
        (lambda: backend.asarray(_Foreign()), r"^x: .*numpy\.asarray first$"),
        (lambda: backend.to_numpy(_Foreign()), r"^x: .*that library's own function$"),
        (lambda: backend.asarray([1.0], like=_Foreign()), r"^like: arrays\[0\]: "),
    ]
    for call, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            call()


class _Double:
    """A device array of a test double, recognised by a predicate."""


def _register_double(name="double", **kwargs):
    backend.register_backend(
        name,
        is_array=lambda x: isinstance(x, _Double),
        load_namespace=lambda: np,
        load_scipy_namespace=lambda: "double scipy",
        to_host=lambda x: np.arange(2.0),
        **kwargs,
    )


def test_registry_recognises_a_registered_device_backend_and_forgets_it():
    assert backend.registered_backends()[:2] == ("numpy", "cupy")
    _register_double(label="Double")
    try:
        x = _Double()
        assert backend.is_device_array(x) and not backend.is_foreign_array(x)
        assert backend.scipy_namespace(x) == "double scipy"
        np.testing.assert_array_equal(backend.to_numpy(x), [0.0, 1.0])
        with pytest.raises(
            ValueError, match=r"Double arrays at positions \[0\].*NumPy arrays at positions \[1\]"
        ):
            backend.array_namespace(x, np.ones(2))
        backend.set_default("double")
        assert backend.get_default() == "double"
    finally:
        backend.unregister_backend("double")
    assert backend.get_default() == "numpy"  # the default falls back with its backend
    assert "double" not in backend.registered_backends()
    assert not backend.is_device_array(_Double())


def test_two_device_backends_in_one_call_raise_naming_both():
    class FakeCupyArray:
        pass

    FakeCupyArray.__module__ = "cupy._core.core"
    _register_double()
    try:
        with pytest.raises(ValueError, match=r"CuPy arrays at positions \[0\].*double arrays"):
            backend.array_namespace(FakeCupyArray(), _Double())
    finally:
        backend.unregister_backend("double")


def test_register_backend_refuses_ambiguous_or_bad_registrations():
    with pytest.raises(ValueError, match="^name: "):
        _register_double("numpy")
    with pytest.raises(ValueError, match="^module_prefixes: give either"):
        backend.register_backend(
            "double",
            module_prefixes=("double",),
            is_array=lambda x: False,
            load_namespace=lambda: np,
            load_scipy_namespace=lambda: None,
            to_host=np.asarray,
        )
    with pytest.raises(ValueError, match="^to_host: expected a callable"):
        backend.register_backend(
            "double",
            module_prefixes=("double",),
            load_namespace=lambda: np,
            load_scipy_namespace=lambda: None,
            to_host="get",
        )
    with pytest.raises(ValueError, match="^name: expected one of"):
        backend.unregister_backend("double")
