"""Helpers of the device tests (``tests/test_device_*.py``), which take the ``xp`` fixture."""

import contextlib

import numpy as np
import pytest
import scipy.sparse
import standin

from refimpl import backend


def on_backend(xp, *arrays):
    """Assert every array (or sparse matrix) is one of ``xp``'s backend."""
    for a in arrays:
        assert backend.array_namespace(a) is xp, type(a)


@contextlib.contextmanager
def default_backend(xp):
    """``xp``'s backend as the default, for the arrays made from nothing inside."""
    backend.set_default({np: "numpy", standin.namespace: "standin"}.get(xp, "cupy"))
    try:
        yield
    finally:
        backend.set_default("numpy")


def device_only(xp):
    """Skip the NumPy case of a test that compares a device route with the NumPy one."""
    if xp is np:
        pytest.skip("the NumPy route is the reference itself")


def host_dense(a):
    """A host NumPy array of an array or sparse matrix of any backend."""
    a = backend.to_numpy(a)
    return a.toarray() if scipy.sparse.issparse(a) else a
