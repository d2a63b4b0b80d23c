r"""Using a factor ``Θ⁻¹ ≈ L Lᵀ``: log-determinant, solves, likelihood and sampling.

Every function takes ``L`` in the elimination order and vectors in that same
order (``y[order]``). Sparse triangular solves run on the CPU through
``scipy.sparse.linalg.spsolve_triangular``. The KL diagnostics are in
:mod:`refimpl.vecchia.diagnostics`, prediction in :mod:`refimpl.vecchia.prediction`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve_triangular

from refimpl import backend
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_integer,
    finite_or_overflow,
)

__all__ = [
    "logdet",
    "solve",
    "apply_covariance",
    "log_likelihood",
    "log_likelihood_of_checked",
    "sample",
    "check_factor",
]

# what finite_or_overflow says when a result overflows although L and the data are finite
_OVERFLOW = "the result overflows double precision (entries too large or too small)"
_RESCALE = "rescale the data or the factor"


def check_factor(L, n=None, name="L", match=None):
    """Return L as CSC if it is a lower-triangular (n × n) factor with a positive diagonal.

    ``match`` names the argument that fixes n, so that a mismatch names both."""
    if sp.issparse(L):
        if L.dtype.kind not in "fiu":
            raise ValueError(f"{name}: expected real entries, received dtype {L.dtype}")
        L = sp.csc_matrix(L, dtype=float)
        if not np.all(np.isfinite(L.data)):
            raise ValueError(f"{name}: expected finite entries, received NaN or inf")
    else:
        L = sp.csc_matrix(backend.to_numpy(as_float_array(name, L, ndim=2)))
    if L.shape[0] != L.shape[1] or L.shape[0] == 0 or (n is not None and L.shape[0] != n):
        expected = f"({n}, {n})" if n is not None else "a non-empty square matrix"
        expected += f" to match {match}" if match else ""
        raise ValueError(f"{name}: expected shape {expected}, received {L.shape}")
    if sp.triu(L, k=1).count_nonzero():
        raise ValueError(
            f"{name}: expected a lower-triangular factor, received entries above the diagonal"
        )
    diagonal = L.diagonal()
    if not np.all(diagonal > 0):
        raise ValueError(
            f"{name}: expected a positive diagonal, received minimum {diagonal.min()!r}"
        )
    return L


def logdet(L):
    r"""Log-determinant of the approximate covariance :math:`(LL^\top)^{-1}`.

    Parameters
    ----------
    L : sparse or dense matrix, shape (N, N)
        Lower triangular with a positive diagonal.

    Returns
    -------
    float

    Notes
    -----
    .. math::

        \log\det (LL^\top)^{-1} = -2 \sum_i \log L_{ii},

    in O(N); for the KL-optimal factor the sum of the log conditional variances.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> logdet(np.diag([1.0, 2.0]))  # det((L Lᵀ)⁻¹) = 1/4
    -1.3862943611198906
    """
    L = check_factor(L)
    return float(-2.0 * np.sum(np.log(L.diagonal())))  # finite: 0 < L_ii < 1.8e308


def _as_rhs(name, b, n):
    b = backend.to_numpy(as_float_array(name, b, ndim=(1, 2)))
    if b.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows to match L, received shape {b.shape}")
    return b


def solve(L, b):
    r"""Approximate ``Θ⁻¹ b`` as ``L (Lᵀ b)``: two sparse products, no solve needed.

    Parameters
    ----------
    L : sparse matrix, shape (N, N)
        Lower triangular with a positive diagonal.
    b : ndarray, shape (N,) or (N, k)
        In the elimination order.

    Returns
    -------
    x : ndarray, same shape as b

    Notes
    -----
    .. math::

        \Theta^{-1} b \approx L (L^\top b),

    two sparse products in O(nnz(L)).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> solve(np.diag([1.0, 2.0]), np.ones(2)).tolist()
    [1.0, 4.0]
    """
    L = check_factor(L)
    b = _as_rhs("b", b, L.shape[0])
    return finite_or_overflow(L @ (L.T @ b), "L, b", _RESCALE, _OVERFLOW)


def apply_covariance(L, b):
    r"""Approximate ``Θ b`` as ``L⁻ᵀ (L⁻¹ b)`` with two sparse triangular solves.

    Parameters
    ----------
    L : sparse or dense matrix, shape (N, N)
        Lower triangular with a positive diagonal.
    b : ndarray, shape (N,) or (N, k)
        In the elimination order.

    Returns
    -------
    ndarray, same shape as b

    Notes
    -----
    .. math::

        \Theta b \approx (LL^\top)^{-1} b = L^{-\top}(L^{-1} b).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> apply_covariance(np.diag([1.0, 2.0]), np.ones(2)).tolist()
    [1.0, 0.25]
    """
    L = check_factor(L)
    b = _as_rhs("b", b, L.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        z = spsolve_triangular(L.tocsr(), b, lower=True)
        x = spsolve_triangular(L.T.tocsr(), z, lower=False)
    return finite_or_overflow(x, "L, b", _RESCALE, _OVERFLOW)


def log_likelihood(L, y):
    r"""Gaussian log-likelihood of data y under N(0, (L Lᵀ)⁻¹).

    Parameters
    ----------
    L : sparse matrix, shape (N, N)
        Lower triangular with a positive diagonal.
    y : ndarray, shape (N,) or (N, k)
        Observations in the elimination order; with k columns, one value per column.

    Returns
    -------
    float or ndarray, shape (k,)
        Python float for one column of data.

    Notes
    -----
    .. math::

        \log p(y) = -\tfrac12 \|L^\top y\|^2 + \sum_i \log L_{ii}
        - \tfrac N2 \log 2\pi,

    Vecchia's product of conditional densities, in O(nnz(L)).

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> round(log_likelihood(np.eye(2), np.zeros(2)), 6)  # -log(2π)
    -1.837877
    """
    L = check_factor(L)
    y = _as_rhs("y", y, L.shape[0])
    value = finite_or_overflow(log_likelihood_of_checked(L, y), "L, y", _RESCALE, _OVERFLOW)
    return float(value) if np.ndim(value) == 0 else value


def log_likelihood_of_checked(L, y):
    """:func:`log_likelihood` of a checked CSC factor and data, unchecked result (the
    inner loop of :class:`~refimpl.vecchia.fitting.VecchiaLikelihood`)."""
    w = L.T @ y
    return (
        -0.5 * np.sum(w * w, axis=0)
        + np.sum(np.log(L.diagonal()))
        - 0.5 * L.shape[0] * math.log(2.0 * math.pi)
    )


def sample(L, size=None, rng=None):
    r"""Draw from N(0, (L Lᵀ)⁻¹) as x = L⁻ᵀ z with z standard normal.

    Parameters
    ----------
    L : sparse matrix, shape (N, N)
        Lower triangular with a positive diagonal.
    size : int, optional
        Number of samples; None gives one sample of shape (N,).
    rng : numpy.random.Generator or int, optional
        Seed or generator (:func:`refimpl.validation.as_generator`).

    Returns
    -------
    x : ndarray, shape (N,) or (N, size)
        In the elimination order.

    Notes
    -----
    .. math::

        \operatorname{Cov}(L^{-\top} z) = L^{-\top}L^{-1} = (LL^\top)^{-1}.

    References
    ----------
    .. [1] Schäfer, Katzfuss, Owhadi, "Sparse Cholesky factorization by
       Kullback–Leibler minimization", SIAM J. Sci. Comput. 43(3), 2021, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> sample(np.diag([1.0, 0.5]), size=3, rng=0).shape
    (2, 3)
    """
    L = check_factor(L)
    rng = as_generator(rng)
    n = L.shape[0]
    if size is None:
        z = rng.standard_normal(n)
    else:
        size = check_integer("size", size, minimum=1)
        check_array_size("size", (n, size))
        z = rng.standard_normal((n, size))
    with np.errstate(over="ignore", invalid="ignore"):
        x = spsolve_triangular(L.T.tocsr(), z, lower=False)
    return finite_or_overflow(x, "L, size", _RESCALE, _OVERFLOW)
