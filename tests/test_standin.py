"""The strict CuPy stand-in (``tests/standin``) is as strict as CuPy, and registered.

The device tests of every subpackage trust the stand-in to fail where CuPy would: these
tests check that it refuses implicit host conversion, dispatches NumPy calls to its own
namespace, refuses NumPy arrays mixed into device calls, and holds only CuPy's names.
"""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as scipy_sparse
import scipy.special
import standin
from standin import StandinArray, cupy_names
from standin import namespace as sp

from refimpl import backend


def test_implicit_conversion_to_numpy_is_refused():
    a = sp.asarray(np.arange(3.0))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        scipy.linalg.cholesky(sp.eye(2))  # SciPy converts its inputs: refused
    with pytest.raises(TypeError, match="cupy has no ufunc 'kv'"):
        scipy.special.kv(1.5, a)  # a SciPy ufunc CuPy lacks: refused
    assert type(scipy.special.erf(a)) is StandinArray  # one cupyx.scipy.special has


def test_numpy_arrays_mixed_into_device_calls_are_refused():
    a = sp.ones(3)
    for call in (
        lambda: a + np.ones(3),
        lambda: np.ones(3) * a,
        lambda: sp.dot(a, np.ones(3)),
        lambda: np.concatenate([a, np.ones(3)]),
    ):
        with pytest.raises(TypeError, match="Unsupported type"):
            call()
    assert type(a + np.float64(1.0)) is StandinArray  # NumPy scalars are fine, as in CuPy


