"""Competitive gradient descent (CGD) and its relatives on two-player games.

Player x minimizes f(x, y) and player y minimizes g(x, y) (g = −f in zero-sum
games, where y maximizes f).

Games (:mod:`~refimpl.cgd.games`)
    :class:`BilinearGame`, :class:`QuadraticGame`, :class:`GeneralSumQuadraticGame`.
Methods
    :func:`gda_step`, :func:`altgda_step`, :func:`ogda_step`,
    :func:`extragradient_step`, :func:`sga_step`, :func:`conopt_step`
    (:mod:`~refimpl.cgd.gradient_methods`); :func:`lcgd_step`, :func:`cgd_step`,
    :func:`neumann_step` (:mod:`~refimpl.cgd.competitive`); :func:`acgd_step`
    (:mod:`~refimpl.cgd.adaptive`).
Runner
    :func:`run` with the method names in :data:`METHODS`; :func:`compare_methods`
    and :func:`measured_rate` (:mod:`~refimpl.cgd.experiments`).
Closed forms (:mod:`~refimpl.cgd.closed_forms`)
    :func:`iteration_matrix`, :func:`spectral_radius`, :func:`game_iteration_matrix`,
    :func:`game_spectral_radius`, :func:`cgd_bilinear_contraction`,
    :func:`cgd_bilinear_closed_form`.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from refimpl.cgd.adaptive import ACGDState, acgd_step, adaptive_step_sizes
from refimpl.cgd.closed_forms import (
    LINEAR_METHODS,
    cgd_bilinear_closed_form,
    cgd_bilinear_contraction,
    game_iteration_matrix,
    game_spectral_radius,
    iteration_matrix,
    spectral_radius,
)
from refimpl.cgd.competitive import CGDInfo, cgd_step, lcgd_step, neumann_step
from refimpl.cgd.experiments import METHOD_STYLES, compare_methods, measured_rate
from refimpl.cgd.games import (
    BilinearGame,
    Game,
    GeneralSumQuadraticGame,
    QuadraticGame,
    check_step_arguments,
)
from refimpl.cgd.gradient_methods import (
    altgda_step,
    conopt_step,
    extragradient_step,
    gda_step,
    ogda_step,
    sga_step,
)
from refimpl.cgd.linear_solvers import conjugate_gradient, gmres
from refimpl.cgd.runner import METHODS, RunResult, method_options, run

__all__ = [
    "ACGDState",
    "BilinearGame",
    "CGDInfo",
    "Game",
    "GeneralSumQuadraticGame",
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
