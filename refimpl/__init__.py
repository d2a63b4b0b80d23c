"""refimpl: NumPy/SciPy reference implementations of four results of Schäfer et al.

Subpackages
-----------
refimpl.cgd
    Competitive gradient descent and its relatives; implicit competitive
    regularization on a GAN (``refimpl.cgd.gan``).
refimpl.inrank
    Incremental low-rank learning in three-layer linear networks, InRank, and a
    NumPy transformer on which its claims are tested.
refimpl.vecchia
    KL-minimizing sparse inverse Cholesky (Vecchia) factors of kernel matrices.
refimpl.pde
    Nonlinear PDEs solved with Gaussian processes and sparse Cholesky factors.
refimpl.oracle
    Golden cases, export and check: refimpl as an oracle for other implementations.
refimpl.nn
    Small multilayer perceptrons with exact Hessian-vector products (shared floor).
refimpl.backend
    The NumPy/CuPy array backend that all array maths goes through.
refimpl.validation
    Input checks and the errors of the API contract.
"""

import importlib

from refimpl import backend

__version__ = "0.2.0"
__all__ = ["backend", "cgd", "inrank", "vecchia", "pde", "oracle", "nn", "__version__"]

_SUBPACKAGES = ("cgd", "inrank", "vecchia", "pde", "oracle", "nn")


def __getattr__(name):
    # Subpackages load on first use, so `import refimpl` stays cheap.
    if name in _SUBPACKAGES:
        return importlib.import_module(f"refimpl.{name}")
    raise AttributeError(f"module 'refimpl' has no attribute {name!r}")
