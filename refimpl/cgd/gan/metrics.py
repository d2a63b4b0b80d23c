r"""Quality of generated samples without a network: mode coverage and sample distances.

* :func:`mode_fractions` and :func:`modes_covered`: the share of samples within a
  few standard deviations of each mode of a :class:`GaussianMixture`, and how many
  modes get a fair share (the usual mode-collapse measures of [1]_);
* :func:`energy_distance`: the energy distance of two samples in any dimension [2]_;
* :func:`wasserstein_1d`: the 1-Wasserstein distance of two samples on the line
  (SciPy's ``wasserstein_distance``, computed by its sorting formula on the samples'
  device).

Device arrays in give device arrays out: every metric computes on the samples' device
(CuPy samples, CuPy arithmetic), moving the mixture's centres there; arrays come back on
that device and counts and distances as Python numbers.

References
----------
.. [1] L. Metz et al., "Unrolled generative adversarial networks", ICLR 2017.
.. [2] G. J. Székely and M. L. Rizzo, "Energy statistics: a class of statistics based
   on distances", J. Statist. Plann. Inference 143 (2013).
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.gan.data import GaussianMixture
from refimpl.validation import as_float_array, check_array_size, check_positive, finite_or_overflow

__all__ = ["mode_fractions", "modes_covered", "energy_distance", "wasserstein_1d"]


def _samples(name, samples, dim=None):
    samples = as_float_array(name, samples, ndim=(1, 2))
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.shape[0] < 1 or (dim is not None and samples.shape[1] != dim):
        expected = f"(N, {dim})" if dim is not None else "(N, d)"
        raise ValueError(f"{name}: expected shape {expected} with N >= 1, received {samples.shape}")
    return samples


def _check_data(data):
    if not isinstance(data, GaussianMixture):
        raise ValueError(f"data: expected a GaussianMixture, received {type(data).__name__}")


def mode_fractions(samples, data, radius=3.0):
    r"""The fraction of samples within ``radius`` standard deviations of each mode.

    Parameters
    ----------
    samples : ndarray, shape (N, d)
        A NumPy or CuPy array; the computation runs on its device.
    data : GaussianMixture
    radius : float
        In units of the mixture's standard deviation σ (> 0).

    Returns
    -------
    ndarray, shape (K,)
        Entry k: the share of samples whose nearest mode is μ_k and which lie within
        radius·σ of it. The sum is the share of "good" samples. An array of the
        samples' backend.

    Notes
    -----
    .. math:: \text{frac}_k = \frac1N \#\{i : \arg\min_j \lVert x_i - \mu_j\rVert = k,\
              \lVert x_i - \mu_k \rVert \le r\sigma\}.

    References
    ----------
    .. [1] L. Metz et al., "Unrolled generative adversarial networks", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd.gan.data import mixture_1d
    >>> mode_fractions(np.array([[-2.0], [2.1], [0.0], [2.0]]), mixture_1d())
    array([0.25, 0.5 ])
    """
    _check_data(data)
    samples = _samples("samples", samples, data.dim)
    radius = check_positive("radius", radius)
    xp = backend.array_namespace(samples)
    means = backend.to_device(data.means, like=samples)  # a host mixture, device samples
    # the differences of every sample to every mode, (N, K, d)
    check_array_size("samples, data", (samples.shape[0], *means.shape))
    distances = xp.linalg.norm(samples[:, None, :] - means[None, :, :], axis=2)  # (N, K)
    nearest = distances.argmin(axis=1)
    near = distances[xp.arange(samples.shape[0]), nearest] <= radius * data.std
    # Counted with 0/1 weights rather than by masking: no array of data-dependent size (a
    # mask would stall the GPU and may leave nothing to count); the counts stay exact.
    counts = xp.bincount(nearest, weights=near.astype(xp.float64), minlength=means.shape[0])
    return counts / samples.shape[0]


def modes_covered(samples, data, radius=3.0, min_share=0.25):
    r"""The number of modes that receive at least ``min_share`` of their weight.

    Parameters
    ----------
    samples : ndarray, shape (N, d)
        A NumPy or CuPy array; the computation runs on its device.
    data : GaussianMixture
    radius : float
        As in :func:`mode_fractions`.
    min_share : float
        Mode k counts as covered when frac_k ≥ min_share·w_k (in (0, 1]).

    Returns
    -------
    int

    Notes
    -----
    .. math:: \#\{k : \text{frac}_k \ge s\, w_k\}.

    References
    ----------
    .. [1] L. Metz et al., "Unrolled generative adversarial networks", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd.gan.data import mixture_1d
    >>> modes_covered(np.array([[-2.0], [-2.1], [-1.9]]), mixture_1d())
    1
    """
    fractions = mode_fractions(samples, data, radius)
    min_share = check_positive("min_share", min_share)
    if min_share > 1:
        raise ValueError(f"min_share: expected a number in (0, 1], received {min_share}")
    weights = backend.to_device(data.weights, like=fractions)
    return int(backend.array_namespace(fractions).sum(fractions >= min_share * weights))


def energy_distance(a, b):
    r"""The energy distance between the empirical distributions of two samples.

    Parameters
    ----------
    a : ndarray, shape (N, d) or (N,)
    b : ndarray, shape (M, d) or (M,)

    Returns
    -------
    float
        ≥ 0, zero exactly when the two empirical distributions agree.

    Notes
    -----
    With X, X' ~ a and Y, Y' ~ b independent (V-statistics, as in SciPy's 1-D
    ``energy_distance``, which this matches for d = 1):

    .. math:: \mathcal E(a, b) = \bigl(2\,\mathbb E\lVert X - Y\rVert
              - \mathbb E\lVert X - X'\rVert - \mathbb E\lVert Y - Y'\rVert\bigr)^{1/2}.

    References
    ----------
    .. [2] G. J. Székely and M. L. Rizzo, "Energy statistics", 2013.

    Examples
    --------
    >>> import numpy as np
    >>> round(energy_distance(np.array([0.0, 1.0]), np.array([0.0, 1.0])), 12)
    0.0
    """
    a = _samples("a", a)
    b = _samples("b", b)
    if b.shape[1] != a.shape[1]:  # either may be the wrong one
        raise ValueError(
            f"a, b: expected samples of one dimension d, shapes (N, d) and (M, d), received "
            f"{a.shape} and {b.shape}"
        )
    largest = max(a.shape[0], b.shape[0])
    check_array_size("a, b", (largest, largest, a.shape[1]))  # the pairwise differences

    def mean_distance(p, q):
        return float(np.linalg.norm(p[:, None, :] - q[None, :, :], axis=2).mean())

    with np.errstate(over="ignore", invalid="ignore"):
        value = 2 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b)
    finite_or_overflow(
        value, "a, b", hint="rescale the samples", message="the distances overflow float64"
    )
    return float(np.sqrt(max(value, 0.0)))


def wasserstein_1d(a, b):
    r"""The 1-Wasserstein distance of two samples on the line.

    Parameters
    ----------
    a : ndarray, shape (N,) or (N, 1)
        A NumPy or CuPy array; the computation runs on its device.
    b : ndarray, shape (M,) or (M, 1)
        An array of the backend of ``a``.

    Returns
    -------
    float
        Computed in float64 (float32 samples are promoted first).

    Notes
    -----
    The area between the two empirical distribution functions:

    .. math:: W_1(a, b) = \int_{\mathbb R} |F_a(t) - F_b(t)|\, dt
              = \sum_{i=1}^{N+M-1} |F_a(z_i) - F_b(z_i)|\,(z_{i+1} - z_i),

    with :math:`z_1 \le \dots \le z_{N+M}` the pooled sorted samples: SciPy's
    ``wasserstein_distance`` formula (sort, ``searchsorted``, one dot product), written
    on the samples' array namespace so that device samples stay on the device. It
    differs from SciPy's value only by the order of the final sum of N + M − 1
    non-negative terms, so by at most (N + M)·ε·W₁.

    References
    ----------
    .. [1] SciPy, ``scipy.stats.wasserstein_distance``.

    Examples
    --------
    >>> import numpy as np
    >>> wasserstein_1d(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    1.0
    """
    a = _samples("a", a, 1)
    b = _samples("b", b, 1)
    try:
        xp = backend.array_namespace(a, b)
    except ValueError as exc:
        raise ValueError(f"a, b: {exc}") from exc
    a = xp.sort(a[:, 0].astype(xp.float64))
    b = xp.sort(b[:, 0].astype(xp.float64))
    pooled = xp.sort(xp.concatenate((a, b)))
    with np.errstate(over="ignore", invalid="ignore"):
        deltas = xp.diff(pooled)
        # F_a and F_b on each interval [z_i, z_{i+1}): the share of samples ≤ z_i
        cdf_a = xp.searchsorted(a, pooled[:-1], side="right") / a.shape[0]
        cdf_b = xp.searchsorted(b, pooled[:-1], side="right") / b.shape[0]
        value = float(xp.dot(xp.abs(cdf_a - cdf_b), deltas))
    finite_or_overflow(
        value, "a, b", hint="rescale the samples", message="the distance overflows float64"
    )
    return value
