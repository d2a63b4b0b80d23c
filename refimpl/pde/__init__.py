"""Solving nonlinear PDEs with Gaussian processes and sparse Cholesky factors.

Chen, Owhadi & Schäfer, "Sparse Cholesky factorization for solving nonlinear PDEs
via Gaussian processes", Math. Comp., 2024 (arXiv 2304.01294), built on the dense
method of Chen, Hosseini, Owhadi & Stuart, "Solving and learning nonlinear PDEs
with Gaussian processes", J. Comput. Phys. 447, 2021.

Modules, one idea each::

    radial            radial kernels' derivatives g_k = (r⁻¹ d/dr)^k φ, finite at r = 0
    measurements      linear measurements: weighted sums of δ, ∂ᵢ, ∂ᵢ∂ⱼ at a point; encoding
    functionals       the named ones: δ, Δδ, ∂ᵢδ, ∂ᵢ∂ⱼδ; concatenation
    kernels           the covariance of two measurements (a kernel on encoded rows)
    ordering          multi-set maximin order of points; placement of derivative measurements
    system            the collocation system: basis of measurement types and weights A
    dense             dense Gauss–Newton step (Cholesky of Θ)
    sparse            sparse step: Θ = A Θ_big Aᵀ from a KL factor, PCG with a KL factor of Θ
    gauss_newton      the Gauss–Newton loop and the Solution it returns
    problems          the nonlinear elliptic problem on the unit square
    monge_ampere      the Monge–Ampère equation
    solve             the front door: problem, h and method in, Solution out
    burgers           viscous Burgers: Crank–Nicolson in time, Cole–Hopf truth
"""

from .burgers import Burgers, cole_hopf
from .dense import DenseSolver, kernel_matvec
from .functionals import (
    concatenate,
    first_derivatives,
    laplacians,
    point_values,
    second_derivatives,
)
from .gauss_newton import Solution, gauss_newton
from .kernels import MeasurementKernel
from .measurements import Measurements
from .monge_ampere import MongeAmpere
from .ordering import PLACEMENTS, measurement_ordering, multiset_maximin_ordering
from .problems import NonlinearElliptic, unit_square_grid
from .radial import RadialDerivatives
from .solve import METHODS, solve
from .sparse import SparseSolver
from .system import CollocationSystem, basis_measurements

__all__ = [
    "RadialDerivatives",
    "Measurements",
    "point_values",
    "laplacians",
    "first_derivatives",
    "second_derivatives",
    "concatenate",
    "MeasurementKernel",
    "PLACEMENTS",
    "multiset_maximin_ordering",
    "measurement_ordering",
    "CollocationSystem",
    "basis_measurements",
    "DenseSolver",
    "kernel_matvec",
    "SparseSolver",
    "gauss_newton",
    "Solution",
    "METHODS",
    "NonlinearElliptic",
    "MongeAmpere",
    "unit_square_grid",
    "solve",
    "Burgers",
    "cole_hopf",
]
