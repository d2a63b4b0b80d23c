"""The oracle kit's file handling, as an outside implementation meets it.

Every file the kit reads or writes keeps the contract: a reference folder that cannot
be read raises ValueError naming the file; a candidate's file that cannot be read is a
failing row naming the file and why, never a traceback; names that would not read back
as written are refused on write; paths that cannot be written raise ValueError naming
the argument and the path. The corruptions below are the ones an outside sweep tried.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.sparse

from refimpl import oracle
from refimpl.oracle.files import case_directory, read_arrays, write_arrays

CASE = "inrank.explained_ratio"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    oracle.export(root, case=CASE)
    return root


def _copy(reference, tmp_path, name):
    target = tmp_path / name
    shutil.copytree(reference, target)
    return target, case_directory(target, CASE)


def _npy_named_npz(path):
    with open(path, "wb") as handle:
        np.save(handle, np.arange(3.0))


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _object_array(path):
    np.savez(open(path, "wb"), x=np.array([{"a": 1}], dtype=object))


def _not_zip(path):
    path.write_bytes(b"this is not a zip archive at all")


def _sparse_parts_that_lie(path):
    np.savez(
        open(path, "wb"),
        **{
            "L.indptr": np.array([0, 5]),
            "L.indices": np.array([0]),
            "L.data": np.array([1.0]),
            "L.shape": np.array([1, 1]),
        },
    )


FILE_CORRUPTIONS = {
    "empty": lambda path: path.write_bytes(b""),
    "npy named npz": _npy_named_npz,
    "truncated": _truncated,
    "not a zip": _not_zip,
    "object array": _object_array,
    "sparse parts that are no matrix": _sparse_parts_that_lie,
    "a folder": lambda path: (path.unlink(), path.mkdir()),
    "missing": lambda path: path.unlink(),
}

MANIFEST_CORRUPTIONS = {
    "malformed JSON": lambda text: text[: len(text) // 2],
    "a list": lambda text: "[1, 2, 3]",
    "a number": lambda text: "3",
    "no case": lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "case"}),
    "no outputs": lambda text: json.dumps(
        {k: v for k, v in json.loads(text).items() if k != "outputs"}
    ),
    "schema version a string": lambda text: json.dumps({**json.loads(text), "schema_version": "1"}),
    "an output that is no object": lambda text: json.dumps(
        {**json.loads(text), "outputs": {"lengths": 3}}
    ),
    "a tolerance without atol": lambda text: json.dumps(
        {
            **json.loads(text),
            "outputs": {
                name: {**entry, "tolerance": {"rtol": 0.0, "reason": "x"}}
                if "tolerance" in entry
                else entry
                for name, entry in json.loads(text)["outputs"].items()
            },
        }
    ),
    "a negative tolerance": lambda text: json.dumps(
        {
            **json.loads(text),
            "outputs": {
                name: {**entry, "tolerance": {"atol": -1.0, "rtol": 0.0, "reason": "x"}}
                if "tolerance" in entry
                else entry
                for name, entry in json.loads(text)["outputs"].items()
            },
        }
    ),
    "not UTF-8": lambda text: b"\xff\xfe\x00".decode("latin-1"),
}


@pytest.mark.parametrize("file", ["inputs.npz", "outputs.npz"])
@pytest.mark.parametrize("corruption", sorted(FILE_CORRUPTIONS))
def test_an_unreadable_reference_file_raises_naming_the_file(reference, tmp_path, file, corruption):
    broken, folder = _copy(reference, tmp_path, "broken")
    FILE_CORRUPTIONS[corruption](folder / file)
    with pytest.raises(ValueError, match=rf"^reference_dir: .*{file}"):
        oracle.check_directory(broken, reference)


@pytest.mark.parametrize("corruption", sorted(MANIFEST_CORRUPTIONS))
def test_an_unreadable_reference_manifest_raises_naming_the_file(reference, tmp_path, corruption):
    broken, folder = _copy(reference, tmp_path, "broken")
    path = folder / "manifest.json"
    text = MANIFEST_CORRUPTIONS[corruption](path.read_text(encoding="utf-8"))
    path.write_bytes(text.encode("latin-1") if corruption == "not UTF-8" else text.encode())
    with pytest.raises(ValueError, match=r"^reference_dir: manifest .*manifest\.json"):
        oracle.check_directory(broken, reference)


@pytest.mark.parametrize("corruption", sorted(set(FILE_CORRUPTIONS) - {"a folder", "missing"}))
def test_an_unreadable_candidate_file_is_a_failing_row_naming_the_file(
    reference, tmp_path, corruption
):
    candidate, folder = _copy(reference, tmp_path, "candidate")
    FILE_CORRUPTIONS[corruption](folder / "outputs.npz")
    report = oracle.check_directory(reference, candidate)
    assert not report.passed
    (row,) = report.rows
    assert row.case == CASE and "unreadable outputs" in row.detail
    assert str(folder / "outputs.npz") in row.detail
    assert "FAIL" in report.table()


def test_the_cli_names_a_corrupt_reference_file(reference, tmp_path):
    broken, folder = _copy(reference, tmp_path, "broken")
    _truncated(folder / "outputs.npz")
    done = subprocess.run(
        [sys.executable, "-m", "refimpl", "oracle", "check", str(broken), str(reference)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "error: DIR: " in done.stderr and "Traceback" not in done.stderr
    assert str(folder / "outputs.npz") in done.stderr


@pytest.mark.parametrize("name", ["a/b", "../x", "..", "", "x\x00y", "a\\b", "a..b.."])
def test_member_names_that_would_not_read_back_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match=r"^arrays: "):
        write_arrays(tmp_path / "a.npz", {name: np.arange(2.0)})
    assert not (tmp_path / "a.npz").exists()


@pytest.mark.parametrize("part", ["indptr", "indices", "data", "shape"])
def test_a_name_that_collides_with_a_sparse_matrix_part_is_refused(tmp_path, part):
    with pytest.raises(ValueError, match=rf"^arrays: the name 'L\.{part}'"):
        write_arrays(tmp_path / "a.npz", {"L": scipy.sparse.eye(2), f"L.{part}": np.zeros(2)})
    # Even without the matrix: four such names would read back as one sparse matrix.
    with pytest.raises(ValueError, match=r"^arrays: "):
        write_arrays(tmp_path / "b.npz", {f"M.{part}": np.zeros(2)})


def test_round_trip_is_exact_for_the_names_that_are_allowed(tmp_path):
    arrays = {
        "x": np.arange(3.0),
        "L": scipy.sparse.random(4, 3, density=0.5, random_state=0, format="csc"),
        "weird name-with.dots": np.int64(3),
        "unicode é": np.array([[1, 2]], dtype=np.int32),
    }
    write_arrays(tmp_path / "a.npz", arrays)
    back = read_arrays(tmp_path / "a.npz")
    assert set(back) == set(arrays)
    assert (back["L"] != arrays["L"]).nnz == 0
    assert np.array_equal(back["unicode é"], arrays["unicode é"])


@pytest.mark.parametrize("suffix", ["", ".bin", ".npz.tmp"])
def test_write_arrays_writes_exactly_the_name_given(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    write_arrays(path, {"x": np.arange(2.0)})
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert np.array_equal(read_arrays(path)["x"], np.arange(2.0))


def test_write_arrays_refuses_folders_missing_parents_objects_and_foreign_arrays(tmp_path):
    from contract import ForeignArray

    with pytest.raises(ValueError, match=r"^path: .* is a folder"):
        write_arrays(tmp_path, {"x": np.zeros(1)})
    with pytest.raises(ValueError, match=r"^path: the folder of .*missing.* does not exist"):
        write_arrays(tmp_path / "missing" / "a.npz", {"x": np.zeros(1)})
    with pytest.raises(ValueError, match=r"^arrays: 'x' is not an array of numbers"):
        write_arrays(tmp_path / "a.npz", {"x": np.array([None])})
    with pytest.raises(ValueError, match=r"^arrays\['x'\]: expected a NumPy or CuPy array"):
        write_arrays(tmp_path / "a.npz", {"x": ForeignArray(np.zeros(2))})


@pytest.mark.parametrize("writer", ["export", "record"])
def test_export_and_record_refuse_an_existing_file_and_a_missing_parent(tmp_path, writer):
    call = {
        "export": lambda d: oracle.export(d, case=CASE),
        "record": lambda d: oracle.record(CASE, directory=d),
    }[writer]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match=r"^directory: expected an existing folder, .*file"):
        call(a_file)
    with pytest.raises(ValueError, match=r"^directory: the parent folder of .*nope.*"):
        call(tmp_path / "nope" / "deeper")
    assert not (tmp_path / "nope").exists()
    assert call(tmp_path / "fresh")  # a missing folder in an existing one is created


def test_record_refuses_a_corrupt_digest_file(tmp_path):
    (tmp_path / "digests.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"^directory: .*digests\.json"):
        oracle.record(CASE, directory=tmp_path)


def test_tolerance_bound_refuses_non_finite_references():
    tolerance = oracle.Tolerance(1e-12, 1e-10, "rounding")
    with pytest.raises(ValueError, match=r"^reference: expected finite"):
        tolerance.bound(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"^reference: "):
        tolerance.bound("abc")


def test_a_reference_zip_member_that_is_not_npy_is_refused(reference, tmp_path):
    broken, folder = _copy(reference, tmp_path, "broken")
    with zipfile.ZipFile(folder / "inputs.npz", "w") as archive:
        archive.writestr("x.npy", b"not an npy header")
    with pytest.raises(ValueError, match=r"^reference_dir: .*inputs\.npz"):
        oracle.check_directory(broken, reference)
