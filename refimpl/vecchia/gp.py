r"""Using a factor ``Θ⁻¹ ≈ L Lᵀ``: log-determinant, solves, likelihood and sampling.

Every function takes ``L`` in the elimination order and vectors in that same
order (``y[order]``). They run on the backend of their inputs: SciPy's sparse
products and ``spsolve_triangular`` for NumPy/SciPy inputs, the device backend's
(``cupyx.scipy.sparse``) for a device factor and device data; a host factor beside
device data (or the reverse) raises ValueError naming both (:func:`one_backend`).
The KL diagnostics are in :mod:`refimpl.vecchia.diagnostics`, prediction in
:mod:`refimpl.vecchia.prediction`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg

from refimpl import backend
from refimpl.validation import (
    all_finite,
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


def sparse_modules(*values):
    """``(xp, sparse, sparse_linalg)`` of the backend that the work on ``values`` runs on:
    a device where any value (an array or a sparse factor) lives on one, else NumPy and
    SciPy."""
    device = next((v for v in values if backend.is_device_array(v)), None)
    if device is None:
        return np, sp, scipy.sparse.linalg
    modules = backend.scipy_namespace(device)
    return backend.array_namespace(device), modules.sparse, modules.sparse_linalg


def one_backend(**values):
    """The first device input among ``values`` (None: all on the host).

    A call computes on one backend: NumPy arrays or SciPy matrices beside device ones
    raise ValueError naming them (move one side with :func:`refimpl.backend.to_device` or
    :func:`refimpl.backend.to_numpy`); numbers and lists go where the arrays are."""
    device = [name for name, value in values.items() if backend.is_device_array(value)]
    host = [
        name
        for name, value in values.items()
        if isinstance(value, np.ndarray) or sp.issparse(value)
    ]
    if device and host:
        raise ValueError(
            f"{', '.join(values)}: expected arrays on one backend, received {', '.join(host)} "
            f"on the host and {', '.join(device)} on a device; move one side with "
            "refimpl.backend.to_device(x, like=...) or refimpl.backend.to_numpy(x)"
        )
    return values[device[0]] if device else None


def check_factor(L, n=None, name="L", match=None):
    """Return L as CSC if it is a lower-triangular (n × n) factor with a positive diagonal.

    ``match`` names the argument that fixes n, so that a mismatch names both. A device
    factor (or dense device array) gives the device backend's CSC matrix."""
    xp, sparse, _ = sparse_modules(L)
    if sparse.issparse(L):
        if L.dtype.kind not in "fiu":
            raise ValueError(f"{name}: expected real entries, received dtype {L.dtype}")
        L = sparse.csc_matrix(L, dtype=float)
        if not all_finite(L.data):
            raise ValueError(f"{name}: expected finite entries, received NaN or inf")
    else:
        dense = as_float_array(name, L, ndim=2)
        L = sparse.csc_matrix(dense if xp is not np else backend.to_numpy(dense))
    if L.shape[0] != L.shape[1] or L.shape[0] == 0 or (n is not None and L.shape[0] != n):
        expected = f"({n}, {n})" if n is not None else "a non-empty square matrix"
        expected += f" to match {match}" if match else ""
        raise ValueError(f"{name}: expected shape {expected}, received {L.shape}")
    if int(sparse.triu(L, k=1).count_nonzero()):
        raise ValueError(
            f"{name}: expected a lower-triangular factor, received entries above the diagonal"
        )
    diagonal = L.diagonal()
    if not bool(xp.all(diagonal > 0)):
        raise ValueError(
            f"{name}: expected a positive diagonal, received minimum {float(diagonal.min())!r}"
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
    xp = sparse_modules(L)[0]
    return float(-2.0 * xp.sum(xp.log(L.diagonal())))  # finite: 0 < L_ii < 1.8e308


def _factor_and_rhs(L, name, b):
    """The checked factor and data, on their one backend (ValueError naming both if they
    are on two)."""
    device = one_backend(L=L, **{name: b})
    L = check_factor(L)
    b = as_float_array(name, b, ndim=(1, 2))
    b = backend.to_numpy(b) if device is None else backend.to_device(b, like=device)
    if b.shape[0] != L.shape[0]:
        raise ValueError(f"{name}: expected {L.shape[0]} rows to match L, received shape {b.shape}")
    return L, b


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
        On the backend of L and b.

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
    L, b = _factor_and_rhs(L, "b", b)
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
    L, b = _factor_and_rhs(L, "b", b)
    solve_triangular = sparse_modules(L)[2].spsolve_triangular
    with np.errstate(over="ignore", invalid="ignore"):
        z = solve_triangular(L.tocsr(), b, lower=True)
        x = solve_triangular(L.T.tocsr(), z, lower=False)
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
    L, y = _factor_and_rhs(L, "y", y)
    value = finite_or_overflow(log_likelihood_of_checked(L, y), "L, y", _RESCALE, _OVERFLOW)
    return float(value) if value.ndim == 0 else value


def log_likelihood_of_checked(L, y):
    """:func:`log_likelihood` of a checked CSC factor and data, unchecked result (the
    inner loop of :class:`~refimpl.vecchia.fitting.VecchiaLikelihood`)."""
    xp = sparse_modules(L)[0]
    w = L.T @ y
    return (
        -0.5 * xp.sum(w * w, axis=0)
        + xp.sum(xp.log(L.diagonal()))
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
    z = backend.to_device(z, like=L)  # drawn on the host (the generator's stream)
    with np.errstate(over="ignore", invalid="ignore"):
        x = sparse_modules(L)[2].spsolve_triangular(L.T.tocsr(), z, lower=False)
    return finite_or_overflow(x, "L, size", _RESCALE, _OVERFLOW)
