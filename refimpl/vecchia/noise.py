r"""Noisy observations: the noise-free factor plus an incomplete Cholesky of ``L Lᵀ + R⁻¹``.

Data ``y = f + ε`` with ``f ~ N(0, Θ)`` and independent noise ``ε ~ N(0, R)``,
``R = diag(σ²)``, have the covariance ``Θ + R``. Factoring ``Θ + R`` directly (the
*naive* factor) loses the screening effect that makes the KL factor accurate: a noisy
value does not screen its neighbours. The remedy of the paper keeps ``L``, the KL
factor of the noise-free ``Θ`` (``Θ⁻¹ ≈ L Lᵀ``), and factors the posterior precision
``A = L Lᵀ + R⁻¹`` by a zero fill-in incomplete Cholesky ``C Cᵀ ≈ A``.

Everything is in the elimination order of ``L`` (reverse maximin, finest first):
``noise`` and ``y`` passed with a factor are ``noise[order]`` and ``y[order]``. The
front doors :func:`noisy_kl_cholesky` and :func:`naive_kl_cholesky` take them in the
order of ``points`` and return ``order``.
"""

from __future__ import annotations

import numpy as np

from refimpl import (
    backend,
    vecchia,  # the public API, looked up at call time
)
from refimpl.validation import all_finite, as_float_array, check_choice

from .gp import check_factor, one_backend, sparse_modules
from .incomplete_factorization import incomplete_cholesky, lower_triangle_pattern

__all__ = [
    "noisy_precision",
    "noise_factor",
    "noisy_kl_cholesky",
    "naive_kl_cholesky",
]

PATTERNS = ("factor", "product")


def check_noise(noise, n, name="noise", of="L"):
    """Noise variances as a (n,) float array; ValueError unless finite and positive.

    Checked on the host, and returned there (the callers move them where the work runs)."""
    if isinstance(noise, bool | np.bool_) or getattr(noise, "dtype", None) == np.bool_:
        raise ValueError(f"{name}: expected noise variances, received booleans {noise!r:.60}")
    noise = backend.to_numpy(as_float_array(name, noise, ndim=(0, 1)))
    if noise.ndim == 0:
        noise = np.full(n, float(noise))
    if noise.shape != (n,):
        raise ValueError(
            f"{name}: expected {n} noise variances to match {of}, received shape {noise.shape}"
        )
    if not np.all(np.isfinite(noise)) or not np.all(noise > 0):
        raise ValueError(
            f"{name}: expected finite, positive noise variances σ², received minimum "
            f"{noise.min()!r}"
        )
    if not np.all(np.isfinite(1.0 / noise)):
        raise ValueError(f"{name}: expected variances whose inverses are finite, too small")
    return noise


def noisy_precision(L, noise):
    r"""The posterior precision ``A = L Lᵀ + R⁻¹`` of the latent field.

    Parameters
    ----------
    L : sparse matrix, shape (N, N)
        Noise-free factor, ``Θ⁻¹ ≈ L Lᵀ``, lower triangular in the elimination order.
    noise : ndarray, shape (N,) or float
        Noise variances σ² in the elimination order (a float: the same for all).

    Returns
    -------
    A : scipy.sparse.csc_matrix, shape (N, N)
        Symmetric positive definite.

    Notes
    -----
    With :math:`\Theta^{-1} \approx LL^\top` and :math:`R = \operatorname{diag}(\sigma^2)`,

    .. math::

        A = LL^\top + R^{-1}, \qquad \Theta + R = \Theta A R,

    so :math:`A` is the precision of f given y, and its sparsity is that of
    :math:`LL^\top`.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> noisy_precision(np.eye(2), np.array([0.5, 0.25])).toarray().tolist()
    [[3.0, 0.0], [0.0, 5.0]]
    """
    device = one_backend(L=L, noise=noise)
    L = check_factor(L)
    noise = backend.to_device(check_noise(noise, L.shape[0]), like=device)
    sparse = sparse_modules(L)[1]
    A = (L @ L.T + sparse.diags(1.0 / noise)).tocsc()
    if not all_finite(A.data):
        raise ValueError("L: expected a factor whose product L Lᵀ is finite, received overflow")
    return A


