r"""CGD on the bilinear game f = xᵀAy in closed form, through the SVD of A.

With A = U Σ Vᵀ, each pair (ξ_i, ζ_i) = (u_iᵀx, v_iᵀy) is the scalar game α = σ_i,
on which CGD is the scaled rotation (I + ησ_iJ)⁻¹; the null-space components of x
and y are left fixed. Derivation: ``docs/derivations/cgd.md``.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.
"""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.validation import as_float_array, check_integer, check_positive, finite_or_overflow

__all__ = ["cgd_bilinear_contraction", "cgd_bilinear_closed_form"]


def cgd_bilinear_contraction(A, eta):
    r"""Per-singular-direction contraction factor of one CGD step on f = xᵀAy.

    Parameters
    ----------
    A : ndarray, shape (n, m)
        The game's matrix (finite).
    eta : float
        Step size of both players, > 0.

    Returns
    -------
    ndarray, shape (min(n, m),)
        ρ_i for the singular values σ_i of A, in descending order of σ_i.

    Notes
    -----
    .. math::

        \rho_i = \frac{1}{\sqrt{1 + \eta^2 \sigma_i^2}},

    evaluated as 1/hypot(1, ησ_i), so it does not overflow. Components of x in the
    null space of Aᵀ and of y in the null space of A are left fixed (factor 1, as
    σ = 0 gives) [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> cgd_bilinear_contraction(np.diag([3.0, 0.0]), eta=1.0)
    array([0.31622777, 1.        ])
    """
    A = as_float_array("A", A, ndim=2)
    if A.size == 0:
        raise ValueError(f"A: expected a non-empty matrix, received shape {A.shape}")
    eta = check_positive("eta", eta)
    xp = backend.array_namespace(A)
    scale = float(xp.max(xp.abs(A)))
    sigma = xp.linalg.svd(A / scale if scale > 0 else A, compute_uv=False)
    with np.errstate(over="ignore"):
        return 1.0 / xp.hypot(1.0, (eta * scale) * sigma)


def cgd_bilinear_closed_form(A, x0, y0, eta, k):
    r"""The CGD iterate z_k on f = xᵀAy, in closed form through the SVD of A.

    Parameters
    ----------
    A : ndarray, shape (n, m)
        The game's matrix.
    x0 : ndarray, shape (n,)
        Start of player x.
    y0 : ndarray, shape (m,)
        Start of player y.
    eta : float
        Step size, > 0.
    k : int
        Number of steps, >= 0.

    Returns
    -------
    x_k : ndarray, shape (n,)
    y_k : ndarray, shape (m,)

    Notes
    -----
    With A = U Σ Vᵀ, each pair (ξ_i, ζ_i) = (u_iᵀx, v_iᵀy) is a scalar game with
    α = σ_i, on which k CGD steps apply

    .. math::

        (I + \eta\sigma_i J)^{-k} = (1 + \eta^2\sigma_i^2)^{-k/2}\, R(k\theta_i),
        \qquad \theta_i = \arctan(\eta\sigma_i),

    with R a rotation by kθ_i [1]_. The remaining components (null spaces) are fixed.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = cgd_bilinear_closed_form(np.eye(1), [1.0], [0.0], eta=1.0, k=1)
    >>> x, y
    (array([0.5]), array([0.5]))
    """
    A = as_float_array("A", A, ndim=2)
    x0 = as_float_array("x0", x0, ndim=1, like=A)
    y0 = as_float_array("y0", y0, ndim=1, like=A)
    if A.size == 0:
        raise ValueError(f"A: expected a non-empty matrix, received shape {A.shape}")
    if x0.shape != (A.shape[0],) or y0.shape != (A.shape[1],):
        raise ValueError(
            f"x0, y0: expected shapes ({A.shape[0]},) and ({A.shape[1]},) to match A, "
            f"received {x0.shape} and {y0.shape}"
        )
    eta = check_positive("eta", eta)
    k = check_integer("k", k, minimum=0)
    xp = backend.array_namespace(A, x0, y0)
    a_scale = float(xp.max(xp.abs(A)))
    a_scale = a_scale if a_scale > 0 else 1.0
    z_scale = max(float(xp.max(xp.abs(x0))), float(xp.max(xp.abs(y0))))
    z_scale = z_scale if z_scale > 0 else 1.0
    U, sigma, Vt = xp.linalg.svd(A / a_scale)  # full U (n, n), Vt (m, m)
    r = sigma.size
    xi, zeta = U.T @ (x0 / z_scale), Vt @ (y0 / z_scale)
    with np.errstate(over="ignore", under="ignore"):
        ratio = (eta * a_scale) * sigma  # ησ_i
        scale = xp.hypot(1.0, ratio) ** (-float(k))
        angle = float(k) * xp.arctan(ratio)
    xi_k, zeta_k = xi.copy(), zeta.copy()
    xi_k[:r] = scale * (xp.cos(angle) * xi[:r] - xp.sin(angle) * zeta[:r])
    zeta_k[:r] = scale * (xp.sin(angle) * xi[:r] + xp.cos(angle) * zeta[:r])
    with np.errstate(over="ignore"):
        x_k, y_k = (U @ xi_k) * z_scale, (Vt.T @ zeta_k) * z_scale
    message = "z_k exceeds the float range for starts this large"
    return finite_or_overflow((x_k, y_k), "x0, y0", message=message)
