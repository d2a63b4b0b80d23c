r"""Competitive gradient descent (CGD): one step, by a dense or a matrix-free solve.

At each step both players play the Nash equilibrium of the local bilinear
approximation of the game, regularized by their step sizes:

.. math::

    \min_{\Delta x}\ \Delta x^\top \nabla_x f + \Delta x^\top D_{xy} f\, \Delta y
        + \tfrac{1}{2}\Delta x^\top H_x^{-1} \Delta x, \qquad
    \min_{\Delta y}\ \Delta y^\top \nabla_y g + \Delta y^\top D_{yx} g\, \Delta x
        + \tfrac{1}{2}\Delta y^\top H_y^{-1} \Delta y,

with diagonal step matrices H_x = diag(η_x), H_y = diag(η_y) (scalars for plain
CGD, per-coordinate for ACGD). The derivation of the update from this local game,
and of the substitution Δy = −H_y(∇_y g + D_yx g Δx), is in
``docs/derivations/cgd.md``.

The module holds the step and its solvers:

* :func:`cgd_step`, the public step: it checks its arguments once, runs the unchecked
  step and checks the result once at the end.
* Zero-sum games solve one player's symmetric positive definite system by
  :func:`refimpl.cgd.core.zero_sum_moves`, the one zero-sum solve of the package (the
  GAN's alternating ACGD uses it too), with conjugate gradients or, for ``"dense"``, one
  Cholesky factorization on the side of the player with fewer variables
  (:func:`dense_zero_sum_step`). General-sum games solve both players' systems by LU
  (:func:`dense_general_sum_step`) or x's by GMRES.
* The matrix-free Krylov solvers :func:`conjugate_gradient` and :func:`gmres` take the
  matrix as a function ``apply(v) -> A v``, work on NumPy or CuPy vectors, stop when the
  relative residual ‖b − A x‖ ≤ tol·‖b‖, and count their iterations. A warm start x₀
  begins from the residual b − A x₀, computed explicitly (starting from r = b while
  x = x₀ is a known bug in public CGD code). They work on b / max|b| (the systems are
  linear), so huge but finite right-hand sides do not overflow the norms. Every loop
  ends: at convergence, at ``maxiter``, or with an error naming the iteration.

Why this module is long: the CGD step and its three solvers (Cholesky, CG, GMRES) are
one idea, each solver with the documented contract of a public function.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103, Eq. (4).
.. [2] M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving
   linear systems", J. Res. Nat. Bur. Standards 49 (1952).
.. [3] Y. Saad and M. H. Schultz, "GMRES: a generalized minimal residual algorithm
   for solving nonsymmetric linear systems", SIAM J. Sci. Stat. Comput. 7 (1986).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from refimpl import backend
from refimpl.cgd import core
from refimpl.cgd.arguments import check_step_arguments, check_vector, finished_step
from refimpl.validation import (
    as_float_array,
    check_choice,
    check_divergence,
    check_integer,
    check_positive,
)

__all__ = [
    "CGDInfo",
    "KrylovInfo",
    "SOLVERS",
    "cgd_step",
    "conjugate_gradient",
    "gmres",
    "dense_zero_sum_step",
    "dense_general_sum_step",
]

SOLVERS = ("auto", "dense", "cg", "gmres")


@dataclass(frozen=True)
class CGDInfo:
    r"""Inner-solver outcome of one CGD step.

    Attributes
    ----------
    solver : str
        ``"dense"``, ``"cg"`` or ``"gmres"``.
    iterations : int
        Krylov iterations (0 for the dense solve).
    residual : float
        Relative residual of the inner solve (0 for the dense solve).
    converged : bool
        Whether the inner solve met its tolerance.
    solution : ndarray
        The inner system's solution, to pass as ``initial_guess`` to the next step
        of the *same* solver: w = H_x^{−1/2}(−Δx) for CG, Δx for GMRES and the
        dense solve.

    Notes
    -----
    The CG system is the symmetric positive definite one of :func:`cgd_step`,

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w
            = H_x^{1/2}\bigl(\nabla_x f + D_{xy} f\, H_y \nabla_y f\bigr).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> *_, info = cgd_step(BilinearGame(1.0), np.ones(1), np.zeros(1), 1.0, 1.0, "cg")
    >>> info.solver, info.converged
    ('cg', True)
    """

    solver: str
    iterations: int
    residual: float
    converged: bool
    solution: object


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


# ---------------------------------------------------------------- Krylov solvers, unchecked


_HINT = "the operator or the right-hand side overflowed"


def _true_residual(apply, b, x, iterations):
    """r = b − A x and ‖r‖, the solvers' exit test; DivergenceError if it overflowed."""
    r = b - apply(x)
    r_norm = float(backend.array_namespace(b).linalg.norm(r))
    check_divergence(r_norm, max(iterations, 1), what="the residual ‖b − A x‖", hint=_HINT)
    return r, r_norm


