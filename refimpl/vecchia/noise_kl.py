r"""How good is a noisy approximation: covariance forms and divergences, dense (small N).

Two ways to turn the factors ``L`` (``Θ⁻¹ ≈ L Lᵀ``) and ``C`` (``C Cᵀ ≈ L Lᵀ + R⁻¹``)
into an approximation of the noisy covariance ``Σ = Θ + R``:

* the **product form** ``X = (L Lᵀ)⁻¹ C Cᵀ R``, from ``Θ + R = Θ (Θ⁻¹ + R⁻¹) R``
  (:func:`noisy_covariance`). It is not symmetric unless C is exact. Its *score*
  ``½[tr(X⁻¹Σ) + log det X − log det Σ − N]`` is the expected error of the
  log-likelihood computed with it; this is what the authors report, and it equals
  the KL divergence when C is exact. :func:`expected_log_likelihood_error`.
* the **Woodbury form** ``Σ̃⁻¹ = R⁻¹ − R⁻¹ (C Cᵀ)⁻¹ R⁻¹`` (:func:`woodbury_precision`),
  symmetric; with an inexact C it can be indefinite, and then the true KL divergence
  is infinite. :func:`woodbury_kl_divergence`.

:func:`noisy_kl_divergences` gives both side by side. All functions here are dense,
O(N³) checks for sizes where ``Σ`` fits in memory.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import spsolve_triangular

from refimpl import backend
from refimpl.validation import check_array_size, finite_or_overflow

from .dense import check_symmetric
from .gp import check_factor, one_backend
from .noise import check_noise

__all__ = [
    "noisy_covariance",
    "woodbury_precision",
    "expected_log_likelihood_error",
    "woodbury_kl_divergence",
    "noisy_kl_divergences",
]

_OVERFLOW_HINT = "the factors or the noise variances are too ill-conditioned"


# --- the two forms of the noisy covariance ------------------------------------------


def checked_factors(L, C, noise):
    """L, C and noise checked against each other (shared by the dense measures).

    The dense measures are the host stage of the noise path (LAPACK on N × N matrices,
    for small N): device factors are copied to the host here, explicitly."""
    L = backend.to_numpy(check_factor(L))
    n = L.shape[0]
    check_array_size("L", (n, n))
    C = backend.to_numpy(check_factor(C, n, name="C", match="L"))
    noise = check_noise(noise, n)
    return L, C, noise


def inverse_of_lower(T):
    """Dense inverse of a sparse lower-triangular matrix with positive diagonal."""
    n = T.shape[0]
    # not checked here: an overflow shows in the caller's result, which is checked once
    return scipy.linalg.solve_triangular(T.toarray(), np.eye(n), lower=True)


def noisy_covariance(L, C, noise):
    r"""The product-form approximation ``X = (L Lᵀ)⁻¹ C Cᵀ R`` of ``Θ + R`` (dense).

    Parameters
    ----------
    L : sparse matrix, shape (N, N)
        Noise-free factor in the elimination order.
    C : sparse matrix, shape (N, N)
        Incomplete factor of :math:`LL^\top + R^{-1}`.
    noise : ndarray, shape (N,) or float
        Noise variances in the elimination order.

    Returns
    -------
    X : ndarray, shape (N, N)
        Not symmetric unless :math:`CC^\top = LL^\top + R^{-1}` exactly. Computed on
        the host; on the device where any input lives.

    Raises
    ------
    ValueError
        If the result overflows float64 (the message names L, C and noise).

    Notes
    -----
    .. math::

        \Theta + R = \Theta(\Theta^{-1} + R^{-1})R \approx (LL^\top)^{-1}\,CC^\top R =: X,

    and with an exact C, :math:`X = (LL^\top)^{-1} + R`.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia.noise import noise_factor
    >>> L = np.array([[1.0, 0.0], [-0.5, 2.0]])
    >>> X = noisy_covariance(L, noise_factor(L, 0.3), 0.3)  # exact C: Θ + R
    >>> bool(np.allclose(X, np.linalg.inv(L @ L.T) + 0.3 * np.eye(2)))
    True
    """
    device = one_backend(L=L, C=C, noise=noise)
    L, C, noise = checked_factors(L, C, noise)
    L_inv = inverse_of_lower(L)
    CCt = (C @ C.T).toarray()
    covariance = L_inv.T @ (L_inv @ CCt) * noise[None, :]
    covariance = finite_or_overflow(
        covariance, "L, C, noise", _OVERFLOW_HINT, "the covariance overflows float64"
    )
    return backend.to_device(covariance, like=device)  # computed on the host


def woodbury_precision(C, noise):
    r"""The Woodbury-form approximate precision ``R⁻¹ − R⁻¹ (C Cᵀ)⁻¹ R⁻¹`` (dense).

    Parameters
    ----------
    C : sparse matrix, shape (N, N)
        Incomplete factor of :math:`LL^\top + R^{-1}`.
    noise : ndarray, shape (N,) or float
        Noise variances in the elimination order.

    Returns
    -------
    precision : ndarray, shape (N, N)
        Symmetric; positive definite when C is exact, possibly indefinite otherwise.
        Computed on the host; on the device where any input lives.

    Raises
    ------
    ValueError
        If the result overflows float64 (the message names C and noise).

    Notes
    -----
    Woodbury's identity gives :math:`(\Theta + R)^{-1} = R^{-1} - R^{-1}(\Theta^{-1} +
    R^{-1})^{-1}R^{-1}`; replacing :math:`\Theta^{-1} + R^{-1}` by :math:`CC^\top`,

    .. math::

        \tilde\Sigma^{-1} = R^{-1} - R^{-1}(CC^\top)^{-1}R^{-1}
        = R^{-1/2}\big(I - G^\top G\big)R^{-1/2},\qquad G = C^{-1}R^{-1/2}.

    It is positive definite iff :math:`\|G\|_2 < 1`, i.e. :math:`CC^\top \succ R^{-1}`:
    an incomplete C whose error exceeds the smallest eigenvalue of :math:`LL^\top`
    breaks this.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> woodbury_precision(np.diag([2.0, 2.0]), 1.0).tolist()  # 1 − 1/4
    [[0.75, 0.0], [0.0, 0.75]]
    """
    device = one_backend(C=C, noise=noise)
    C = backend.to_numpy(check_factor(C, name="C"))  # a dense host stage (see checked_factors)
    n = C.shape[0]
    check_array_size("C", (n, n))
    noise = check_noise(noise, n, of="C")
    G = inverse_of_lower(C) / np.sqrt(noise)[None, :]  # (N, N)
    inner = np.eye(n) - G.T @ G
    scale = 1.0 / np.sqrt(noise)
    precision = scale[:, None] * inner * scale[None, :]
    precision = finite_or_overflow(
        precision, "C, noise", _OVERFLOW_HINT, "the precision overflows float64"
    )
    return backend.to_device(precision, like=device)  # computed on the host


# --- how far they are from the truth ---------------------------------------------------


def _checked_with_theta(theta, noise, L, C):
    one_backend(theta=theta, noise=noise, L=L, C=C)
    L, C, noise = checked_factors(L, C, noise)
    n = L.shape[0]
    # symmetric as kl_divergence's theta: Σ = Θ + R must be a covariance
    theta = backend.to_numpy(check_symmetric("theta", theta))
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
        The noise-free kernel matrix in the elimination order, symmetric (to 1e-10
        relative to its largest entry, as for :func:`~refimpl.vecchia.kl_divergence`).
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
    inner = np.eye(theta.shape[0]) - G.T @ G  # (N, N)
    # checked before LAPACK's eigvalsh sees it: NaN would pass as an indefinite precision
    finite_or_overflow(
        inner, "C, noise", _OVERFLOW_HINT, "the Woodbury precision overflows float64"
    )
    eigenvalues = np.linalg.eigvalsh(inner)
    return sigma, noise, inner, eigenvalues


def woodbury_kl_divergence(theta, noise, L, C):
    r"""The true KL divergence of the Woodbury-form approximation, where it is defined.

    Parameters
    ----------
    theta : ndarray, shape (N, N)
        The noise-free kernel matrix in the elimination order, symmetric (to 1e-10
        relative to its largest entry, as for :func:`~refimpl.vecchia.kl_divergence`).
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
        The noise-free kernel matrix in the elimination order, symmetric (to 1e-10
        relative to its largest entry, as for :func:`~refimpl.vecchia.kl_divergence`).
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
