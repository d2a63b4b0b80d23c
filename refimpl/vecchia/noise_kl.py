r"""How good is a noisy approximation: covariance forms and divergences, dense (small N).

Two ways to turn the factors ``L`` (``Θ⁻¹ ≈ L Lᵀ``) and ``C`` (``C Cᵀ ≈ L Lᵀ + R⁻¹``)
into an approximation of the noisy covariance ``Σ = Θ + R``:

* the **product form** ``X = (L Lᵀ)⁻¹ C Cᵀ R``, from ``Θ + R = Θ (Θ⁻¹ + R⁻¹) R``. It
  is not symmetric unless C is exact. Its *score*
  ``½[tr(X⁻¹Σ) + log det X − log det Σ − N]`` is the expected error of the
  log-likelihood computed with it; this is what the authors report, and it equals
  the KL divergence when C is exact. :func:`expected_log_likelihood_error`.
* the **Woodbury form** ``Σ̃⁻¹ = R⁻¹ − R⁻¹ (C Cᵀ)⁻¹ R⁻¹``, symmetric; with an
  inexact C it can be indefinite, and then the true KL divergence is infinite.
  :func:`woodbury_kl_divergence`.

:func:`noisy_kl_divergences` gives both side by side. All functions here are dense,
O(N³) checks for sizes where ``Σ`` fits in memory.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import spsolve_triangular

from refimpl import backend
from refimpl.validation import as_float_array

from .noise_covariance import checked_factors, finite_or_raise, inverse_of_lower

__all__ = [
    "expected_log_likelihood_error",
    "woodbury_kl_divergence",
    "noisy_kl_divergences",
]


def _checked_with_theta(theta, noise, L, C):
    L, C, noise = checked_factors(L, C, noise)
    n = L.shape[0]
    theta = backend.to_numpy(as_float_array("theta", theta, ndim=2))
    if theta.shape != (n, n):
        raise ValueError(f"theta: expected shape ({n}, {n}) to match L, received {theta.shape}")
    return L, C, noise, theta


def _logdet_spd(matrix, name):
    try:
        factor = scipy.linalg.cholesky(matrix, lower=True)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(f"{name}: not positive definite") from None
    return 2.0 * float(np.sum(np.log(np.diag(factor))))


def expected_log_likelihood_error(theta, noise, L, C):
    r"""The authors' score of the noisy approximation (non-symmetric product form).

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        The noise-free kernel matrix in the elimination order.
    noise : ndarray, shape (N,) or float
        Noise variances in the elimination order; :math:`\Sigma = \Theta + R`.
    L : sparse matrix, shape (N, N)
        Noise-free factor.
    C : sparse matrix, shape (N, N)
        Incomplete factor of :math:`LL^\top + R^{-1}`.

    Returns
    -------
    score : float
        Equal to :math:`\mathrm{KL}(\mathcal N(0,\Sigma)\,\|\,\mathcal N(0,X))` when C is
        exact (X is then symmetric positive definite); otherwise not a divergence
        and not necessarily nonnegative.

    Notes
    -----
    With :math:`X = (LL^\top)^{-1}CC^\top R`,

    .. math::

        s = \tfrac12\big[\operatorname{tr}(X^{-1}\Sigma) + \log\det X
        - \log\det\Sigma - N\big],\qquad
        \log\det X = -2\sum_i\log L_{ii} + 2\sum_i\log C_{ii} + \sum_i\log\sigma_i^2,

    with :math:`X^{-1} = R^{-1}(CC^\top)^{-1}LL^\top`. It is
    :math:`\mathbb E_{y\sim\mathcal N(0,\Sigma)}[\log p(y) - \log\tilde q(y)]`, the mean
    error of the log-likelihood :math:`\log\tilde q(y) = -\tfrac12 y^\top X^{-1}y -
    \tfrac12\log\det X - \tfrac N2\log 2\pi` that the factors compute.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import dense_inverse_cholesky
    >>> from refimpl.vecchia.noise import noise_factor
    >>> theta = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> L = dense_inverse_cholesky(theta)
    >>> abs(expected_log_likelihood_error(theta, 0.1, L, noise_factor(L, 0.1))) < 1e-12
    True
    """
    L, C, noise, theta = _checked_with_theta(theta, noise, L, C)
    n = theta.shape[0]
    sigma = theta + np.diag(noise)
    # tr(R⁻¹ (CCᵀ)⁻¹ LLᵀ Σ) = tr((CCᵀ)⁻¹ LLᵀ Σ R⁻¹), by the cyclic property; sparse
    # triangular solves against the N columns cost O(nnz(C) N), no dense inverse
    W = (L @ (L.T @ sigma)) / noise[None, :]  # (N, N)
    Z = spsolve_triangular(C.tocsr(), W, lower=True)
    Z = spsolve_triangular(C.T.tocsr(), Z, lower=False)
    trace = float(np.trace(Z))
    logdet_x = float(
        -2.0 * np.sum(np.log(L.diagonal()))
        + 2.0 * np.sum(np.log(C.diagonal()))
        + np.sum(np.log(noise))
    )
    score = 0.5 * (trace + logdet_x - _logdet_spd(sigma, "theta + diag(noise)") - n)
    if not np.isfinite(score):
        raise np.linalg.LinAlgError("the score is not finite: the factors are too ill-conditioned")
    return score


def _woodbury_parts(theta, noise, L, C):
    L, C, noise, theta = _checked_with_theta(theta, noise, L, C)
    sigma = theta + np.diag(noise)
    G = inverse_of_lower(C) / np.sqrt(noise)[None, :]
    inner = finite_or_raise(np.eye(theta.shape[0]) - G.T @ G, "the Woodbury precision")  # (N, N)
    eigenvalues = np.linalg.eigvalsh(inner)
    return sigma, noise, inner, eigenvalues


def woodbury_kl_divergence(theta, noise, L, C):
    r"""The true KL divergence of the Woodbury-form approximation, where it is defined.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        The noise-free kernel matrix in the elimination order.
    noise : ndarray, shape (N,) or float
        Noise variances in the elimination order.
    L : sparse matrix, shape (N, N)
        Noise-free factor (checked for shape; the Woodbury form needs only C).
    C : sparse matrix, shape (N, N)
        Incomplete factor of :math:`LL^\top + R^{-1}`.

    Returns
    -------
    kl : float
        :math:`\mathrm{KL}(\mathcal N(0,\Sigma)\,\|\,\mathcal N(0,\tilde\Sigma))`, nonnegative.

    Raises
    ------
    numpy.linalg.LinAlgError
        If :math:`\tilde\Sigma^{-1}` is not positive definite: the KL is then infinite.

    Notes
    -----
    With :math:`\tilde\Sigma^{-1}` from :func:`woodbury_precision`,

    .. math::

        \mathrm{KL} = \tfrac12\big[\operatorname{tr}(\tilde\Sigma^{-1}\Sigma)
        + \log\det\tilde\Sigma - \log\det\Sigma - N\big],\qquad
        \log\det\tilde\Sigma^{-1} = -\sum_i\log\sigma_i^2 + \log\det(I - G^\top G).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import dense_inverse_cholesky
    >>> from refimpl.vecchia.noise import noise_factor
    >>> theta = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> L = dense_inverse_cholesky(theta)
    >>> abs(woodbury_kl_divergence(theta, 0.1, L, noise_factor(L, 0.1))) < 1e-10
    True
    """
    sigma, noise, inner, eigenvalues = _woodbury_parts(theta, noise, L, C)
    return _woodbury_kl(sigma, noise, inner, eigenvalues)


def _woodbury_kl(sigma, noise, inner, eigenvalues):
    if not eigenvalues[0] > 0:
        raise np.linalg.LinAlgError(
            "the Woodbury precision R⁻¹ − R⁻¹(CCᵀ)⁻¹R⁻¹ is not positive definite (smallest "
            f"eigenvalue of I − GᵀG: {eigenvalues[0]:.3g}), so the true KL divergence is "
            "infinite; use expected_log_likelihood_error, or a more accurate C"
        )
    scale = 1.0 / np.sqrt(noise)
    precision = scale[:, None] * inner * scale[None, :]
    trace = float(np.sum(precision * sigma))
    logdet_precision = float(np.sum(np.log(eigenvalues)) - np.sum(np.log(noise)))
    n = sigma.shape[0]
    kl = 0.5 * (trace - logdet_precision - _logdet_spd(sigma, "theta + diag(noise)") - n)
    if not np.isfinite(kl):
        raise np.linalg.LinAlgError("the KL divergence is not finite")
    return kl


def noisy_kl_divergences(theta, noise, L, C):
    r"""Both measures of a noisy approximation, side by side.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        The noise-free kernel matrix in the elimination order.
    noise : ndarray, shape (N,) or float
        Noise variances in the elimination order.
    L, C : sparse matrices, shape (N, N)
        The noise-free factor and the incomplete factor of :math:`LL^\top + R^{-1}`.

    Returns
    -------
    result : dict
        ``"expected_log_likelihood_error"``: the authors' score
        (:func:`expected_log_likelihood_error`, product form, non-symmetric);
        ``"woodbury_kl"``: the true KL of the Woodbury form, or None where the
        Woodbury precision is indefinite (the KL is infinite there);
        ``"woodbury_min_eigenvalue"``: smallest eigenvalue of :math:`I - G^\top G`
        (positive iff the Woodbury form is a covariance).

    Notes
    -----
    With an exact C both equal :math:`\mathrm{KL}(\mathcal N(0,\Sigma)\,\|\,
    \mathcal N(0,(LL^\top)^{-1} + R))`,

    .. math::

        s = \mathrm{KL}_{\mathrm{Woodbury}} \quad\text{when}\quad CC^\top = LL^\top + R^{-1}.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import dense_inverse_cholesky
    >>> from refimpl.vecchia.noise import noise_factor
    >>> theta = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> L = dense_inverse_cholesky(np.diag([1.0, 1.0]))  # ignores the correlation
    >>> out = noisy_kl_divergences(theta, 0.1, L, noise_factor(L, 0.1))
    >>> round(out["expected_log_likelihood_error"], 4) == round(out["woodbury_kl"], 4)
    True
    """
    score = expected_log_likelihood_error(theta, noise, L, C)
    sigma, noise, inner, eigenvalues = _woodbury_parts(theta, noise, L, C)
    try:
        kl = _woodbury_kl(sigma, noise, inner, eigenvalues)
    except np.linalg.LinAlgError:
        kl = None
    return {
        "expected_log_likelihood_error": score,
        "woodbury_kl": kl,
        "woodbury_min_eigenvalue": float(eigenvalues[0]),
    }