def conjugate_gradient_unchecked(apply, b, x0, tol, maxiter):
    """CG on A x = b without argument checks; every loop ends (see :func:`conjugate_gradient`)."""
    xp = backend.array_namespace(b)
    scale = float(xp.max(xp.abs(b)))  # the systems are linear: solve for x/s with b/s
    if scale == 0.0:
        return xp.zeros_like(b), KrylovInfo(0, 0.0, True)
    b = b / scale
    b_norm = float(xp.linalg.norm(b))
    x = xp.zeros_like(b) if x0 is None else x0 / scale
    r = _true_residual(apply, b, x, 0)[0] if x0 is not None else b.copy()
    iterations = 0
    while True:
        start = iterations
        p = r.copy()
        rr = float(r @ r)
        while rr**0.5 > tol * b_norm and iterations < maxiter:
            Ap = apply(p)
            curvature = float(p @ Ap)  # non-finite exactly when A p has non-finite entries
            if not 0.0 < curvature < math.inf:
                check_divergence(
                    curvature, iterations + 1, what="the curvature pᵀAp of CG", hint=_HINT
                )
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
        # one, and restart from it if the recurrence stopped too early. A pass that took
        # no iteration would repeat itself, so it ends the loop too.
        r, r_norm = _true_residual(apply, b, x, iterations)
        residual = r_norm / b_norm
        if residual <= tol or iterations >= maxiter or iterations == start:
            with np.errstate(over="ignore"):  # an overflow here is the caller's to report
                return x * scale, KrylovInfo(iterations, residual, residual <= tol)


def gmres_unchecked(apply, b, x0, tol, restart, maxiter):
    """Restarted GMRES without argument checks; every loop ends (see :func:`gmres`)."""
    xp = backend.array_namespace(b)
    n = b.shape[0]
    restart = min(n, 200) if restart is None else restart
    scale = float(xp.max(xp.abs(b)))  # the systems are linear: solve for x/s with b/s
    if scale == 0.0:
        return xp.zeros_like(b), KrylovInfo(0, 0.0, True)
    b = b / scale
    b_norm = float(xp.linalg.norm(b))
    x = xp.zeros_like(b) if x0 is None else x0 / scale
    r, beta = _true_residual(apply, b, x, 0) if x0 is not None else (b.copy(), b_norm)
    iterations = 0
    while beta > tol * b_norm and iterations < maxiter:  # each pass takes >= 1 iteration
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
            # non-finite entries of A v leave ‖w‖ non-finite: stop before lstsq meets them
            check_divergence(h_next, iterations, what="the Arnoldi step of GMRES", hint=_HINT)
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
        r, beta = _true_residual(apply, b, x, iterations)  # the true residual, not the estimate
    residual = beta / b_norm
    with np.errstate(over="ignore"):  # an overflow here is the caller's to report
        return x * scale, KrylovInfo(iterations, residual, residual <= tol)


# ---------------------------------------------------------------- Krylov solvers, public


def _check_krylov_arguments(apply, b, x0, tol, maxiter):
    """Checked ``apply`` (shapes and dtypes of what it returns), b, x0, tol and maxiter."""
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
    backend.array_namespace(b, x0)  # rejects mixed backends

    def checked_apply(v):  # the caller's function: refuse a wrong shape or complex values
        try:
            out = apply(v)
        except TypeError as exc:  # not a function of one vector (a class, a wrong signature)
            raise ValueError(
                f"apply: expected a callable v -> A v, calling it on a vector raised {exc!r}"
            ) from exc
        if backend.is_foreign_array(out) or not hasattr(out, "dtype"):
            raise ValueError(
                f"apply: expected a NumPy or CuPy vector of shape {v.shape}, received "
                f"{type(out).__name__}"
            )
        if getattr(out, "shape", None) != v.shape:
            raise ValueError(
                f"apply: expected a vector of shape {v.shape}, received "
                f"{getattr(out, 'shape', type(out).__name__)}"
            )
        if out.dtype.kind not in "fiu":
            raise ValueError(f"apply: expected real values, received dtype {out.dtype}")
        return out

    return checked_apply, b, x0, tol, maxiter


