r"""Target distributions of the small GAN experiments: Gaussian mixtures.

* :func:`two_modes`: N([1/√2, 1/√2], 0.1²I) and N([1, 0], 0.1²I), equal weights, the
  data of the GAN experiment in the Julia code of [1]_;
* :func:`ring`: eight Gaussians on a circle, the usual mode-collapse test;
* :func:`mixture_1d`: two Gaussians on the line, for the tutorial.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019
   (code: the two-mode GAN experiment).
.. [2] L. Metz et al., "Unrolled generative adversarial networks", ICLR 2017 (the ring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_integer,
    check_positive,
    finite_or_overflow,
)

__all__ = ["GaussianMixture", "two_modes", "ring", "mixture_1d"]


@dataclass(frozen=True, init=False)
class GaussianMixture:
    r"""An isotropic Gaussian mixture Σ_k w_k N(μ_k, σ²I).

    Parameters
    ----------
    means : array_like, shape (K, d)
    std : float
        σ > 0, shared by the components.
    weights : array_like, shape (K,), optional
        Non-negative, normalized here; equal weights by default.

    Attributes
    ----------
    means, std, weights
    dim, n_modes : int

    Notes
    -----
    .. math:: p(x) = \sum_{k=1}^K w_k\, \mathcal N(x;\ \mu_k, \sigma^2 I).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> mixture = GaussianMixture([[0.0], [4.0]], std=0.5)
    >>> mixture.sample(3, rng=0).shape
    (3, 1)
    """

    means: object
    std: float
    weights: object

    def __init__(self, means, std, weights=None):
        means = as_float_array("means", means, ndim=2)
        if means.shape[0] < 1 or means.shape[1] < 1:
            raise ValueError(f"means: expected shape (K, d) with K, d >= 1, received {means.shape}")
        std = check_positive("std", std)
        if weights is None:
            weights = np.full(means.shape[0], 1.0 / means.shape[0])
        else:
            weights = as_float_array("weights", weights, ndim=1)
            if weights.shape != (means.shape[0],) or bool((weights < 0).any()):
                raise ValueError(
                    f"weights: expected {means.shape[0]} non-negative numbers (one per row of "
                    f"means), received {weights}"
                )
            total = float(weights.sum())
            if not 0 < total < np.inf:
                raise ValueError(f"weights: expected a positive finite sum, received {total}")
            weights = weights / total
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "weights", weights)

    @property
    def dim(self):
        return int(self.means.shape[1])

    @property
    def n_modes(self):
        return int(self.means.shape[0])

    def sample(self, size, rng):
        r"""Draw ``size`` samples.

        Parameters
        ----------
        size : int
        rng : numpy.random.Generator or int

        Returns
        -------
        ndarray, shape (size, d)

        Notes
        -----
        .. math:: k \sim \mathrm{Categorical}(w), \qquad x = \mu_k + \sigma \varepsilon,
                  \ \varepsilon \sim \mathcal N(0, I).

        References
        ----------
        .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

        Examples
        --------
        >>> two_modes().sample(2, rng=0).shape
        (2, 2)
        """
        size = check_integer("size", size, minimum=1)
        # the labels, the noise, the chosen means and their sum: 3d + 1 numbers a sample
        check_array_size("size", (size, 3 * self.dim + 1))
        rng = as_generator(rng)
        labels = rng.choice(self.n_modes, size=size, p=backend.to_numpy(self.weights))
        noise = rng.standard_normal((size, self.dim))
        with np.errstate(over="ignore", invalid="ignore"):
            samples = backend.to_numpy(self.means)[labels] + self.std * noise
        return finite_or_overflow(
            samples, "means, std", message="the samples μ + σε exceed the float range"
        )


def two_modes(std=0.1):
    r"""The two-mode mixture of the CGD paper's GAN experiment.

    Parameters
    ----------
    std : float
        Standard deviation of each mode (0.1 in the experiment).

    Returns
    -------
    GaussianMixture

    Notes
    -----
    .. math:: \tfrac12 \mathcal N\bigl((1/\sqrt2, 1/\sqrt2), \sigma^2 I\bigr)
              + \tfrac12 \mathcal N\bigl((1, 0), \sigma^2 I\bigr).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> two_modes().means.round(3)
    array([[0.707, 0.707],
           [1.   , 0.   ]])
    """
    r = 1.0 / np.sqrt(2.0)
    return GaussianMixture([[r, r], [1.0, 0.0]], std)


def ring(n_modes=8, radius=1.0, std=0.05):
    r"""``n_modes`` Gaussians spaced evenly on a circle.

    Parameters
    ----------
    n_modes : int
    radius : float
    std : float

    Returns
    -------
    GaussianMixture

    Notes
    -----
    .. math:: \mu_k = r\,(\cos(2\pi k/K), \sin(2\pi k/K)), \quad k = 0, \ldots, K-1.

    References
    ----------
    .. [2] L. Metz et al., "Unrolled generative adversarial networks", ICLR 2017.

    Examples
    --------
    >>> ring().n_modes
    8
    """
    n_modes = check_integer("n_modes", n_modes, minimum=1, maximum=10**6)
    radius = check_positive("radius", radius)
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return GaussianMixture(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def mixture_1d(separation=4.0, std=0.5):
    r"""Two equal Gaussians on the line at ±separation/2.

    Parameters
    ----------
    separation : float
    std : float

    Returns
    -------
    GaussianMixture

    Notes
    -----
    .. math:: \tfrac12 \mathcal N(-s/2, \sigma^2) + \tfrac12 \mathcal N(s/2, \sigma^2).

    References
    ----------
    .. [1] F. Schäfer, H. Zheng and A. Anandkumar, "Implicit competitive regularization
       in GANs", ICML 2020.

    Examples
    --------
    >>> mixture_1d().means.ravel()
    array([-2.,  2.])
    """
    separation = check_positive("separation", separation)
    return GaussianMixture([[-separation / 2], [separation / 2]], std)
