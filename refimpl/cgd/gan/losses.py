r"""The GAN losses: φ_real and φ_fake with their first two derivatives.

f = mean φ_real(D(x)) + mean φ_fake(D(G(z))): for ``"wgan"`` φ_real(s) = s and
φ_fake(s) = −s; for ``"cross_entropy"`` φ_real = log σ and φ_fake = log(1 − σ),
written through softplus so that large logits do not overflow.

References
----------
.. [1] I. Goodfellow et al., "Generative adversarial nets", NeurIPS 2014.
.. [2] M. Arjovsky, S. Chintala and L. Bottou, "Wasserstein GAN", ICML 2017.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOSSES"]


#: The GAN losses of :class:`GANGame`.
LOSSES = ("wgan", "cross_entropy")


def _sigmoid(s):
    return 0.5 * (1.0 + np.tanh(0.5 * s))


def loss_terms(loss, s, which):
    """φ(s), φ'(s), φ''(s) of the real (which=0) or fake (which=1) term."""
    if loss == "wgan":
        sign = 1.0 if which == 0 else -1.0
        return sign * s, sign + 0.0 * s, 0.0 * s
    sig = _sigmoid(s)
    curvature = -sig * (1.0 - sig)
    if which == 0:  # log σ(s) = −softplus(−s)
        return -np.logaddexp(0.0, -s), 1.0 - sig, curvature
    return -np.logaddexp(0.0, s), -sig, curvature  # log(1 − σ(s)) = −softplus(s)
