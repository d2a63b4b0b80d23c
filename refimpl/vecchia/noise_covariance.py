r"""Two dense approximations of the noisy covariance ``Θ + R`` from the factors L and C.

The **product form** ``X = (L Lᵀ)⁻¹ C Cᵀ R`` (from ``Θ + R = Θ (Θ⁻¹ + R⁻¹) R``), not
symmetric unless C is exact, and the **Woodbury form** of the precision,
``R⁻¹ − R⁻¹ (C Cᵀ)⁻¹ R⁻¹``, symmetric but possibly indefinite. Both are dense, for
checks at sizes where ``Θ + R`` fits in memory; :mod:`~refimpl.vecchia.noise_kl`
measures them against the truth.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from refimpl.validation import check_array_size

from .gp import check_factor
from .noise import check_noise

__all__ = ["noisy_covariance", "woodbury_precision"]


def checked_factors(L, C, noise):
    """L, C and noise checked against each other (shared by the dense measures)."""
    L = check_factor(L)
    n = L.shape[0]
    check_array_size("L", (n, n))
    C = check_factor(C, n, name="C")
    noise = check_noise(noise, n)
    return L, C, noise


def finite_or_raise(result, what):
    """``result`` if all finite, else LinAlgError saying ``what`` overflowed."""
    if not np.all(np.isfinite(result)):
        raise np.linalg.LinAlgError(
            f"{what} overflows: the factors or the noise variances are too ill-conditioned"
        )
    return result


def inverse_of_lower(T):
    """Dense inverse of a sparse lower-triangular matrix with positive diagonal."""
    n = T.shape[0]
    inverse = scipy.linalg.solve_triangular(T.toarray(), np.eye(n), lower=True)
    if not np.all(np.isfinite(inverse)):
        raise np.linalg.LinAlgError("a triangular factor is too ill-conditioned to invert")
    return inverse


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
        Not symmetric unless :math:`CC^\top = LL^\top + R^{-1}` exactly.

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
    L, C, noise = checked_factors(L, C, noise)
    L_inv = inverse_of_lower(L)
    CCt = (C @ C.T).toarray()
    return finite_or_raise(L_inv.T @ (L_inv @ CCt) * noise[None, :], "the covariance")


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
    C = check_factor(C, name="C")
    n = C.shape[0]
    check_array_size("C", (n, n))
    noise = check_noise(noise, n)
    G = inverse_of_lower(C) / np.sqrt(noise)[None, :]  # (N, N)
    inner = np.eye(n) - G.T @ G
    scale = 1.0 / np.sqrt(noise)
    return finite_or_raise(scale[:, None] * inner * scale[None, :], "the precision")
