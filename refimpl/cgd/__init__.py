"""Competitive gradient descent (CGD) and its relatives on two-player games.

Player x minimizes f(x, y) and player y minimizes g(x, y) (g = −f in zero-sum
games, where y maximizes f).

Games
    :class:`Game` (the protocol, :mod:`~refimpl.cgd.games`); :class:`BilinearGame`,
    :class:`QuadraticGame`, :class:`GeneralSumQuadraticGame`
    (:mod:`~refimpl.cgd.quadratic_games`).
Methods
    :func:`gda_step`, :func:`altgda_step`, :func:`ogda_step`, :func:`extragradient_step`
    (:mod:`~refimpl.cgd.gradient_methods`); :func:`sga_step`, :func:`conopt_step`
    (:mod:`~refimpl.cgd.adjusted_gradients`); :func:`cgd_step`
    (:mod:`~refimpl.cgd.competitive`, with :mod:`~refimpl.cgd.dense_solvers` and
    :mod:`~refimpl.cgd.linear_solvers`); :func:`lcgd_step`, :func:`neumann_step`
    (:mod:`~refimpl.cgd.neumann`); :func:`acgd_step` (:mod:`~refimpl.cgd.adaptive`).
Runner
    :func:`run` (:mod:`~refimpl.cgd.runner`) with the method names in :data:`METHODS`,
    each a step function of one signature (:mod:`~refimpl.cgd.methods`);
    :func:`compare_methods` and :func:`measured_rate` (:mod:`~refimpl.cgd.experiments`).
Closed forms
    :func:`iteration_matrix`, :func:`spectral_radius` (:mod:`~refimpl.cgd.closed_forms`);
    :func:`game_iteration_matrix`, :func:`game_spectral_radius`
    (:mod:`~refimpl.cgd.game_closed_forms`); :func:`cgd_bilinear_contraction`,
    :func:`cgd_bilinear_closed_form` (:mod:`~refimpl.cgd.bilinear_closed_forms`).

The derivations behind every formula are in ``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
.. [2] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020.
"""

from refimpl.cgd.adaptive import ACGDState, acgd_step, adaptive_step_sizes
from refimpl.cgd.adjusted_gradients import conopt_step, sga_step
from refimpl.cgd.arguments import check_step_arguments
from refimpl.cgd.bilinear_closed_forms import cgd_bilinear_closed_form, cgd_bilinear_contraction
from refimpl.cgd.closed_forms import LINEAR_METHODS, iteration_matrix, spectral_radius
from refimpl.cgd.competitive import CGDInfo, cgd_step
from refimpl.cgd.experiments import METHOD_STYLES, compare_methods, measured_rate
from refimpl.cgd.game_closed_forms import game_iteration_matrix, game_spectral_radius
from refimpl.cgd.games import Game
from refimpl.cgd.gradient_methods import altgda_step, extragradient_step, gda_step, ogda_step
from refimpl.cgd.linear_solvers import KrylovInfo, conjugate_gradient, gmres
from refimpl.cgd.methods import METHODS, method_options
from refimpl.cgd.neumann import lcgd_step, neumann_step
from refimpl.cgd.quadratic_games import BilinearGame, GeneralSumQuadraticGame, QuadraticGame
from refimpl.cgd.runner import RunResult, run

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
