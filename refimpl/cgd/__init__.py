"""Competitive gradient descent (CGD) and its relatives on two-player games.

Player x minimizes f(x, y) and player y minimizes g(x, y) (g = −f in zero-sum
games, where y maximizes f).

Start at :mod:`~refimpl.cgd.core`: the algorithms as plain array code, without checks
(not public API). The public modules are the core plus the contract:

Games (:mod:`~refimpl.cgd.games`)
    :class:`Game` (the protocol); :class:`BilinearGame`, :class:`QuadraticGame`,
    :class:`GeneralSumQuadraticGame`.
CGD (:mod:`~refimpl.cgd.competitive`)
    :func:`cgd_step`, its Krylov solvers :func:`conjugate_gradient` and :func:`gmres`, and
    its dense solves.
ACGD (:mod:`~refimpl.cgd.adaptive`)
    :func:`acgd_step`, :func:`adaptive_step_sizes`.
The methods compared with CGD (:mod:`~refimpl.cgd.gradient_methods`)
    :func:`gda_step`, :func:`altgda_step`, :func:`ogda_step`, :func:`extragradient_step`,
    :func:`sga_step`, :func:`conopt_step`, :func:`lcgd_step`, :func:`neumann_step`.
Runner (:mod:`~refimpl.cgd.runner`)
    :func:`run` with the method names in :data:`METHODS`, each a step function of one
    signature, and :func:`method_options`; :func:`compare_methods` and
    :func:`measured_rate` (:mod:`~refimpl.cgd.experiments`).
Closed forms (:mod:`~refimpl.cgd.closed_forms`)
    :func:`iteration_matrix`, :func:`spectral_radius` (f = αxy);
    :func:`cgd_bilinear_contraction`, :func:`cgd_bilinear_closed_form` (f = xᵀAy);
    :func:`game_iteration_matrix`, :func:`game_spectral_radius` (any quadratic game).
Argument checks (:mod:`~refimpl.cgd.arguments`)
    :func:`check_step_arguments`.
The GAN (:mod:`~refimpl.cgd.gan`)
    Implicit competitive regularization on a small GAN.

The derivations behind every formula are in ``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from refimpl.cgd.adaptive import ACGDState, acgd_step, adaptive_step_sizes
from refimpl.cgd.arguments import check_step_arguments
from refimpl.cgd.closed_forms import (
    LINEAR_METHODS,
    cgd_bilinear_closed_form,
    cgd_bilinear_contraction,
    game_iteration_matrix,
    game_spectral_radius,
    iteration_matrix,
    spectral_radius,
)
from refimpl.cgd.competitive import CGDInfo, KrylovInfo, cgd_step, conjugate_gradient, gmres
from refimpl.cgd.experiments import METHOD_STYLES, compare_methods, measured_rate
from refimpl.cgd.games import BilinearGame, Game, GeneralSumQuadraticGame, QuadraticGame
from refimpl.cgd.gradient_methods import (
    altgda_step,
    conopt_step,
    extragradient_step,
    gda_step,
    lcgd_step,
    neumann_step,
    ogda_step,
    sga_step,
)
from refimpl.cgd.runner import METHODS, RunResult, method_options, run

__all__ = [
    "gan",
    "ACGDState",
    "BilinearGame",
    "CGDInfo",
    "Game",
    "GeneralSumQuadraticGame",
    "KrylovInfo",
    "LINEAR_METHODS",
    "METHODS",
    "METHOD_STYLES",
    "QuadraticGame",
    "RunResult",
    "acgd_step",
    "adaptive_step_sizes",
    "altgda_step",
    "cgd_bilinear_closed_form",
    "cgd_bilinear_contraction",
    "cgd_step",
    "check_step_arguments",
    "compare_methods",
    "conjugate_gradient",
    "conopt_step",
    "extragradient_step",
    "game_iteration_matrix",
    "game_spectral_radius",
    "gda_step",
    "gmres",
    "iteration_matrix",
    "lcgd_step",
    "measured_rate",
    "method_options",
    "neumann_step",
    "ogda_step",
    "run",
    "sga_step",
    "spectral_radius",
]


def __getattr__(name):
    # The GAN (networks, data, SciPy's statistics) loads on first use, so that
    # `import refimpl.cgd` stays cheap for the quadratic games.
    if name == "gan":
        import importlib

        return importlib.import_module("refimpl.cgd.gan")
    raise AttributeError(f"module 'refimpl.cgd' has no attribute {name!r}")