def test_scalars_truth_values_iteration_and_indexing_work():
    a = sp.asarray(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert float(a[0, 1]) == 2.0 and int(a[1, 0]) == 3 and bool(a[0, 0])
    assert len(a) == 2 and a.shape == (2, 2) and a.dtype == np.float64
    rows = list(a)
    assert all(type(r) is StandinArray for r in rows) and float(rows[1][1]) == 4.0
    a[0, 0] = 5.0
    assert a.get()[0, 0] == 5.0
    assert range(3)[sp.asarray(1)] == 1  # __index__ on a 0-d integer array


def test_numpy_functions_dispatch_to_the_standin_and_stay_on_the_device():
    a = sp.asarray(np.array([[2.0, 1.0], [1.0, 3.0]]))
    for out in (
        np.sum(a),
        np.linalg.norm(a),
        np.linalg.cholesky(a),
        np.exp(a),
        a @ a,
        np.maximum(a, 0.0),
        a.sum(axis=0),
        a.T,
    ):
        assert type(out) is StandinArray
    assert np.sum(a).ndim == 0  # reductions give 0-d device arrays, as in CuPy
    np.testing.assert_array_equal(np.linalg.cholesky(a).get(), np.linalg.cholesky(a.get()))
    b = a.copy()
    b += 1.0
    assert type(b) is StandinArray and b.get()[0, 0] == 3.0
    np.add.at(b, sp.asarray([0, 0]), 1.0)
    assert b.get()[0, 0] == 5.0


def test_explicit_transfers():
    host = np.arange(4.0)
    a = sp.asarray(host)
    assert type(a) is StandinArray
    assert isinstance(a.get(), np.ndarray) and isinstance(sp.asnumpy(a), np.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(a), host)
    assert a.get() is not a.get()  # a copy each time, as from a device


def test_only_cupy_names_exist():
    """The namespaces hold CuPy's names, no more: NumPy-only names raise AttributeError."""
    assert standin.CUPY_VERSION == cupy_names.CUPY_VERSION
    public = {n for n in vars(sp) if not n.startswith("_")} - {"linalg", "random", "fft"}
    assert public == set(cupy_names.CUPY) - {"linalg", "random", "fft", "testing", "polynomial"}
    for numpy_only in ("errstate", "seterr", "geomspace", "insert", "vecdot"):
        assert hasattr(np, numpy_only) and not hasattr(sp, numpy_only)
    assert not hasattr(standin.scipy_namespace.linalg, "cho_factor")  # not in cupyx
    assert hasattr(standin.scipy_namespace.linalg, "solve_triangular")
    assert not hasattr(sp.random.default_rng(0), "normal")  # not a cupy Generator method
    with pytest.raises(AttributeError, match="no attribute 'tostring'"):
        sp.ones(2).tostring  # noqa: B018
    with pytest.raises(NotImplementedError, match="cupyx.scipy.sparse.linalg.splu"):
        standin.scipy_namespace.sparse_linalg.splu(sp.eye(2))
    with pytest.raises(TypeError, match="cupy has no numpy.geomspace"):
        np.geomspace(sp.asarray(1.0), 2.0)  # NumPy's function dispatched, CuPy lacks it


def test_registered_beside_cupy():
    a = sp.ones(2)
    assert backend.registered_backends()[:2] == ("numpy", "cupy")
    assert "standin" in backend.registered_backends()
    assert backend.is_device_array(a) and not backend.is_cupy_array(a)
    assert not backend.is_foreign_array(a)
    assert backend.array_namespace(a) is sp
    assert backend.scipy_namespace(a) is standin.scipy_namespace
    assert type(backend.asarray([1.0, 2.0], like=a)) is StandinArray
    with pytest.raises(ValueError, match=r"NumPy arrays at positions \[0\].*stand-in arrays"):
        backend.array_namespace(np.ones(2), a)


def test_standin_as_the_default_creates_device_arrays():
    try:
        backend.set_default("standin")
        assert backend.default_namespace() is sp
        assert type(backend.asarray([1.0])) is StandinArray
    finally:
        backend.set_default("numpy")


def test_sparse_matrices_and_solvers_are_device_only():
    """cupyx builds (data, indices, indptr) from device arrays; its triangular solve and CG
    take device matrices and vectors, and CG's operator must return device vectors."""
    xsp = standin.scipy_namespace
    data, indices, indptr = np.array([2.0, 1.0, 4.0]), np.array([0, 1, 1]), np.array([0, 2, 3])
    with pytest.raises(ValueError, match="must be 1-D cupy arrays"):
        xsp.sparse.csc_matrix((data, indices, indptr), shape=(2, 2))
    L = xsp.sparse.csc_matrix((sp.asarray(data), sp.asarray(indices), sp.asarray(indptr)))
    b = sp.asarray(np.array([2.0, 9.0]))
    x = xsp.sparse_linalg.spsolve_triangular(L.tocsr(), b, lower=True)
    assert type(x) is StandinArray and x.get().tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="b must be cupy.ndarray"):
        xsp.sparse_linalg.spsolve_triangular(L.tocsr(), b.get())
    with pytest.raises(TypeError, match="A must be cupyx"):
        xsp.sparse_linalg.spsolve_triangular(L.get().tocsr(), b)
    A = xsp.sparse_linalg.LinearOperator((2, 2), matvec=lambda v: 3.0 * v, dtype=float)
    steps = []
    y, info = xsp.sparse_linalg.cg(A, b, rtol=1e-12, callback=steps.append)
    assert info == 0 and type(y) is StandinArray and all(type(s) is StandinArray for s in steps)
    np.testing.assert_allclose(y.get(), [2.0 / 3.0, 3.0], rtol=1e-12)
    host = xsp.sparse_linalg.LinearOperator((2, 2), matvec=lambda v: 3.0 * v.get())
    with pytest.raises(TypeError, match="matvec returned"):
        xsp.sparse_linalg.cg(host, b)
    with pytest.raises(TypeError, match="b and x0 must be cupy.ndarray"):
        xsp.sparse_linalg.cg(A, b.get())


def test_to_device_moves_to_the_backend_of_like():
    """Host to device (arrays and SciPy sparse matrices, format kept), device to host where
    ``like`` is a NumPy array or SciPy matrix, unchanged where it is None or already there."""
    host, device = np.arange(3.0), sp.asarray(np.arange(3.0))
    moved = backend.to_device(host, like=sp.ones(1))
    assert type(moved) is StandinArray and moved.get().tolist() == host.tolist()
    back = backend.to_device(device, like=np.ones(1))
    assert type(back) is np.ndarray and back.tolist() == host.tolist()
    assert backend.to_device(device, like=sp.ones(1)) is device
    assert backend.to_device(host, like=np.ones(1)) is host
    assert backend.to_device(device, like=None) is device
    matrix = scipy_sparse.csc_matrix(np.eye(2))
    on_device = backend.to_device(matrix, like=sp.ones(1))
    assert backend.is_device_array(on_device) and on_device.format == "csc"
    returned = backend.to_device(on_device, like=matrix)
    assert scipy_sparse.issparse(returned) and (returned != matrix).nnz == 0
