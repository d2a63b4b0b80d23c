r"""Matrix-free Krylov solvers for the CGD linear systems.

Both solvers take the matrix as a function ``apply(v) -> A v``, work on NumPy or
CuPy vectors, stop when the relative residual ‖b − A x‖ ≤ tol·‖b‖, and count their
iterations. A warm start x₀ begins from the residual b − A x₀, computed
explicitly (starting from r = b while x = x₀ is a known bug in public CGD code).

Every loop ends: at convergence, at ``maxiter``, or with an error that names the
cause and the iteration. The solvers work on b / max|b| (the systems are linear),
so huge but finite right-hand sides do not overflow the norms.

References
----------
.. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving
   linear systems", J. Res. Nat. Bur. Standards 49 (1952).
.. [2] Y. Saad and M. H. Schultz, "GMRES: a generalized minimal residual algorithm
   for solving nonsymmetric linear systems", SIAM J. Sci. Stat. Comput. 7 (1986).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.cgd.arguments import check_finite_result
from refimpl.validation import as_float_array, check_integer, check_positive

__all__ = ["KrylovInfo", "conjugate_gradient", "gmres"]


@dataclass(frozen=True)
class KrylovInfo:
    r"""Outcome of a Krylov solve.

    Attributes
    ----------
    iterations : int
        Krylov iterations: CG steps, or Arnoldi steps for GMRES (the residual
        checks at exit and at GMRES restarts are not counted).
    residual : float
        Final relative residual ‖b − A x‖ / ‖b‖ (0 when b = 0).
    converged : bool
        Whether ``residual`` ≤ ``tol``.

    Notes
    -----
    .. math::

        \text{residual} = \frac{\lVert b - A x \rVert}{\lVert b \rVert}.

    References
    ----------
    .. [1] Y. Saad, "Iterative Methods for Sparse Linear Systems", SIAM 2003.

    Examples
    --------
    >>> KrylovInfo(3, 1e-13, True).converged
    True
    """

    iterations: int
    residual: float
    converged: bool


def _prepare(apply, b, x0, tol, maxiter):
    """Checked arguments, the scale s = max|b| and the scaled problem A (x/s) = b/s."""
    if not callable(apply):
        raise ValueError(f"apply: expected a callable v -> A v, received {apply!r}")
    b = as_float_array("b", b, ndim=1)
    if b.shape[0] == 0:
        raise ValueError("b: expected a non-empty vector, received shape (0,)")
    x0 = None if x0 is None else as_float_array("x0", x0, ndim=1, like=b)
    if x0 is not None and x0.shape != b.shape:
        raise ValueError(f"x0: expected the shape of b, {b.shape}, received {x0.shape}")
    tol = check_positive("tol", tol)
    maxiter = 10 * b.shape[0] if maxiter is None else check_integer("maxiter", maxiter, minimum=1)
    xp = backend.array_namespace(b, x0)
    scale = float(xp.max(xp.abs(b)))
    return b, x0, tol, maxiter, xp, scale


def _checked_apply(apply, v, iteration):
    """A v, refusing a result of the wrong shape and stopping on non-finite values."""
    check_finite_result(f"the Krylov iterate (iteration {iteration})", v, step=max(iteration, 1))
    out = apply(v)
    if getattr(out, "shape", None) != v.shape:
        raise ValueError(
            f"apply: expected a vector of shape {v.shape}, received "
            f"{getattr(out, 'shape', type(out).__name__)}"
        )
    if out.dtype.kind not in "fiu":
        raise ValueError(f"apply: expected real values, received dtype {out.dtype}")
    check_finite_result(f"apply (iteration {iteration})", out, step=max(iteration, 1))
    return out


def _unscale(x, scale, iterations):
    with np.errstate(over="ignore"):
        x = x * scale
    check_finite_result("the solution x = s·(x / s)", x, step=max(iterations, 1))
    return x


def conjugate_gradient(apply, b, x0=None, tol=1e-12, maxiter=None):
    r"""Solve A x = b for symmetric positive definite A by conjugate gradients.

    Parameters
    ----------
    apply : callable
        v ↦ A v for vectors of the shape of ``b``.
    b : ndarray, shape (n,)
        Right-hand side, finite.
    x0 : ndarray, shape (n,), optional
        Warm start; the initial residual is b − A x₀.
    tol : float
        Relative residual tolerance, > 0.
    maxiter : int, optional
        Iteration cap, >= 1; default 10 n.

    Returns
    -------
    x : ndarray, shape (n,)
        The approximate solution.
    info : KrylovInfo
        Iterations, the true relative residual and whether it met ``tol``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If pᵀAp ≤ 0 for a search direction p (A is not positive definite).
    refimpl.validation.DivergenceError
        If ``apply`` returns non-finite values, with the iteration.

    Notes
    -----
    Hestenes–Stiefel iteration [1]_, with r₀ = b − A x₀, p₀ = r₀:

    .. math::

        \alpha_k = \frac{r_k^\top r_k}{p_k^\top A p_k},\quad
        x_{k+1} = x_k + \alpha_k p_k,\quad r_{k+1} = r_k - \alpha_k A p_k,\quad
        p_{k+1} = r_{k+1} + \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k} p_k.

    Convergence is judged on the true residual b − A x, recomputed when the
    recurrence says it is done (and the iteration restarted from it if not).
    The attainable tolerance is about cond(A) times machine epsilon. For
    A = I + M with M positive semi-definite, ‖A⁻¹‖ ≤ 1, so the error of the
    returned x is at most tol·‖b‖.

    References
    ----------
    .. [1] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving
       linear systems", J. Res. Nat. Bur. Standards 49 (1952).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x, info = conjugate_gradient(lambda v: A @ v, np.array([1.0, 2.0]))
    >>> np.allclose(A @ x, [1.0, 2.0]), info.converged
    (True, True)
    """
    b, x0, tol, maxiter, xp, scale = _prepare(apply, b, x0, tol, maxiter)
    if scale == 0.0:
        return xp.zeros_like(b), KrylovInfo(0, 0.0, True)
    b = b / scale
    b_norm = float(xp.linalg.norm(b))
    x = xp.zeros_like(b) if x0 is None else x0 / scale
    r = b - _checked_apply(apply, x, 0) if x0 is not None else b.copy()
    iterations = 0
    while True:
        p = r.copy()
        rr = float(r @ r)
        while rr**0.5 > tol * b_norm and iterations < maxiter:
            Ap = _checked_apply(apply, p, iterations + 1)
            curvature = float(p @ Ap)
            if not curvature > 0:
                raise np.linalg.LinAlgError(
                    f"apply: the operator is not positive definite (p^T A p = {curvature:.3g} "
                    f"at iteration {iterations + 1}); use gmres for general systems"
                )
            alpha = rr / curvature
            x = x + alpha * p
            r = r - alpha * Ap
            rr_new = float(r @ r)
            p = r + (rr_new / rr) * p
            rr = rr_new
            iterations += 1
        # The recurrence residual drifts from b − A x in floating point: check the true
        # one, and restart from it if the recurrence stopped too early. Every pass of
        # this loop either returns or takes at least one iteration, so it ends.
        r = b - _checked_apply(apply, x, iterations)
        residual = float(xp.linalg.norm(r)) / b_norm
        if residual <= tol or iterations >= maxiter:
            x = _unscale(x, scale, iterations)
            return x, KrylovInfo(iterations, residual, residual <= tol)


def gmres(apply, b, x0=None, tol=1e-12, restart=None, maxiter=None):
    r"""Solve A x = b for a general square A by restarted GMRES.

    Parameters
    ----------
    apply : callable
        v ↦ A v.
    b : ndarray, shape (n,)
        Right-hand side, finite.
    x0 : ndarray, shape (n,), optional
        Warm start; the initial residual is b − A x₀.
    tol : float
        Relative residual tolerance, > 0.
    restart : int, optional
        Krylov dimension before a restart, >= 1; default min(n, 200). Restarted
        GMRES can stall on indefinite systems, where a larger restart (up to n,
        which is full GMRES) helps.
    maxiter : int, optional
        Maximum number of Arnoldi steps, >= 1 (default 10 n).

    Returns
    -------
    x : ndarray, shape (n,)
        The approximate solution.
    info : KrylovInfo
        Iterations, the true relative residual and whether it met ``tol``.

    Raises
    ------
    refimpl.validation.DivergenceError
        If ``apply`` returns non-finite values, with the iteration.

    Notes
    -----
    Each cycle builds an orthonormal Krylov basis V_k of span{r, Ar, …, A^{k−1}r}
    by Arnoldi (modified Gram–Schmidt, A V_k = V_{k+1} H_k) and takes x = x₀ + V_k y
    with [1]_

    .. math::

        y = \operatorname*{arg\,min}_y \lVert \beta e_1 - H_k y \rVert, \qquad
        \beta = \lVert r \rVert.

    References
    ----------
    .. [1] Y. Saad and M. H. Schultz, "GMRES: a generalized minimal residual algorithm
       for solving nonsymmetric linear systems", SIAM J. Sci. Stat. Comput. 7 (1986).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [-1.0, 2.0]])
    >>> x, info = gmres(lambda v: A @ v, np.array([1.0, 0.0]))
    >>> np.allclose(A @ x, [1.0, 0.0])
    True
    """
    b, x0, tol, maxiter, xp, scale = _prepare(apply, b, x0, tol, maxiter)
    n = b.shape[0]
    restart = min(n, 200) if restart is None else check_integer("restart", restart, minimum=1)
    if scale == 0.0:
        return xp.zeros_like(b), KrylovInfo(0, 0.0, True)
    b = b / scale
    b_norm = float(xp.linalg.norm(b))
    x = xp.zeros_like(b) if x0 is None else x0 / scale
    r = b - _checked_apply(apply, x, 0) if x0 is not None else b.copy()
    beta = float(xp.linalg.norm(r))
    iterations = 0
    while beta > tol * b_norm and iterations < maxiter:  # each pass takes >= 1 iteration
        k_max = min(restart, n, maxiter - iterations)
        basis = [r / beta]
        hessenberg = xp.zeros((k_max + 1, k_max))
        k = 0
        while k < k_max:
            w = _checked_apply(apply, basis[k], iterations + 1)
            iterations += 1
            for i, v in enumerate(basis):
                hessenberg[i, k] = w @ v
                w = w - hessenberg[i, k] * v
            h_next = float(xp.linalg.norm(w))
            hessenberg[k + 1, k] = h_next
            check_finite_result(
                f"the Arnoldi step (iteration {iterations})", hessenberg[:, k], step=iterations
            )
            k += 1
            e1 = xp.zeros(k + 1)
            e1[0] = beta
            coeffs = xp.linalg.lstsq(hessenberg[: k + 1, :k], e1, rcond=None)[0]
            estimate = float(xp.linalg.norm(hessenberg[: k + 1, :k] @ coeffs - e1))
            if estimate <= tol * b_norm or h_next <= 1e-14 * beta:
                break
            basis.append(w / h_next)
        x = x + xp.stack(basis[:k], axis=1) @ coeffs
        r = b - _checked_apply(apply, x, iterations)  # the true residual, not the estimate
        beta = float(xp.linalg.norm(r))
    residual = beta / b_norm
    return _unscale(x, scale, iterations), KrylovInfo(iterations, residual, residual <= tol)