def _finished_solve(x, info):
    """``(x, info)``, or DivergenceError if x = s·(x/s) overflowed."""
    check_divergence(x, max(info.iterations, 1), what="the solution x", hint=_HINT)
    return x, info


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
    returned x is at most tol·‖b‖. The plain loop is
    :func:`refimpl.cgd.core.conjugate_gradient`.

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
    apply, b, x0, tol, maxiter = _check_krylov_arguments(apply, b, x0, tol, maxiter)
    return _finished_solve(*conjugate_gradient_unchecked(apply, b, x0, tol, maxiter))


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
    apply, b, x0, tol, maxiter = _check_krylov_arguments(apply, b, x0, tol, maxiter)
    restart = None if restart is None else check_integer("restart", restart, minimum=1)
    return _finished_solve(*gmres_unchecked(apply, b, x0, tol, restart, maxiter))


# ---------------------------------------------------------------- dense solves


def _finite_system(step, *systems):
    """A direct solve needs a finite matrix: Cholesky of [inf] "succeeds" with w = 0."""
    for system in systems:
        check_divergence(system, step, what="the dense CGD system", hint="reduce the step sizes")


def _spd_solve_numpy(C, sqrt_own, sqrt_other, rhs, step):
    """w = (I + B Bᵀ)⁻¹ rhs, B = diag(sqrt_own) C diag(sqrt_other), by LAPACK directly.

    One symmetric rank-k update into the identity (``dsyrk``, lower triangle, Fortran
    order: no copies and no symmetrization), an in-place Cholesky (``dpotrf``) and its
    solve (``dpotrs``). Scalar steps scale the update instead of the matrix.
    """
    from scipy.linalg import blas, lapack

    p = C.shape[0]
    if sqrt_own.min() == sqrt_own.max() and sqrt_other.min() == sqrt_other.max():
        alpha, B = float(sqrt_own[0] * sqrt_other[0]) ** 2, C
    else:
        alpha, B = 1.0, (sqrt_own[:, None] * C) * sqrt_other[None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        # B.T is a Fortran-ordered view when B is C-ordered: (B.T)ᵀ(B.T) = B Bᵀ
        system = blas.dsyrk(
            alpha, B.T, beta=1.0, c=np.eye(p, order="F"), trans=1, lower=1, overwrite_c=1
        )
    _finite_system(step, system)
    lower, info = lapack.dpotrf(system, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"the dense CGD system is not positive definite ({info})")
    w, info = lapack.dpotrs(lower, rhs, lower=1)
    return w


def _spd_solve(xp, C, sqrt_own, sqrt_other, rhs, step):
    """w = (I + B Bᵀ)⁻¹ rhs for B = diag(sqrt_own) C diag(sqrt_other), any backend."""
    if xp is np and C.dtype == np.float64:
        return _spd_solve_numpy(C, sqrt_own, sqrt_other, rhs, step)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (sqrt_own[:, None] * C) * sqrt_other[None, :]  # (p, q)
        system = scaled @ scaled.T  # (p, p), a symmetric rank-k update
    _finite_system(step, system)
    system[xp.arange(system.shape[0]), xp.arange(system.shape[0])] += 1.0
    lower = xp.linalg.cholesky(system)
    solve_triangular = backend.scipy_namespace(lower).linalg.solve_triangular
    return solve_triangular(lower.T, solve_triangular(lower, rhs, lower=True), lower=False)


def dense_zero_sum_step(dxy, gx, gy, h_x, h_y, step=1):
    r"""The CGD move (Δx, Δy) of a zero-sum game from its dense D_xy f, by one Cholesky.

    Parameters
    ----------
    dxy : ndarray, shape (n, m)
        D_xy f; then D_yx g = −(D_xy f)ᵀ.
    gx : ndarray, shape (n,)
        ∇ₓf.
    gy : ndarray, shape (m,)
        ∇_y g.
    h_x : ndarray, shape (n,)
        The diagonal of H_x (positive).
    h_y : ndarray, shape (m,)
        The diagonal of H_y (positive).
    step : int
        The step that a DivergenceError names (the system overflowed).

    Returns
    -------
    dx : ndarray, shape (n,)
    dy : ndarray, shape (m,)

    Notes
    -----
    :func:`refimpl.cgd.core.zero_sum_moves` with a Cholesky solve: with A = D_xy f and
    n ≤ m, the system of x is symmetric positive definite,

    .. math::

        \bigl(I + H_x^{1/2} A H_y A^\top H_x^{1/2}\bigr) w
            = H_x^{1/2}(\nabla_x f - A H_y \nabla_y g), \qquad \Delta x = -H_x^{1/2} w,

    and Δy = −H_y(∇_y g − Aᵀ Δx). For n > m the roles swap (C = −Aᵀ on y's side).

    Examples
    --------
    >>> import numpy as np
    >>> dense_zero_sum_step(np.eye(1), np.zeros(1), -np.ones(1), np.ones(1), np.ones(1))
    (array([-0.5]), array([0.5]))
    """
    xp = backend.array_namespace(dxy, gx, gy)
    if dxy.shape[0] <= dxy.shape[1]:  # solve on the side with fewer variables
        C, h_own, h_other, g_own, g_other = dxy, h_x, h_y, gx, gy
    else:
        C, h_own, h_other, g_own, g_other = -dxy.T, h_y, h_x, gy, gx
    sqrt_own, sqrt_other = xp.sqrt(h_own), xp.sqrt(h_other)
    with np.errstate(over="ignore", invalid="ignore"):
        own, other, _ = core.zero_sum_moves(
            lambda v: C @ v,  # D_own,other
            lambda u: -(C.T @ u),  # D_other,own = −(D_own,other)ᵀ
            g_own,
            g_other,
            h_own,
            h_other,
            lambda apply, rhs: _spd_solve(xp, C, sqrt_own, sqrt_other, rhs, step),
        )
    return (own, other) if C is dxy else (other, own)


def dense_general_sum_step(dxy, dyx, gx, gy, h_x, h_y, step=1):
    r"""The CGD move (Δx, Δy) of a general-sum game, solving both systems by LU.

    Parameters
    ----------
    dxy : ndarray, shape (n, m)
        D_xy f.
    dyx : ndarray, shape (m, n)
        D_yx g.
    gx, gy : ndarray, shapes (n,) and (m,)
        ∇ₓf and ∇_y g.
    h_x, h_y : ndarray, shapes (n,) and (m,)
        Diagonals of the step matrices.
    step : int
        The step that a DivergenceError names (a system overflowed).

    Returns
    -------
    dx : ndarray, shape (n,)
    dy : ndarray, shape (m,)

    Notes
    -----
    Eq. (4) of [1]_ with diagonal step matrices, as
    :func:`refimpl.cgd.core.cgd_step_dense` writes it for scalar ones:

    .. math::

        \Delta x = -(I - H_x D_{xy} f\, H_y D_{yx} g)^{-1} H_x
                   (\nabla_x f - D_{xy} f\, H_y \nabla_y g),

        \Delta y = -(I - H_y D_{yx} g\, H_x D_{xy} f)^{-1} H_y
                   (\nabla_y g - D_{yx} g\, H_x \nabla_x f).

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> dense_general_sum_step(np.eye(1), -np.eye(1), np.zeros(1), -one, one, one)
    (array([-0.5]), array([0.5]))
    """
    xp = backend.array_namespace(dxy, dyx, gx, gy)
    n, m = dxy.shape
    with np.errstate(over="ignore", invalid="ignore"):
        system_x = -h_x[:, None] * (dxy @ (h_y[:, None] * dyx))
        system_y = -h_y[:, None] * (dyx @ (h_x[:, None] * dxy))
        rhs_x = h_x * (gx - dxy @ (h_y * gy))
        rhs_y = h_y * (gy - dyx @ (h_x * gx))
    _finite_system(step, system_x, system_y)
    system_x[xp.arange(n), xp.arange(n)] += 1.0
    system_y[xp.arange(m), xp.arange(m)] += 1.0
    return -xp.linalg.solve(system_x, rhs_x), -xp.linalg.solve(system_y, rhs_y)


# ---------------------------------------------------------------- the step


def check_solver_options(game, solver, tol, maxiter, restart):
    """``solver`` (with "auto" resolved for ``game``), tol, maxiter and restart, checked."""
    solver = check_choice("solver", solver, SOLVERS)
    tol = check_positive("tol", tol)
    maxiter = None if maxiter is None else check_integer("maxiter", maxiter, minimum=1)
    restart = None if restart is None else check_integer("restart", restart, minimum=1)
    if solver == "auto":
        solver = "cg" if game.zero_sum else "gmres"
    if solver == "cg" and not game.zero_sum:
        raise ValueError(
            "solver: 'cg' needs a zero-sum game (its system is then symmetric positive "
            f"definite), received a general-sum {type(getattr(game, 'game', game)).__name__}; "
            "use 'gmres' or 'dense'"
        )
    return solver, tol, maxiter, restart


def unchecked_step(game, x, y, h_x, h_y, gx, gy, solver, tol, maxiter, guess, restart):
    """One CGD step from checked arguments: ``(x_new, y_new, info)``, nothing checked.

    ``game`` is a :class:`~refimpl.cgd.arguments.CheckedGame` (whose ``step`` the errors
    name), h_x, h_y are step sizes (scalars or per coordinate), gx, gy the gradients at
    (x, y), ``solver`` one of "dense", "cg", "gmres". Shared by :func:`cgd_step` and
    :func:`refimpl.cgd.acgd_step`, which check the result.
    """
    xp = backend.array_namespace(x, y)
    if solver == "dense":
        h_x, h_y = h_x * xp.ones(game.n), h_y * xp.ones(game.m)
        dxy = game.dxy_f_matrix(x, y)
        if game.zero_sum:
            dx, dy = dense_zero_sum_step(dxy, gx, gy, h_x, h_y, game.step)
        else:
            dyx = game.dyx_g_matrix(x, y)
            dx, dy = dense_general_sum_step(dxy, dyx, gx, gy, h_x, h_y, game.step)
        return x + dx, y + dy, CGDInfo("dense", 0, 0.0, True, dx)

    def dxy_f(v):
        return game.dxy_f(x, y, v)

    def dyx_g(u):
        return game.dyx_g(x, y, u)

    if solver == "cg":
        solves = []

        def solve(apply, rhs):
            w, krylov = conjugate_gradient_unchecked(apply, rhs, guess, tol, maxiter or 10 * game.n)
            solves.append(krylov)
            return w

        h_x = h_x * xp.ones(game.n)  # per coordinate, so that √h_x is the array's sqrt
        dx, dy, solution = core.zero_sum_moves(dxy_f, dyx_g, gx, gy, h_x, h_y, solve)
        krylov = solves[0]
    else:  # GMRES on x's system as written: (I − H_x D_xy f H_y D_yx g) Δx = −H_x(…)
        rhs = -h_x * (gx - dxy_f(h_y * gy))
        dx, krylov = gmres_unchecked(
            lambda v: v - h_x * dxy_f(h_y * dyx_g(v)),
            rhs,
            guess,
            tol,
            restart,
            maxiter or 10 * game.n,
        )
        dy, solution = -h_y * (gy + dyx_g(dx)), dx
    info = CGDInfo(solver, krylov.iterations, krylov.residual, krylov.converged, solution)
    return x + dx, y + dy, info


def _check_gradients(gradients, game, like):
    if not isinstance(gradients, tuple | list) or len(gradients) != 2:
        raise ValueError(f"gradients: expected a pair (grad_x_f, grad_y_g), received {gradients!r}")
    gx = check_vector("gradients", gradients[0], game.n, like=like)
    return gx, check_vector("gradients", gradients[1], game.m, like=like)


def cgd_step(
    game,
    x,
    y,
    eta_x,
    eta_y,
    solver="auto",
    tol=1e-12,
    maxiter=None,
    initial_guess=None,
    gradients=None,
    restart=None,
):
    r"""One step of competitive gradient descent.

    Parameters
    ----------
    game : Game
        A two-player game.
    x : ndarray, shape (n,)
        Point of player x.
    y : ndarray, shape (m,)
        Point of player y.
    eta_x, eta_y : float or ndarray of shape (n,) and (m,)
        Step sizes > 0: scalars, or per-coordinate (the diagonals of H_x and H_y).
    solver : {"auto", "dense", "cg", "gmres"}
        ``"dense"`` forms D_xy f (and D_yx g for general-sum games) and solves
        directly: one Cholesky factorization for zero-sum games, two LU solves
        otherwise. ``"cg"`` (zero-sum games only) solves the symmetric positive
        definite system of x below by conjugate gradients; ``"gmres"`` solves x's
        system as written. ``"auto"`` is CG for zero-sum games and GMRES otherwise.
    tol : float
        Relative residual tolerance of CG and GMRES, > 0.
    maxiter : int, optional
        Iteration cap of CG and GMRES.
    initial_guess : ndarray, shape (n,), optional
        Initial guess for the inner solve (``info.solution`` of the previous
        step); the solvers start from the residual b − A x₀.
    gradients : tuple (ndarray (n,), ndarray (m,)), optional
        ∇ₓf and ∇_y g at (x, y) when already computed.
    restart : int, optional
        GMRES restart length.

    Returns
    -------
    x_new : ndarray, shape (n,)
        x + Δx.
    y_new : ndarray, shape (m,)
        y + Δy.
    info : CGDInfo
        The inner solve's solver, iterations, residual and solution.

    Raises
    ------
    refimpl.validation.DivergenceError
        If the step overflows (huge step sizes or points), with ``step`` 1 (the run's
        step inside :func:`refimpl.cgd.run`).
    numpy.linalg.LinAlgError
        If a direct solve meets a singular system (general-sum games) or CG meets
        pᵀAp ≤ 0.

    Notes
    -----
    The update (Eq. 4 of [1]_, with diagonal step matrices H_x, H_y):

    .. math::

        \Delta x = -(I - H_x D_{xy} f\, H_y D_{yx} g)^{-1} H_x
                   (\nabla_x f - D_{xy} f\, H_y \nabla_y g),

        \Delta y = -(I - H_y D_{yx} g\, H_x D_{xy} f)^{-1} H_y
                   (\nabla_y g - D_{yx} g\, H_x \nabla_x f).

    The matrix-free solvers compute Δx and then Δy = −H_y(∇_y g + D_yx g Δx), the
    second player's first-order condition. In a zero-sum game D_yx g = −(D_xy f)ᵀ,
    and with w = H_x^{−1/2}(−Δx) the system of x becomes symmetric positive definite:

    .. math::

        \bigl(I + H_x^{1/2} D_{xy} f\, H_y\, D_{yx} f\, H_x^{1/2}\bigr)\, w
            = H_x^{1/2}\bigl(\nabla_x f + D_{xy} f\, H_y \nabla_y f\bigr).

    Its matrix is I plus a positive semi-definite matrix, so its inverse has norm
    at most 1 and the CG error in w is at most ``tol`` times the norm of the
    right-hand side. Derivations: ``docs/derivations/cgd.md``; the plain versions are
    :func:`refimpl.cgd.core.cgd_step_dense` and :func:`refimpl.cgd.core.cgd_step_cg`.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    On f = αxy, CGD multiplies z = (x, y) by (I + ηαJ)⁻¹, J = [[0, 1], [−1, 0]]:

    >>> import numpy as np
    >>> from refimpl.cgd import BilinearGame
    >>> x1, y1, info = cgd_step(BilinearGame(1.0), np.array([1.0]), np.array([0.0]), 1.0, 1.0)
    >>> x1, y1
    (array([0.5]), array([0.5]))
    """
    game, x, y, eta_x, eta_y = check_step_arguments(game, x, y, eta_x, eta_y)
    solver, tol, maxiter, restart = check_solver_options(game, solver, tol, maxiter, restart)
    if initial_guess is not None:
        initial_guess = check_vector("initial_guess", initial_guess, game.n, like=x)
    if gradients is None:
        gx, gy = game.grad_x_f(x, y), game.grad_y_g(x, y)
    else:
        gx, gy = _check_gradients(gradients, game, x)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        x_new, y_new, info = unchecked_step(
            game, x, y, eta_x, eta_y, gx, gy, solver, tol, maxiter, initial_guess, restart
        )
    finished_step("cgd_step", x_new, y_new, game.step)
    return x_new, y_new, info
