r"""The KL-optimal sparse inverse Cholesky factor as plain array code: read this first.

Read top to bottom, in the order of the method. :func:`reverse_maximin` orders the points
finest first and gives each a length scale l; :func:`ball_mask` lets column j use the
coarser points within ρ l_j; :func:`kl_column` is the paper's closed form for one column,
and :func:`kl_factor_loop` applies it to every column; :func:`inverse_cholesky` is the
exact factor that the sparse ones approximate; :func:`group_supernodes` and
:func:`supernodal_factor_loop` let one Cholesky serve many columns; :func:`kl` measures
a factor. The public modules (``ordering``, ``patterns``, ``supernodes``, ``factor``,
``diagnostics``) compute the same with checks and fast paths; ``maximin_ordering_brute_force``
and ``dense_inverse_cholesky`` are these functions behind the checks (the latter with a
blocked LAPACK Cholesky), and
``tests/test_core_vecchia.py`` holds each fast path equal to its definition here.

Conventions: index 0 is the finest point; L is lower triangular with Θ⁻¹ ≈ L Lᵀ in that
order; F reverses the order. "Thm./Sec./eq./Alg." number the paper, Schäfer, Katzfuss,
Owhadi, SIAM J. Sci. Comput. 43(3), 2021; "(D n.m)" the sections and equations of
``docs/derivations/vecchia.md``. Not public API, and no input checks.
"""

from __future__ import annotations

from refimpl import backend


def distances(points):
    """|x_i − x_j| for all pairs, summed over coordinates left to right as the package does."""
    xp = backend.array_namespace(points)
    difference = points[:, None, :] - points[None, :, :]  # (n, n, d)
    return xp.sqrt(xp.sum(difference**2, axis=-1))  # (n, n)


# --- the elimination order ------------------------------------------------------------


def reverse_maximin(points, p=1, initial=(0,)):
    """Reverse p-maximin ordering by its definition (Sec. 3.1, (D 5)), in O(N² p)."""
    # Coarse to fine, with C_k the first k points chosen and dist_p the distance to the
    # p-th nearest of them:  i_{k+1} = argmax_{i ∉ C_k} dist_p(x_i, C_k),
    #                        l_{i_{k+1}} = dist_p(x_{i_{k+1}}, C_k).
    # The points `initial` are chosen first, in that order (point 0 by default: the
    # coarsest); the result is reversed, finest first.
    xp = backend.array_namespace(points)
    n = points.shape[0]
    near = xp.full((n, p), xp.inf)  # (n, p) sorted distances to the p nearest chosen points
    chosen = xp.zeros(n, dtype=bool)
    order = xp.empty(n, dtype=xp.int64)  # (n,) finest first
    lengths = xp.empty(n)  # (n,)
    for t in range(n):
        if t < len(initial):
            j = initial[t]
        else:
            # fewer than p chosen (t < p): rank by the distance to the farthest chosen one
            column = min(t, p) - 1
            j = int(xp.argmax(xp.where(chosen, -1.0, near[:, column])))  # ties: lowest index
        order[n - 1 - t] = j
        lengths[n - 1 - t] = near[j, p - 1]  # inf while fewer than p points are chosen
        chosen[j] = True
        # x_j joins C_k: keep the p smallest of the old distances and the new ones |x_i − x_j|
        to_j = xp.sqrt(xp.sum((points - points[j]) ** 2, axis=1))  # (n,)
        near = xp.sort(xp.concatenate([near, to_j[:, None]], axis=1), axis=1)[:, :p]
    return order, lengths


# --- the sparsity pattern -------------------------------------------------------------


def ball_mask(points, lengths, rho):
    """The ρ-ball pattern (eq. (3.2), (D 6)) of ordered points as a dense mask[i, j]."""
    # S_ρ = {(i, j) : i ≥ j, dist(x_i, x_j) ≤ ρ l_j}; l_j = inf gives the whole column
    xp = backend.array_namespace(points, lengths)
    n = points.shape[0]
    lower = xp.arange(n)[:, None] >= xp.arange(n)[None, :]  # (n, n), i >= j
    return lower & (distances(points) <= rho * lengths[None, :])  # (n, n)


# --- the KL-optimal factor, one column at a time --------------------------------------


def kl_column(theta_ss):
    """The KL-optimal column on rows s, ascending with the column's own row first."""
    # Thm. 2.1, (D 2.1):  L_{s,i} = Θ_ss⁻¹ e₁ / √(e₁ᵀ Θ_ss⁻¹ e₁)
    xp = backend.array_namespace(theta_ss)
    e1 = xp.zeros(theta_ss.shape[0])  # (|s|,)
    e1[0] = 1.0
    v = xp.linalg.solve(theta_ss, e1)  # (|s|,) Θ_ss⁻¹ e₁
    return v / xp.sqrt(v[0])


