r"""A norm that does not overflow, for the divergence reports of :func:`train_gan`.

The cost of a run is counted by :class:`refimpl.cgd.runner.CountingGame`, the one
counter that :func:`refimpl.cgd.run` uses too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["norm_without_overflow"]


def norm_without_overflow(v):
    """‖v‖ without overflow for huge finite v (inf only when ‖v‖ exceeds the float range)."""
    scale = float(np.max(np.abs(v)))
    if scale == 0.0:
        return 0.0
    value = scale * float(np.linalg.norm(v / scale))
    return value if np.isfinite(value) else float(np.finfo(float).max)
