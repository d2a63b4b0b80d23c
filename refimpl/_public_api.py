"""Where refimpl's public names are: the one walk shared by the contract test and the docs.

The public names are the ``__all__`` of the floor modules (``refimpl.backend``,
``refimpl.validation``, ...) and of every package below ``refimpl``, recursing into the
modules that an ``__all__`` lists. ``refimpl.__main__`` (the command line) and
``refimpl.figures`` (the figure registry) are tooling, tested on their own. Private
module (this one included) and internal modules of a package are not walked.
"""

from __future__ import annotations

import importlib
import pkgutil
import types


def public_modules() -> list[tuple[str, types.ModuleType]]:
    """The floor modules and every (sub)package below ``refimpl``, by dotted name."""
    import refimpl

    found = []
    for info in pkgutil.walk_packages(refimpl.__path__, prefix="refimpl."):
        short = info.name.removeprefix("refimpl.")
        if any(part.startswith("_") for part in short.split(".")):
            continue
        if short == "figures" or not (info.ispkg or "." not in short):
            continue
        found.append((short, importlib.import_module(info.name)))
    return found


def public_objects() -> list[tuple[object, list[str]]]:
    """Every public object once, with all the dotted names (below refimpl) it is public under."""
    names: dict[int, list[str]] = {}
    objects: dict[int, object] = {}

    def walk(module: types.ModuleType, prefix: str, seen: set) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                walk(obj, f"{prefix}.{name}", seen)
            else:
                names.setdefault(id(obj), []).append(f"{prefix}.{name}")
                objects[id(obj)] = obj

    for short, module in public_modules():
        walk(module, short, set())
    return [(objects[key], group) for key, group in names.items()]
