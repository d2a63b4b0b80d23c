"""Deprecated module paths of names that moved in the restructure into one-idea modules.

Every name stays importable from ``refimpl.vecchia`` itself. The old module paths
(``refimpl.vecchia.factor.kl_cholesky``, ``refimpl.vecchia.gp.predict``, ...) keep
working for one release through :func:`moved_names` and emit a ``DeprecationWarning``.
"""

from __future__ import annotations

import importlib
import warnings

__all__ = ["moved_names"]


def moved_names(old_module, new_homes):
    """A module ``__getattr__`` serving ``new_homes[name]`` (a module name) with a warning."""

    def __getattr__(name):
        if name not in new_homes:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        new_module = f"refimpl.vecchia.{new_homes[name]}"
        warnings.warn(
            f"{old_module}.{name} moved to {new_module}.{name} (also refimpl.vecchia.{name}); "
            "the old path will be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), name)

    return __getattr__