def _pattern(pattern, L):
    if isinstance(pattern, vecchia.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise ValueError(f"pattern: expected one of {PATTERNS} or a Pattern, received {pattern!r}")
    check_choice("pattern", pattern, PATTERNS)
    return lower_triangle_pattern(L if pattern == "factor" else L @ L.T)


def noise_factor(L, noise, pattern="factor"):
    r"""Incomplete Cholesky factor ``C`` of ``A = L Lᵀ + R⁻¹`` with zero fill-in.

    Parameters
    ----------
    L : sparse matrix, shape (N, N)
        Noise-free factor in the elimination order.
    noise : ndarray, shape (N,) or float
        Noise variances σ² in the elimination order.
    pattern : {"factor", "product"} or Pattern, optional
        ``"factor"``: the pattern of L (the paper's choice, as sparse as L);
        ``"product"``: the lower triangle of :math:`LL^\top` (the pattern of A, denser
        and more accurate); or any lower-triangular Pattern with the diagonal.

    Returns
    -------
    C : scipy.sparse.csc_matrix, shape (N, N)
        Lower triangular, :math:`CC^\top = A` on the pattern.

    Raises
    ------
    numpy.linalg.LinAlgError
        On breakdown (a non-positive pivot), naming the column and the remedies.

    Notes
    -----
    See :func:`~refimpl.vecchia.incomplete_factorization.incomplete_cholesky`. The pattern
    of :math:`LL^\top` is the sparsity of A itself (classical IC(0)); with the full
    pattern C is the exact Cholesky factor of A.

    .. math::

        CC^\top \approx A = LL^\top + R^{-1}.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> C = noise_factor(np.eye(2), 0.25)
    >>> C.toarray().tolist()  # A = I + 4 I
    [[2.23606797749979, 0.0], [0.0, 2.23606797749979]]
    """
    A = noisy_precision(L, noise)
    # the incomplete Cholesky is the noise path's host stage: it takes A from the device
    # and returns C there (refimpl.vecchia.incomplete_factorization)
    return incomplete_cholesky(A, _pattern(pattern, check_factor(L)))


def noisy_kl_cholesky(points, kernel, noise, rho, lam=1.5, p=1, pattern="factor"):
    r"""Factors for noisy data: the noise-free KL factor L and the incomplete factor C.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points, in any order.
    kernel : callable
        The covariance of the latent field, e.g. ``Matern(1.5, 0.5)``.
    noise : ndarray, shape (N,) or float
        Noise variances σ² in the order of ``points``.
    rho, lam, p
        As in :func:`~refimpl.vecchia.kl_cholesky`.
    pattern : {"factor", "product"} or Pattern, optional
        Pattern of C, see :func:`noise_factor`.

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
        ``inv(Θ[order][:, order]) ≈ L Lᵀ``.
    C : scipy.sparse.csc_matrix, shape (N, N)
        ``C Cᵀ ≈ L Lᵀ + diag(1 / noise[order])``.
    order : ndarray of int, shape (N,)
        The reverse maximin order, finest first.

    Notes
    -----
    The approximate covariance of the noisy data is
    :math:`(LL^\top)^{-1} CC^\top R`, exact (:math:`= \Theta + R`) when L and C are;
    see :mod:`~refimpl.vecchia.noise_kl`.

    .. math::

        \Theta + R = \Theta\,(\Theta^{-1} + R^{-1})\,R \approx (LL^\top)^{-1}\,CC^\top R.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern
    >>> x = np.random.default_rng(0).uniform(size=(200, 2))
    >>> L, C, order = noisy_kl_cholesky(x, Matern(1.5, 0.3), 0.1, rho=3.0)
    >>> L.nnz == C.nnz, bool(np.all(C.diagonal() > 0))
    (True, True)
    """
    one_backend(points=points, noise=noise)
    host = vecchia.check_points(points)
    noise = check_noise(noise, host.shape[0], of="points")
    L, order = vecchia.kl_cholesky(points, kernel, rho, lam=lam, p=p)
    noise = backend.to_device(noise[backend.to_numpy(order)], like=L)
    return L, noise_factor(L, noise, pattern), order


class _NoisyKernel:
    """``k(x, y) + σ²_i [i = j]`` on points carrying their index as a last coordinate."""

    def __init__(self, kernel, noise):
        self.kernel, self.noise = kernel, noise

    def __call__(self, X, Y=None):
        Y = X if Y is None else Y
        K = backend.to_numpy(self.kernel(X[..., :-1], Y[..., :-1]))
        same = X[..., :, None, -1] == Y[..., None, :, -1]  # (..., n, m)
        if K.dtype.kind not in "fiub" or K.shape != same.shape:
            # complex, no numbers or a wrong shape (a scalar would broadcast): returned as
            # it is, so that the factor refuses it, naming kernel, exactly as it refuses
            # the kernel itself in noisy_kl_cholesky
            return K
        ids = np.rint(X[..., :, -1]).astype(np.intp)  # (..., n)
        return K + np.where(same, self.noise[ids][..., :, None], 0.0)


def naive_kl_cholesky(points, kernel, noise, rho, lam=1.5, p=1):
    r"""The naive baseline: the KL-optimal factor of the noisy covariance ``Θ + R`` itself.

    Parameters
    ----------
    points : ndarray, shape (N, d)
        Distinct, finite points, in any order.
    kernel : callable
    noise : ndarray, shape (N,) or float
        Noise variances σ² in the order of ``points``.
    rho, lam, p
        As in :func:`~refimpl.vecchia.kl_cholesky`.

    Returns
    -------
    L : scipy.sparse.csc_matrix, shape (N, N)
        ``inv((Θ + R)[order][:, order]) ≈ L Lᵀ``.
    order : ndarray of int, shape (N,)

    Notes
    -----
    Same ordering, pattern and supernodes as :func:`noisy_kl_cholesky`, but every
    kernel block carries the noise of its own points on the diagonal,

    .. math::

        \min_{L \in S}\ \mathrm{KL}\big(\mathcal N(0, \Theta + R)\,\|\,
        \mathcal N(0, (LL^\top)^{-1})\big).

    With much noise the conditional of a point given its (noisy) neighbours is far
    from its conditional given everything: screening fails and the KL grows.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.vecchia import Matern, dense_inverse_cholesky
    >>> x = np.array([[0.0], [0.4], [1.0]])
    >>> L, order = naive_kl_cholesky(x, Matern(0.5, 1.0), 0.1, rho=np.inf)
    >>> sigma = Matern(0.5, 1.0)(x[order]) + 0.1 * np.eye(3)
    >>> bool(np.allclose(L.toarray() @ L.toarray().T, np.linalg.inv(sigma)))
    True
    """
    like = one_backend(points=points, noise=noise)
    points = vecchia.check_points(points)
    noise = check_noise(noise, points.shape[0], of="points")
    if not callable(kernel):
        raise ValueError(f"kernel: expected a callable kernel(X, Y), received {kernel!r}")
    if isinstance(kernel, vecchia.Kernel):
        kernel.check_dimension(points.shape[1])
    order, lengths = vecchia.maximin_ordering(points, p=p)
    ordered = points[order]
    groups = vecchia.supernodes(vecchia.ball_pattern(ordered, lengths, rho), lengths, lam)
    tagged = np.concatenate([ordered, np.arange(len(order))[:, None]], axis=1)  # (N, d + 1)
    L = vecchia.supernodal_kl_factor(tagged, _NoisyKernel(kernel, noise[order]), groups)
    # the baseline runs on the host (its kernel looks up host noise by the tagged index);
    # device callers get the factor and order back on their device
    return backend.to_device(L, like=like), backend.to_device(order, like=like)
