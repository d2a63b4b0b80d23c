"""refimpl: NumPy/SciPy reference implementations of three results of Schäfer et al.

Subpackages
-----------
refimpl.cgd
    Competitive gradient descent and its relatives on bilinear games.
refimpl.inrank
    Incremental low-rank learning in three-layer linear networks, and InRank.
refimpl.vecchia
    KL-minimizing sparse inverse Cholesky (Vecchia) factors of kernel matrices.
refimpl.pde
    Nonlinear PDEs solved with Gaussian processes and sparse Cholesky factors.
refimpl.backend
    The NumPy/CuPy array backend that all array maths goes through.
"""

import importlib

from refimpl import backend

__version__ = "0.1.0"
__all__ = ["backend", "cgd", "inrank", "vecchia", "pde", "__version__"]

_SUBPACKAGES = ("cgd", "inrank", "vecchia", "pde")


def __getattr__(name):
    # Subpackages load on first use, so `import refimpl` stays cheap.
    if name in _SUBPACKAGES:
        return importlib.import_module(f"refimpl.{name}")
    raise AttributeError(f"module 'refimpl' has no attribute {name!r}")
