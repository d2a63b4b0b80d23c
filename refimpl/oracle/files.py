"""The oracle's file layout: plain ``.npz`` arrays and one JSON manifest per case.

::

    DIR/
      <subpackage>/<case>/            e.g. vecchia/kl_factor_rho3/
        inputs.npz                    every input array (numbers as 0-d arrays)
        outputs.npz                   every reference output
        manifest.json                 function, conventions, shapes, dtypes, tolerances

A candidate writes ``CANDIDATE/<subpackage>/<case>/outputs.npz`` with the same
output names. Sparse matrices (the Vecchia factors) are stored as CSC triplets:
``NAME.indptr``, ``NAME.indices``, ``NAME.data`` and ``NAME.shape`` (rows in
ascending order within each column is *not* required of a candidate: factors
are compared as matrices). No pickles: ``numpy.load(..., allow_pickle=False)``
reads everything, and so do ``cnpy`` (C++), ``NPZ.jl`` (Julia) and
``jax.numpy.load``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse

__all__ = ["write_arrays", "read_arrays", "write_manifest", "read_manifest", "case_directory"]

SPARSE_PARTS = ("indptr", "indices", "data", "shape")


def case_directory(root, case_name: str) -> Path:
    """``root/<subpackage>/<case>`` for a case called ``"<subpackage>.<case>"``."""
    subpackage, short = case_name.split(".", 1)
    return Path(root) / subpackage / short


def _flatten(arrays: dict) -> dict:
    flat = {}
    for name, value in arrays.items():
        if scipy.sparse.issparse(value):
            csc = scipy.sparse.csc_matrix(value)
            csc.sort_indices()
            flat[f"{name}.indptr"] = csc.indptr.astype(np.int64)
            flat[f"{name}.indices"] = csc.indices.astype(np.int64)
            flat[f"{name}.data"] = csc.data
            flat[f"{name}.shape"] = np.asarray(csc.shape, dtype=np.int64)
        else:
            flat[name] = np.asarray(value)
    return flat


def write_arrays(path, arrays: dict) -> None:
    """Write ``arrays`` (NumPy arrays, numbers, SciPy sparse matrices) to ``path`` (.npz).

    Parameters
    ----------
    path : str or Path
        The file to write.
    arrays : dict
        Name -> array, number or SciPy sparse matrix.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_arrays(os.path.join(tmp, "a.npz"), {"x": np.arange(3)})
    ...     read_arrays(os.path.join(tmp, "a.npz"))["x"]
    array([0, 1, 2])
    """
    if not isinstance(path, str | Path):
        raise ValueError(f"path: expected a file path, received {path!r}")
    if not isinstance(arrays, dict) or not all(isinstance(k, str) for k in arrays):
        raise ValueError(f"arrays: expected a dict with string keys, received {arrays!r}")
    flat = _flatten(arrays)
    for name, value in flat.items():
        if value.dtype == object:
            raise ValueError(f"arrays: {name!r} is not an array of numbers (no pickles)")
    np.savez(Path(path), **flat)


def read_arrays(path) -> dict:
    """Read an ``.npz`` written by :func:`write_arrays`; CSC triplets become sparse matrices.

    Parameters
    ----------
    path : str or Path
        The file to read.

    Returns
    -------
    dict
        Name -> array (``NAME.indptr``/``indices``/``data``/``shape`` as one CSC matrix).

    Examples
    --------
    >>> import tempfile, os, scipy.sparse
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_arrays(os.path.join(tmp, "a.npz"), {"L": scipy.sparse.eye(2, format="csc")})
    ...     read_arrays(os.path.join(tmp, "a.npz"))["L"].toarray()
    array([[1., 0.],
           [0., 1.]])
    """
    if not isinstance(path, str | Path):
        raise ValueError(f"path: expected a file path, received {path!r}")
    if not Path(path).is_file():
        raise ValueError(f"path: expected an existing .npz file, received {str(path)!r}")
    with np.load(Path(path), allow_pickle=False) as data:
        flat = {key: data[key] for key in data.files}
    arrays = {}
    sparse_names = {key.rsplit(".", 1)[0] for key in flat if key.endswith(".indptr")}
    for name in sparse_names:
        parts = [f"{name}.{p}" for p in SPARSE_PARTS]
        if all(p in flat for p in parts):
            indptr, indices, data_, shape = (flat.pop(p) for p in parts)
            arrays[name] = scipy.sparse.csc_matrix(
                (data_, indices, indptr), shape=tuple(int(s) for s in shape)
            )
    arrays.update(flat)
    return arrays


def describe(value) -> dict:
    """Shape, dtype and storage kind of one array, for the manifest."""
    if scipy.sparse.issparse(value):
        return {
            "kind": "csc",
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "nnz": int(value.nnz),
        }
    arr = np.asarray(value)
    return {"kind": "dense", "shape": list(arr.shape), "dtype": str(arr.dtype)}


def write_manifest(path, manifest: dict) -> None:
    """Write ``manifest`` as indented JSON with sorted keys."""
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def read_manifest(path) -> dict:
    """Read a manifest written by :func:`write_manifest`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
