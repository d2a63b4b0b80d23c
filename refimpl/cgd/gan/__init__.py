r"""Implicit competitive regularization on a small GAN, with exact second-order products.

Conventions
    Player x is the **generator** and minimizes f; player y is the
    **discriminator** and maximizes f (g = −f, a zero-sum :class:`~refimpl.cgd.Game`).
    ``loss="wgan"``: f = E D(x_real) − E D(G(z)), no clipping and no gradient
    penalty; ``loss="cross_entropy"``: f = E log σ(D(x_real)) + E log(1 − σ(D(G(z)))).
    The authors' code writes the WGAN loss as E D(G(z)) − E D(x) with the
    generator maximizing: the same game.

The game (:mod:`~refimpl.cgd.gan.game`)
    :class:`GANGame` on networks of :mod:`refimpl.nn`; one mini-batch per step
    (:meth:`GANGame.resample`), shared by the gradients and every product.
Data (:mod:`~refimpl.cgd.gan.data`)
    :class:`GaussianMixture`, :func:`two_modes`, :func:`ring`, :func:`mixture_1d`.
Optimizers (:mod:`~refimpl.cgd.gan.adam`, :mod:`~refimpl.cgd.gan.acgd`)
    :func:`adam_step` (simultaneous Adam) and :func:`acgd_alternating_step` (the
    authors' ACGD: the solved side alternates, CG warm-started with the true residual).
Training (:mod:`~refimpl.cgd.gan.training`)
    :func:`train_gan` with :data:`GAN_METHODS`, at a budget of gradients plus
    Hessian-vector products.
Experiment (:mod:`~refimpl.cgd.gan.experiments`)
    :func:`compare_gan_methods`: every method from the same starts, at equal cost.
Metrics (:mod:`~refimpl.cgd.gan.metrics`)
    :func:`mode_fractions`, :func:`modes_covered`, :func:`energy_distance`,
    :func:`wasserstein_1d`.

References
----------
.. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
   in GANs", ICML 2020, arXiv:1910.05852.
.. [2] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
"""

from refimpl.cgd.gan.acgd import AlternatingACGDState, AlternatingInfo, acgd_alternating_step
from refimpl.cgd.gan.adam import AdamState, adam_step
from refimpl.cgd.gan.data import GaussianMixture, mixture_1d, ring, two_modes
from refimpl.cgd.gan.experiments import compare_gan_methods
from refimpl.cgd.gan.game import LOSSES, GANGame
from refimpl.cgd.gan.metrics import energy_distance, mode_fractions, modes_covered, wasserstein_1d
from refimpl.cgd.gan.training import GAN_METHODS, GANRun, train_gan

__all__ = [
    "GAN_METHODS",
    "LOSSES",
    "AdamState",
    "AlternatingACGDState",
    "AlternatingInfo",
    "GANGame",
    "GANRun",
    "GaussianMixture",
    "acgd_alternating_step",
    "compare_gan_methods",
    "adam_step",
    "energy_distance",
    "mixture_1d",
    "mode_fractions",
    "modes_covered",
    "ring",
    "train_gan",
    "two_modes",
    "wasserstein_1d",
]
