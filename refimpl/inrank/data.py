"""Teacher data for the linear network: a target with chosen singular values.

``X`` has shape ``(n_in, n_samples)`` (columns are samples) and ``Y = T X + noise``.
"Whitened" means exactly ``X Xᵀ / n_samples = I`` (not only in expectation); with
``input_spectrum`` the input covariance is exactly ``Q diag(λ) Qᵀ``.

Examples
--------
>>> import numpy as np
>>> from refimpl.inrank.data import teacher, teacher_data
>>> t = teacher([3.0, 1.0], n_out=4, n_in=5, rng=0)
>>> np.round(np.linalg.svd(t.target, compute_uv=False)[:3], 12)
array([3., 1., 0.])
>>> X, Y = teacher_data(t.target, 50, rng=1)
>>> bool(np.allclose(X @ X.T / 50, np.eye(5)))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.inrank.init import random_orthogonal
from refimpl.validation import (
    as_float_array,
    as_generator,
    check_array_size,
    check_integer,
    check_nonnegative,
    finite_or_overflow,
)

__all__ = ["Teacher", "teacher", "whiten", "teacher_data"]


@dataclass(frozen=True)
class Teacher:
    r"""A target map ``T = left @ diag(singular_values) @ right.T``, made by :func:`teacher`.

    Attributes
    ----------
    target : ndarray, shape (n_out, n_in)
        The map ``T``.
    left : ndarray, shape (n_out, k)
        Orthonormal left singular vectors ``U``.
    singular_values : ndarray, shape (k,)
        ``s``, in the order given to :func:`teacher`.
    right : ndarray, shape (n_in, k)
        Orthonormal right singular vectors ``V``.

    Notes
    -----
    .. math:: T = U\,\mathrm{diag}(s)\,V^\top

    References
    ----------
    Saxe, McClelland & Ganguli, ICLR 2014, Section 2.

    Examples
    --------
    >>> t = teacher([2.0, 1.0], 3, 4, rng=0)
    >>> t.target.shape, t.left.shape, t.right.shape
    ((3, 4), (3, 2), (4, 2))
    """

    target: object
    left: object
    singular_values: object
    right: object


def teacher(singular_values, n_out, n_in, rng):
    r"""A random target with prescribed singular values and Haar singular vectors.

    Parameters
    ----------
    singular_values : array_like, shape (k,)
        Non-negative, ``k ≤ min(n_out, n_in)``; kept in the given order.
    n_out, n_in : int
    rng : numpy.random.Generator or int

    Returns
    -------
    Teacher

    Notes
    -----
    .. math:: T = U\,\mathrm{diag}(s)\,V^\top,\quad U^\top U = V^\top V = I_k

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Section 2.

    Examples
    --------
    >>> teacher([2.0], 3, 3, rng=0).target.shape
    (3, 3)
    """
    s = backend.to_numpy(as_float_array("singular_values", singular_values, ndim=1))
    n_out = check_integer("n_out", n_out, minimum=1)
    n_in = check_integer("n_in", n_in, minimum=1)
    if s.size > min(n_out, n_in) or s.size == 0:
        raise ValueError(
            f"singular_values: expected between 1 and min(n_out, n_in) = {min(n_out, n_in)} "
            f"values, received {s.size}"
        )
    if np.any(s < 0):
        raise ValueError(f"singular_values: expected values >= 0, received {s!r}")
    check_array_size("n_out, n_in", (max(n_out, n_in), s.size))
    check_array_size("n_out, n_in", (n_out, n_in))
    rng = as_generator(rng)
    u = backend.to_numpy(random_orthogonal(n_out, s.size, rng))  # (n_out, k)
    v = backend.to_numpy(random_orthogonal(n_in, s.size, rng))  # (n_in, k)
    xp = backend.default_namespace()
    return Teacher(
        target=xp.asarray((u * s) @ v.T),
        left=xp.asarray(u),
        singular_values=xp.asarray(s),
        right=xp.asarray(v),
    )


def whiten(Z):
    r"""Rescale samples so that ``X Xᵀ / n_samples = I`` exactly.

    Parameters
    ----------
    Z : ndarray, shape (n_in, n_samples)
        Needs ``n_samples ≥ n_in`` and full row rank.

    Returns
    -------
    X : ndarray, shape (n_in, n_samples)

    Notes
    -----
    .. math:: X = (Z Z^\top / n)^{-1/2} Z

    References
    ----------
    A. Kessy, A. Lewin, K. Strimmer, "Optimal whitening and decorrelation", The
    American Statistician 72 (2018) (ZCA whitening).

    Examples
    --------
    >>> import numpy as np
    >>> X = whiten(np.random.default_rng(0).standard_normal((3, 10)))
    >>> bool(np.allclose(X @ X.T, 10 * np.eye(3)))
    True
    """
    Z = as_float_array("Z", Z, ndim=2)
    n_in, n = Z.shape
    if n_in == 0:
        raise ValueError(f"Z: expected at least one input (row), received shape {Z.shape}")
    if n < n_in:
        raise ValueError(
            f"Z: expected at least as many samples (columns) as inputs (rows) to whiten, "
            f"received shape {Z.shape}"
        )
    xp = backend.array_namespace(Z)
    evals, evecs = xp.linalg.eigh(Z @ Z.T / n)
    if float(evals[0]) <= 1e-12 * float(evals[-1]):
        raise np.linalg.LinAlgError("Z: sample covariance is singular; cannot whiten")
    return finite_or_overflow((evecs / xp.sqrt(evals)) @ (evecs.T @ Z), "Z")


def teacher_data(target, n_samples, rng, input_spectrum=None, noise=0.0):
    r"""Inputs and labels ``Y = T X + noise · E`` for a linear teacher.

    Parameters
    ----------
    target : ndarray, shape (n_out, n_in)
    n_samples : int
        ``≥ n_in``.
    rng : numpy.random.Generator or int
    input_spectrum : array_like, shape (n_in,), optional
        Positive eigenvalues ``λ`` of the input covariance. ``None`` gives whitened
        inputs, ``X Xᵀ / n_samples = I``; otherwise ``X Xᵀ / n_samples = Q diag(λ) Qᵀ``
        exactly, with a Haar-random ``Q`` (correlated inputs).
    noise : float
        Standard deviation of i.i.d. Gaussian label noise (``≥ 0``).

    Returns
    -------
    X : ndarray, shape (n_in, n_samples)
    Y : ndarray, shape (n_out, n_samples)

    Notes
    -----
    With whitened inputs the least-squares map is
    :math:`\Sigma_{yx} = Y X^\top / n = T + E X^\top / n`, which is what gradient
    descent learns; with noise it differs from ``T`` by :math:`O(\text{noise}/\sqrt{n})`.

    .. math::

        Y = T X + \text{noise}\cdot E,\qquad
        X X^\top/n = Q\,\mathrm{diag}(\lambda)\,Q^\top

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Section 2.

    Examples
    --------
    >>> import numpy as np
    >>> X, Y = teacher_data(np.eye(2), 20, rng=0, input_spectrum=[4.0, 1.0])
    >>> np.round(np.linalg.eigvalsh(X @ X.T / 20), 10)
    array([1., 4.])
    """
    target = as_float_array("target", target, ndim=2)
    n_out, n_in = target.shape
    if target.size == 0:
        raise ValueError(f"target: expected a non-empty matrix, received shape {target.shape}")
    n_samples = check_integer("n_samples", n_samples, minimum=n_in)
    check_array_size("n_samples", (max(n_in, n_out), n_samples))
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)
    X = whiten(backend.asarray(rng.standard_normal((n_in, n_samples)), like=target))
    if input_spectrum is not None:
        lam = backend.to_numpy(as_float_array("input_spectrum", input_spectrum, ndim=1))
        if lam.shape != (n_in,):  # one eigenvalue per input: a column of target
            raise ValueError(
                f"target, input_spectrum: expected one eigenvalue per column of target "
                f"({n_in}), received {lam.shape[0] if lam.ndim else 0} in input_spectrum"
            )
        if np.any(lam <= 0):
            raise ValueError(f"input_spectrum: expected positive eigenvalues, received {lam!r}")
        q = backend.to_numpy(random_orthogonal(n_in, n_in, rng))
        X = backend.asarray((q * np.sqrt(lam)) @ q.T, like=target) @ X
    Y = target @ X
    if noise > 0:
        Y = Y + noise * backend.asarray(rng.standard_normal(Y.shape), like=target)
    return finite_or_overflow((X, Y), "target, input_spectrum, noise")
