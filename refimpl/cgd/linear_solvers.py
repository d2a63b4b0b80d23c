"""Matrix-free Krylov solvers for the CGD linear systems.

Both solvers take the matrix as a function ``apply(v) -> A v``, work on NumPy or
CuPy vectors, stop when the relative residual ‖b − A x‖ ≤ tol·‖b‖, and count their
iterations. A warm start x₀ begins from the residual b − A x₀, computed
explicitly (starting from r = b while x = x₀ is a known bug in public CGD code).
"""

from __future__ import annotations

from dataclasses import dataclass

from refimpl import backend

__all__ = ["KrylovInfo", "conjugate_gradient", "gmres"]


@dataclass(frozen=True)
class KrylovInfo:
    """Outcome of a Krylov solve.

    Attributes
    ----------
    iterations : int
        Krylov iterations: CG steps, or Arnoldi steps for GMRES (the residual
        checks at exit and at GMRES restarts are not counted).
    residual : float
        Final relative residual ‖b − A x‖ / ‖b‖ (0 when b = 0).
    converged : bool
    """

    iterations: int
    residual: float
    converged: bool


def conjugate_gradient(apply, b, x0=None, tol=1e-12, maxiter=None):
    r"""Solve A x = b for symmetric positive definite A by conjugate gradients.

    Parameters
    ----------
    apply : callable
        v ↦ A v for vectors of the shape of ``b``.
    b : ndarray, shape (n,)
    x0 : ndarray, shape (n,), optional
        Warm start; the initial residual is b − A x₀.
    tol : float
        Relative residual tolerance.
    maxiter : int, optional
        Default 10 n.

    Returns
    -------
    x : ndarray, shape (n,)
    info : KrylovInfo

    Notes
    -----
    Hestenes–Stiefel iteration, with r₀ = b − A x₀, p₀ = r₀:

    .. math::

        \alpha_k = \frac{r_k^\top r_k}{p_k^\top A p_k},\quad
        x_{k+1} = x_k + \alpha_k p_k,\quad r_{k+1} = r_k - \alpha_k A p_k,\quad
        p_{k+1} = r_{k+1} + \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k} p_k.

    Convergence is judged on the true residual b − A x, recomputed when the
    recurrence says it is done (and the iteration restarted from it if not).
    The attainable tolerance is about cond(A) times machine epsilon. For
    A = I + M with M positive semi-definite, ‖A⁻¹‖ ≤ 1, so the error of the
    returned x is at most tol·‖b‖.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x, info = conjugate_gradient(lambda v: A @ v, np.array([1.0, 2.0]))
    >>> np.allclose(A @ x, [1.0, 2.0]), info.converged
    (True, True)
    """
    xp = backend.array_namespace(b, x0)
    maxiter = 10 * b.shape[0] if maxiter is None else maxiter
    b_norm = float(xp.linalg.norm(b))
    if b_norm == 0.0:
        return xp.zeros_like(b), KrylovInfo(0, 0.0, True)
    x = xp.zeros_like(b) if x0 is None else x0.copy()
    r = b - apply(x) if x0 is not None else b.copy()
    iterations = 0
    while True:
        p = r.copy()
        rr = float(r @ r)
        while rr**0.5 > tol * b_norm and iterations < maxiter:
            Ap = apply(p)
            alpha = rr / float(p @ Ap)
            x = x + alpha * p
            r = r - alpha * Ap
            rr_new = float(r @ r)
            p = r + (rr_new / rr) * p
            rr = rr_new
            iterations += 1
        # The recurrence residual drifts from b − A x in floating point: check the true
        # one, and restart from it if the recurrence stopped too early.
        r = b - apply(x)
        residual = float(xp.linalg.norm(r)) / b_norm
        if residual <= tol or iterations >= maxiter:
            return x, KrylovInfo(iterations, residual, residual <= tol)


def gmres(apply, b, x0=None, tol=1e-12, restart=None, maxiter=None):
    r"""Solve A x = b for a general square A by restarted GMRES.

    Parameters
    ----------
    apply : callable
        v ↦ A v.
    b : ndarray, shape (n,)
    x0 : ndarray, shape (n,), optional
        Warm start; the initial residual is b − A x₀.
    tol : float
        Relative residual tolerance.
    restart : int, optional
        Krylov dimension before a restart; default min(n, 200). Restarted GMRES
        can stall on indefinite systems, where a larger restart (up to n, which
        is full GMRES) helps.
    maxiter : int, optional
        Maximum number of matrix-vector products (default 10 n).

    Returns
    -------
    x : ndarray, shape (n,)
    info : KrylovInfo

    Notes
    -----
    Each cycle builds an orthonormal Krylov basis V_k of span{r, Ar, …, A^{k−1}r}
    by Arnoldi (modified Gram–Schmidt, A V_k = V_{k+1} H_k) and takes
    x = x₀ + V_k y with y minimizing ‖β e₁ − H_k y‖, β = ‖r‖.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [-1.0, 2.0]])
    >>> x, info = gmres(lambda v: A @ v, np.array([1.0, 0.0]))
    >>> np.allclose(A @ x, [1.0, 0.0])
    True
    """
    xp = backend.array_namespace(b, x0)
    n = b.shape[0]
    maxiter = 10 * n if maxiter is None else maxiter
    restart = min(n, 200) if restart is None else restart
    b_norm = float(xp.linalg.norm(b))
    if b_norm == 0.0:
        return xp.zeros_like(b), KrylovInfo(0, 0.0, True)
    x = xp.zeros_like(b) if x0 is None else x0.copy()
    r = b - apply(x) if x0 is not None else b.copy()
    beta = float(xp.linalg.norm(r))
    iterations = 0
    while beta > tol * b_norm and iterations < maxiter:
        k_max = min(restart, n, maxiter - iterations)
        basis = [r / beta]
        hessenberg = xp.zeros((k_max + 1, k_max))
        k = 0
        while k < k_max:
            w = apply(basis[k])
            iterations += 1
            for i, v in enumerate(basis):
                hessenberg[i, k] = w @ v
                w = w - hessenberg[i, k] * v
            h_next = float(xp.linalg.norm(w))
            hessenberg[k + 1, k] = h_next
            k += 1
            e1 = xp.zeros(k + 1)
            e1[0] = beta
            coeffs = xp.linalg.lstsq(hessenberg[: k + 1, :k], e1, rcond=None)[0]
            estimate = float(xp.linalg.norm(hessenberg[: k + 1, :k] @ coeffs - e1))
            if estimate <= tol * b_norm or h_next <= 1e-14 * beta:
                break
            basis.append(w / h_next)
        x = x + xp.stack(basis[:k], axis=1) @ coeffs
        r = b - apply(x)  # the true residual, not the Arnoldi estimate
        beta = float(xp.linalg.norm(r))
    residual = beta / b_norm
    return x, KrylovInfo(iterations, residual, residual <= tol)
