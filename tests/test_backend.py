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