def kl_factor_loop(points, kernel, mask):
    """The KL-optimal factor on ``mask`` (Thm. 2.1), one column at a time."""
    # Column j needs only the block Θ_{s_j s_j} of its rows s_j = {i : mask[i, j]}: the
    # columns are independent, and factor.kl_factor batches this loop.
    xp = backend.array_namespace(points, mask)
    n = points.shape[0]
    L = xp.zeros((n, n))  # (n, n)
    for j in range(n):
        s = xp.nonzero(mask[:, j])[0]  # (|s_j|,) ascending, j first
        x_s = points[s]  # (|s_j|, d)
        L[s, j] = kl_column(kernel(x_s, x_s))
    return L


# --- the exact factor -----------------------------------------------------------------


def inverse_cholesky(theta):
    """The exact inverse Cholesky factor (Sec. 2, (D 3)): Thm. 2.1 with the full pattern."""
    xp = backend.array_namespace(theta)
    return inverse_of_flipped_cholesky(xp.linalg.cholesky(theta[::-1, ::-1]))


def inverse_of_flipped_cholesky(C):
    """L from C = chol(F Θ F), the Cholesky factor of Θ with its order reversed."""
    # F Θ F = C Cᵀ (C lower), U = F C F (upper, Θ = U Uᵀ), L = U⁻ᵀ: Θ⁻¹ = L Lᵀ
    xp = backend.array_namespace(C)
    linalg = backend.scipy_namespace(C).linalg
    U = C[::-1, ::-1]  # (n, n) upper
    eye = xp.eye(C.shape[0])
    return linalg.solve_triangular(U, eye, lower=False).T  # U⁻ᵀ: lower triangular


# --- supernodes: one Cholesky for many columns ----------------------------------------


def group_supernodes(mask, lengths, lam=1.5):
    """Columns grouped by λ (Sec. 3.2, (D 4)): a list of (members, rows), both ascending."""
    # Walk the columns in order; an unassigned column j leads the supernode
    # {k ∈ s_j : k unassigned, l_k ≤ λ l_j}, whose members share the rows ⋃_k s_k.
    xp = backend.array_namespace(mask, lengths)
    n = mask.shape[0]
    assigned = xp.zeros(n, dtype=bool)
    groups = []
    for j in range(n):
        if bool(assigned[j]):
            continue
        claim = mask[:, j] & ~assigned & (lengths <= lam * lengths[j])  # (n,), j included
        members = xp.nonzero(claim)[0]
        assigned[members] = True
        rows = xp.nonzero(xp.any(mask[:, members], axis=1))[0]  # union of the s_k
        groups.append((members, rows))
    return groups


def supernodal_factor_loop(points, kernel, groups):
    """The KL-optimal factor on the supernodal pattern (Alg. 3.2), one supernode at a time."""
    # (D 4): member k at position q of the rows R gets the rows T = R_{≥k}. With
    # Θ_RR = U Uᵀ, U_TT is the upper factor of Θ_TT, so Thm. 2.1 on T is column q of
    # L_R = U⁻ᵀ (zero above q):  L_{R,k} = L_R e_q.
    xp = backend.array_namespace(points)
    n = points.shape[0]
    L = xp.zeros((n, n))  # (n, n)
    for members, rows in groups:
        x_R = points[rows]  # (|R|, d)
        L_R = inverse_cholesky(kernel(x_R, x_R))  # (|R|, |R|) one Cholesky for all members
        q = xp.searchsorted(rows, members)  # (m,) each member's position in R
        # rows above a member's own position are zeros of the lower-triangular L_R
        L[rows[:, None], members[None, :]] = L_R[:, q]
    return L


# --- how good a factor is -------------------------------------------------------------


def kl(theta, L):
    """KL(N(0, Θ) ‖ N(0, (L Lᵀ)⁻¹)) for a dense lower-triangular L (Sec. 2)."""
    # (D 1.1): KL = ½ [tr(Lᵀ Θ L) − 2 Σ_i log L_ii − log det Θ − N]; the optimal factor
    # has tr(Lᵀ Θ L) = N. (diagnostics.kl_divergence sums small terms instead, (D 1.2).)
    xp = backend.array_namespace(theta, L)
    n = theta.shape[0]
    trace = xp.sum(L * (theta @ L))  # tr(Lᵀ Θ L)
    log_det_L = xp.sum(xp.log(xp.diagonal(L)))
    log_det_theta = 2.0 * xp.sum(xp.log(xp.diagonal(xp.linalg.cholesky(theta))))
    return float(0.5 * (trace - 2.0 * log_det_L - log_det_theta - n))
