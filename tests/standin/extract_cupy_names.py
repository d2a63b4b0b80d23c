"""Regenerate ``cupy_names.py`` from a CuPy wheel, statically (no CUDA, no import).

Usage::

    pip download --no-deps cupy-cuda12x -d /tmp/cupy
    cd tests/standin
    python extract_cupy_names.py /tmp/cupy/cupy_cuda12x-*.whl > cupy_names.py

Every public name a module's ``__init__.py`` binds at the top level (imports, ``def``,
``class`` and assignments, in every branch of ``if``/``try``) is listed; a module's
``__getattr__`` is read by hand (``cupy.random.Generator``). The methods of the compiled
classes (``ndarray``, ``ufunc``, ``random.Generator``) are read from the qualified names
Cython leaves in the extension modules (``_ndarray_base.sum``).
"""

import ast
import re
import sys
import zipfile

MODULES = {
    "CUPY": "cupy/__init__.py",
    "CUPY_LINALG": "cupy/linalg/__init__.py",
    "CUPY_RANDOM": "cupy/random/__init__.py",
    "CUPYX_SCIPY_LINALG": "cupyx/scipy/linalg/__init__.py",
    "CUPYX_SCIPY_SPARSE": "cupyx/scipy/sparse/__init__.py",
    "CUPYX_SCIPY_SPARSE_LINALG": "cupyx/scipy/sparse/linalg/__init__.py",
    "CUPYX_SCIPY_SPECIAL": "cupyx/scipy/special/__init__.py",
}
LAZY = {"CUPY_RANDOM": {"Generator"}}  # bound by the module's __getattr__
COMPILED = {
    "NDARRAY_METHODS": ("cupy/_core/core.cpython-311-x86_64-linux-gnu.so", b"_ndarray_base"),
    "UFUNC_METHODS": ("cupy/_core/_kernel.cpython-311-x86_64-linux-gnu.so", b"ufunc"),
    "GENERATOR_METHODS": (
        "cupy/random/_generator_api.cpython-311-x86_64-linux-gnu.so",
        b"Generator",
    ),
}


def compiled_methods(binary: bytes, cls: bytes) -> set[str]:
    found = re.findall(rb"(?<![A-Za-z_])" + cls + rb"\.([A-Za-z_]+)", binary)
    return {n.decode() for n in found if not n.startswith(b"_")}


def bound_names(source: str) -> set[str]:
    names: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    names.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.If | ast.Try):
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(node, part, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(source).body)
    return {n for n in names if not n.startswith("_") and n != "annotations"}


def main(wheel: str) -> None:
    version = re.search(r"cupy_cuda\w+-([\d.]+)-", wheel).group(1)
    with zipfile.ZipFile(wheel) as archive:
        print('"""Public names of CuPy ' + version + ", read statically from the wheel's")
        print("``__init__.py`` files by ``extract_cupy_names.py`` (generated; do not edit).")
        print('"""\n')
        print(f'CUPY_VERSION = "{version}"\n')
        for constant, path in MODULES.items():
            names = bound_names(archive.read(path).decode()) | LAZY.get(constant, set())
            print(f"#: ``{path}``")
            print(f"{constant} = frozenset(")
            print("    " + repr(sorted(names)))
            print(")\n")
        for constant, (path, cls) in COMPILED.items():
            print(f"#: ``{cls.decode()}`` methods, from ``{path.split('.')[0]}``")
            print(f"{constant} = frozenset(")
            print("    " + repr(sorted(compiled_methods(archive.read(path), cls))))
            print(")\n")


if __name__ == "__main__":
    main(sys.argv[1])
