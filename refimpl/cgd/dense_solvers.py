r"""Dense solves of the CGD update, for games small enough to form their mixed blocks.

Zero-sum games (D_yx g = −(D_xy f)ᵀ) need one Cholesky factorization of a symmetric
positive definite matrix, on the side of the player with fewer variables; the
other player's move follows by substitution. General-sum games solve both
players' systems as written, by LU. The derivations are in
``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   arXiv:1905.12103, Eq. (4).
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.arguments import check_finite_result

__all__ = ["dense_zero_sum_step", "dense_general_sum_step"]


def _spd_solve_numpy(C, sqrt_own, sqrt_other, rhs):
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
    check_finite_result("the dense CGD system", system, hint="reduce the step sizes")
    lower, info = lapack.dpotrf(system, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"the dense CGD system is not positive definite ({info})")
    w, info = lapack.dpotrs(lower, rhs, lower=1)
    return w


def _spd_solve(xp, C, sqrt_own, sqrt_other, rhs):
    """w = (I + B Bᵀ)⁻¹ rhs for B = diag(sqrt_own) C diag(sqrt_other), any backend."""
    if xp is np and C.dtype == np.float64:
        return _spd_solve_numpy(C, sqrt_own, sqrt_other, rhs)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (sqrt_own[:, None] * C) * sqrt_other[None, :]  # (p, q)
        system = scaled @ scaled.T  # (p, p), a symmetric rank-k update
    check_finite_result("the dense CGD system", system, hint="reduce the step sizes")
    system[xp.arange(system.shape[0]), xp.arange(system.shape[0])] += 1.0
    lower = xp.linalg.cholesky(system)
    solve_triangular = backend.scipy_namespace(lower).linalg.solve_triangular
    return solve_triangular(lower.T, solve_triangular(lower, rhs, lower=True), lower=False)


def _solve_one_side(xp, C, h_own, h_other, g_own, g_other):
    r"""Δ_own and Δ_other for D_own,other = C and D_other,own = −Cᵀ (zero-sum).

    (I + H_o^{1/2} C H_t Cᵀ H_o^{1/2}) w = H_o^{1/2}(g_o − C H_t g_t), Δ_o = −H_o^{1/2} w,
    Δ_t = −H_t(g_t − Cᵀ Δ_o), where o is the own side and t the other.
    """
    sqrt_own, sqrt_other = xp.sqrt(h_own), xp.sqrt(h_other)
    with np.errstate(over="ignore", invalid="ignore"):
        rhs = sqrt_own * (g_own - C @ (h_other * g_other))
    check_finite_result("the dense CGD system", rhs, hint="reduce the step sizes")
    w = _spd_solve(xp, C, sqrt_own, sqrt_other, rhs)
    d_own = -sqrt_own * w
    with np.errstate(over="ignore", invalid="ignore"):
        d_other = -h_other * (g_other - C.T @ d_own)
    return d_own, d_other


def dense_zero_sum_step(dxy, gx, gy, h_x, h_y):
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

    Returns
    -------
    dx : ndarray, shape (n,)
    dy : ndarray, shape (m,)

    Notes
    -----
    With A = D_xy f and n ≤ m, the system of x is symmetric positive definite,

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
    if dxy.shape[0] <= dxy.shape[1]:
        return _solve_one_side(xp, dxy, h_x, h_y, gx, gy)
    dy, dx = _solve_one_side(xp, -dxy.T, h_y, h_x, gy, gx)
    return dx, dy


def dense_general_sum_step(dxy, dyx, gx, gy, h_x, h_y):
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

    Returns
    -------
    dx : ndarray, shape (n,)
    dy : ndarray, shape (m,)

    Notes
    -----
    .. math::

        \Delta x = -(I - H_x D_{xy} f\, H_y D_{yx} g)^{-1} H_x
                   (\nabla_x f - D_{xy} f\, H_y \nabla_y g),

        \Delta y = -(I - H_y D_{yx} g\, H_x D_{xy} f)^{-1} H_y
                   (\nabla_y g - D_{yx} g\, H_x \nabla_x f).

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
    check_finite_result(
        "the dense CGD system", system_x, system_y, rhs_x, rhs_y, hint="reduce the step sizes"
    )
    system_x[xp.arange(n), xp.arange(n)] += 1.0
    system_y[xp.arange(m), xp.arange(m)] += 1.0
    return -xp.linalg.solve(system_x, rhs_x), -xp.linalg.solve(system_y, rhs_y)
