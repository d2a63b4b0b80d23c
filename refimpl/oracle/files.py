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
import zipfile
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse

from refimpl.backend import refuse_foreign_array

__all__ = [
    "write_arrays",
    "read_arrays",
    "load_arrays",
    "write_manifest",
    "read_manifest",
    "case_directory",
]

SPARSE_PARTS = ("indptr", "indices", "data", "shape")


def case_directory(root, case_name: str) -> Path:
    """``root/<subpackage>/<case>`` for a case called ``"<subpackage>.<case>"``."""
    subpackage, short = case_name.split(".", 1)
    return Path(root) / subpackage / short


#: Characters and names a member of an archive may not have: the names become file
#: names inside the zip, and ``a/b`` or ``..`` would not read back as written.
_FORBIDDEN_IN_NAMES = ("/", "\\", "\x00")


def _check_member_name(name) -> None:
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise ValueError(f"arrays: expected non-empty string names, received the name {name!r}")
    if any(c in name for c in _FORBIDDEN_IN_NAMES) or ".." in name:
        raise ValueError(
            f"arrays: the name {name!r} holds '/', '\\', '..' or NUL, which cannot be an "
            "archive member's name; rename it"
        )


def _flatten(arrays: dict) -> dict:
    flat = {}
    for name, value in arrays.items():
        _check_member_name(name)
        if "." in name and name.rsplit(".", 1)[1] in SPARSE_PARTS:
            # Reading takes NAME.indptr, NAME.indices, ... as the parts of a sparse matrix.
            raise ValueError(
                f"arrays: the name {name!r} ends in one of {['.' + p for p in SPARSE_PARTS]}, "
                "which the file layout keeps for the parts of sparse matrices; rename it"
            )
        if scipy.sparse.issparse(value):
            csc = scipy.sparse.csc_matrix(value)
            csc.sort_indices()
            flat[f"{name}.indptr"] = csc.indptr.astype(np.int64)
            flat[f"{name}.indices"] = csc.indices.astype(np.int64)
            flat[f"{name}.data"] = csc.data
            flat[f"{name}.shape"] = np.asarray(csc.shape, dtype=np.int64)
            continue
        refuse_foreign_array(f"arrays[{name!r}]", value)
        array = np.asarray(value)
        if array.dtype.kind in "OV":
            raise ValueError(
                f"arrays: {name!r} is not an array of numbers or strings (dtype "
                f"{array.dtype}); the files hold no pickles"
            )
        flat[name] = array
    return flat


def _file_path(name: str, path, writing: bool) -> Path:
    if not isinstance(path, str | Path) or not str(path):
        raise ValueError(f"{name}: expected a file path, received {path!r}")
    path = Path(path)
    if writing:
        if path.is_dir():
            raise ValueError(f"{name}: {str(path)!r} is a folder, expected a file path")
        if not path.parent.is_dir():
            raise ValueError(f"{name}: the folder of {str(path)!r} does not exist")
    elif not path.is_file():
        raise ValueError(f"{name}: expected an existing .npz file, received {str(path)!r}")
    return path


def write_arrays(path, arrays: dict) -> None:
    """Write ``arrays`` (NumPy arrays, numbers, SciPy sparse matrices) to ``path`` (.npz).

    The file is written under exactly the name given (NumPy's ``savez`` would append
    ``.npz`` to a name without it). Member names must be non-empty, free of ``/``,
    ``\\``, ``..`` and NUL, and a dense array's name may not end in ``.indptr``,
    ``.indices``, ``.data`` or ``.shape`` (the parts of a sparse matrix), so that
    :func:`read_arrays` gives back exactly what was written.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder must exist; an existing file is replaced).
    arrays : dict
        Name -> array, number or SciPy sparse matrix.

    Raises
    ------
    ValueError
        Naming ``path`` (a folder, or a missing parent folder) or ``arrays`` (a bad
        name, a clash with a sparse matrix's parts, values that are not numbers).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_arrays(os.path.join(tmp, "a.npz"), {"x": np.arange(3)})
    ...     read_arrays(os.path.join(tmp, "a.npz"))["x"]
    array([0, 1, 2])
    """
    path = _file_path("path", path, writing=True)
    if not isinstance(arrays, dict):
        raise ValueError(f"arrays: expected a dict of arrays, received {type(arrays).__name__}")
    flat = _flatten(arrays)
    with open(path, "wb") as handle:  # a handle, so that no suffix is appended
        np.savez(handle, **flat)


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

    Raises
    ------
    ValueError
        Naming ``path`` and the file when it is missing, is not a zip archive of
        ``.npy`` members (an ``.npy`` file, an empty or truncated file), holds
        object arrays (pickles), or holds sparse parts that do not make a matrix.

    Examples
    --------
    >>> import tempfile, os, scipy.sparse
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_arrays(os.path.join(tmp, "a.npz"), {"L": scipy.sparse.eye(2, format="csc")})
    ...     read_arrays(os.path.join(tmp, "a.npz"))["L"].toarray()
    array([[1., 0.],
           [0., 1.]])
    """
    path = _file_path("path", path, writing=False)
    try:
        return load_arrays(path)
    except ValueError as exc:
        raise ValueError(f"path: {exc}") from exc


def load_arrays(path: Path) -> dict:
    """:func:`read_arrays` of an existing file, with errors that name the file only."""
    where = f"{str(path)!r}"
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds one .npy array, not an .npz archive")
        with data:
            flat = {key: data[key] for key in data.files}
        for key, value in flat.items():  # NumPy hands back raw bytes for a non-.npy member
            if not isinstance(value, np.ndarray):
                raise ValueError(f"the member {key!r} is not an .npy array")
    except ValueError as exc:  # object arrays (pickles), .npy files, bytes that are no zip
        raise ValueError(f"{where} is not a readable .npz archive of numbers: {exc}") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise ValueError(f"{where} is not a readable .npz archive: {exc!r}") from exc
    arrays = {}
    sparse_names = {key.rsplit(".", 1)[0] for key in flat if key.endswith(".indptr")}
    for name in sorted(sparse_names):
        parts = [f"{name}.{p}" for p in SPARSE_PARTS]
        if all(p in flat for p in parts):
            indptr, indices, data_, shape = (flat.pop(p) for p in parts)
            try:
                arrays[name] = scipy.sparse.csc_matrix(
                    (data_, indices, indptr), shape=tuple(int(s) for s in shape)
                )
                arrays[name].check_format(full_check=True)
            except (ValueError, TypeError, IndexError) as exc:
                raise ValueError(
                    f"{where}: the parts of {name!r} are no CSC matrix: {exc}"
                ) from exc
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


#: The fields every manifest has, with their JSON types.
MANIFEST_FIELDS = {"schema_version": int, "case": str, "outputs": dict}


def read_manifest(path) -> dict:
    """Read a manifest written by :func:`write_manifest`; ValueError naming the file if it cannot.

    The manifest must be a JSON object with ``schema_version`` (an integer), ``case``
    (a string) and ``outputs`` (an object with one object per output).
    """
    where = f"{str(path)!r}"
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"manifest {where} cannot be read as JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        kind = type(manifest).__name__
        raise ValueError(f"manifest {where}: expected a JSON object, received a {kind}")
    for field, kind in MANIFEST_FIELDS.items():
        value = manifest.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(
                f"manifest {where}: expected the field {field!r} as a {kind.__name__}, "
                f"received {value!r}"
            )
    for output, entry in manifest["outputs"].items():
        if not isinstance(entry, dict):
            raise ValueError(f"manifest {where}: output {output!r} is not an object: {entry!r}")
    return manifest
