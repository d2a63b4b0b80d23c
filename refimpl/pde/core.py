r"""Readable core of :mod:`refimpl.pde`: GP collocation for −Δu + u³ = f on [0, 1]².

Read top to bottom. ``matern72`` and ``covariance``: the prior's covariances of values and
Laplacians; ``dense_gauss_newton``: the 2021 method (Gram matrix, Cholesky, three
Gauss–Newton steps). Then the sparse variant: ``big_list`` and ``elimination_order`` (what
is factored, in which order), ``kl_factor`` on a ``ball_mask`` (the KL-optimal inverse
Cholesky factor), ``pcg`` and ``sparse_gauss_newton``. The public modules (``kernels``,
``dense``, ``sparse``, ``ordering``) add validation and fast paths;
``tests/test_core_pde.py`` checks this file against them. Conventions: Δ = Σᵢ∂ᵢ², the
nugget η is relative to each variance, orders are finest first. Papers: [CHOS] Chen,
Hosseini, Owhadi, Stuart, JCP 447 (2021); [COS] Chen, Owhadi, Schäfer, Math. Comp. (2024),
problem of Sec. 6.1; [SKO] Schäfer, Katzfuss, Owhadi, SISC 43 (2021); derivations in
docs/derivations/pde.md. Not public API, no input checks.
"""

import math

from refimpl import backend
from refimpl.vecchia.core import kl_column


def distances(x, y):
    """|x_i − y_j| for x (n, 2), y (m, 2) -> (n, m)."""
    xp = backend.array_namespace(x, y)
    return xp.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))


def matern72(r, ell=0.3):
    r"""k, Δ_y k and Δ_xΔ_y k of the Matérn-7/2 kernel in d = 2, as functions of r = |x − y|.

    With t = √7 r/ℓ, k = e^{−t}(1 + t + 2t²/5 + t³/15) [COS, App. A]; for a radial φ(r) in
    d dimensions Δφ = φ'' + (d − 1)φ'/r (derivations §3), which gives (d = 2, c² = 7/ℓ²)
    Δk = c² e^{−t}(−6 − 6t − t² + t³)/15 and Δ²k = c⁴ e^{−t}(8 + 8t − 8t² + t³)/15.
    Δ_y k(x, y) = Δk(x − y): the sign of ∂_y drops out at even order.
    """
    xp = backend.array_namespace(r)
    t = math.sqrt(7.0) * r / ell
    e = xp.exp(-t) / 15.0
    c2 = 7.0 / ell**2
    k = e * (15.0 + 15.0 * t + 6.0 * t**2 + t**3)
    lap = c2 * e * (-6.0 - 6.0 * t - t**2 + t**3)
    bilap = c2**2 * e * (8.0 + 8.0 * t - 8.0 * t**2 + t**3)
    return k, lap, bilap


def covariance(x, a, y, b, ell=0.3):
    r"""Cov(φ_i, χ_j) = φ_i^x χ_j^y k(x, y) for φ_i = a_i0 δ_{x_i} + a_i1 Δδ_{x_i} [CHOS, Sec. 3].

    x (n, 2) with weights a (n, 2); y (m, 2) with b (m, 2) -> (n, m):
    a₀b₀ k + (a₀b₁ + a₁b₀) Δk + a₁b₁ Δ²k.
    """
    k, lap, bilap = matern72(distances(x, y), ell)  # (n, m) each
    a0, a1 = a[:, 0:1], a[:, 1:2]  # (n, 1)
    b0, b1 = b[None, :, 0], b[None, :, 1]  # (1, m)
    return a0 * b0 * k + (a0 * b1 + a1 * b0) * lap + a1 * b1 * bilap


def variances(a, ell=0.3):
    """Cov(φ_i, φ_i) = a₀² k(0) + 2a₀a₁ Δk(0) + a₁² Δ²k(0) for a (n, 2) -> (n,)."""
    xp = backend.array_namespace(a)
    k, lap, bilap = matern72(xp.zeros(1), ell)
    return a[:, 0] ** 2 * k + 2.0 * a[:, 0] * a[:, 1] * lap + a[:, 1] ** 2 * bilap


def linearized_weights(v, nb):
    r"""Weights (a₀, a₁) of the system's φ = [δ_{x_b}; (−Δ + 3v²)δ_{x_i}] [CHOS, Sec. 3.3].

    Linearizing −Δu + u³ at v: u³ ≈ v³ + 3v²(u − v), so the interior datum is f + 2v³.
    v (n_i,) -> (n_b + n_i, 2).
    """
    xp = backend.array_namespace(v)
    boundary = xp.stack([xp.ones(nb), xp.zeros(nb)], axis=1)  # δ
    interior = xp.stack([3.0 * v**2, -xp.ones(v.shape[0])], axis=1)  # 3v²δ − Δδ
    return xp.concatenate([boundary, interior])


def dense_gauss_newton(boundary, interior, g, f, steps=3, eta=1e-10, ell=0.3):
    r"""Gauss–Newton with the dense Gram matrix [CHOS, Sec. 3.3]; -> (v, Δv) at the interior.

    Each step: φ = [δ_{x_b}; (−Δ + 3v²)δ_{x_i}], r = [g; f + 2v³],
    (Θ + η diag(diag Θ)) α = r with Θ = Cov(φ, φ), and the new state
    v(x_i) = Cov(δ_{x_i}, φ) α, Δv(x_i) = Cov(Δδ_{x_i}, φ) α.
    boundary (n_b, 2), interior (n_i, 2), g (n_b,), f (n_i,).
    """
    xp = backend.array_namespace(boundary, interior, g, f)
    linalg = backend.scipy_namespace(boundary).linalg
    nb, ni = boundary.shape[0], interior.shape[0]
    points = xp.concatenate([boundary, interior])  # (N, 2), N = n_b + n_i
    value = xp.stack([xp.ones(ni), xp.zeros(ni)], axis=1)  # δ at the interior points
    laplacian = xp.stack([xp.zeros(ni), xp.ones(ni)], axis=1)  # Δδ there
    v, lap_v = xp.zeros(ni), xp.zeros(ni)
    for _ in range(steps):
        a = linearized_weights(v, nb)  # (N, 2)
        rhs = xp.concatenate([g, f + 2.0 * v**3])  # (N,)
        theta = covariance(points, a, points, a, ell)  # (N, N)
        theta = theta + eta * xp.diag(xp.diag(theta))  # the nugget, relative to each variance
        chol = xp.linalg.cholesky(theta)  # Θ = C Cᵀ
        alpha = linalg.solve_triangular(
            chol.T, linalg.solve_triangular(chol, rhs, lower=True), lower=False
        )
        v = covariance(interior, value, points, a, ell) @ alpha
        lap_v = covariance(interior, laplacian, points, a, ell) @ alpha
    return v, lap_v


def maximin(points, dist):
    r"""Coarse-to-fine maximin order [SKO, Sec. 3.1]: i_k = argmax_i dist(x_i, {x_{i_1..i_{k−1}}}).

    ``dist`` (n,) starts as the distances to an already ordered set (inf: none); returns the
    order and the lengths ℓ_{i_k}, that maximal distance at the time i_k is chosen.
    """
    xp = backend.array_namespace(points, dist)
    order, lengths = [], []
    for _ in range(points.shape[0]):
        k = int(xp.argmax(dist))
        order.append(k)
        lengths.append(float(dist[k]))
        dist = xp.minimum(dist, distances(points, points[k : k + 1])[:, 0])  # chosen: 0
    return order, lengths


def kl_factor(x, a, mask, eta=1e-10, ell=0.3):
    r"""KL-optimal L with Θ⁻¹ ≈ LLᵀ on the pattern ``mask`` [SKO, Thm. 2.1].

    Θ = D Cov(φ, φ) D + ηI, φ = a₀δ + a₁Δδ at x (n, 2), all in elimination order, scaled
    to unit variance by D; column i on its rows s_i = {j ≥ i : mask[j, i]} (i first):
    L_{s_i, i} = Θ_{s_i s_i}⁻¹ e₁ / √(e₁ᵀ Θ_{s_i s_i}⁻¹ e₁). Only these blocks of Θ are formed.
    """
    xp = backend.array_namespace(x, a, mask)
    n = x.shape[0]
    L = xp.zeros((n, n))
    for i in range(n):
        s = xp.nonzero(mask[:, i])[0]  # (|s_i|,) ascending, so i comes first
        block = covariance(x[s], a[s], x[s], a[s], ell)  # (|s_i|, |s_i|)
        sd = xp.sqrt(xp.diag(block))
        block = block / (sd[:, None] * sd[None, :]) + eta * xp.eye(s.shape[0])
        L[s, i] = kl_column(block)  # the formula above, from refimpl/vecchia/core.py
    return L


def ball_mask(x, lengths, rho):
    r"""The ρ-pattern of ordered points [SKO, eq. (3.2)]: (i, j), i ≥ j, |x_i − x_j| ≤ ρℓ_j.

    x (n, 2), lengths (n,) -> (n, n) boolean; ρ = inf gives the dense lower triangle.
    """
    xp = backend.array_namespace(x, lengths)
    lower = xp.tril(xp.ones((x.shape[0], x.shape[0]), dtype=bool))
    return lower & (distances(x, x) <= rho * lengths[None, :])


def pcg(apply, precondition, b, x, tol=1e-10, maxiter=500):
    r"""Preconditioned conjugate gradients for Θx = b, M ≈ Θ⁻¹ [Saad, Alg. 9.1].

    Stops when ‖b − Θx‖ ≤ tol ‖b‖ or after ``maxiter`` iterations; b, x (n,).
    """
    xp = backend.array_namespace(b, x)
    r = b - apply(x)
    z = precondition(r)
    p, rz = z, r @ z
    for _ in range(maxiter):
        if xp.linalg.norm(r) <= tol * xp.linalg.norm(b):
            break
        q = apply(p)
        step = rz / (p @ q)
        x, r = x + step * p, r - step * q
        z = precondition(r)
        rz, rz_old = r @ z, rz
        p = z + (rz / rz_old) * p
    return x


def big_list(boundary, interior):
    """The big list [δ_{x_b}; δ_{x_i}; Δδ_{x_i}]: points (N_big, 2), weights (a₀, a₁) (N_big, 2)."""
    xp = backend.array_namespace(boundary, interior)
    nb, ni = boundary.shape[0], interior.shape[0]
    points = xp.concatenate([boundary, interior, interior])
    value = xp.concatenate([xp.ones(nb + ni), xp.zeros(ni)])  # a₀ = 1: δ, else Δδ
    return points, xp.stack([value, 1.0 - value], axis=1)


def elimination_order(boundary, interior):
    r"""Fine-first order of the points and of the big list [COS, Sec. 4.1–4.2].

    The boundary is the coarse set; the interior follows in maximin order started from its
    distances to the boundary; reversed, index 0 is the finest. Each Laplacian comes right
    before its Dirac, with the Dirac's length ("follow"). Returns point_order, point_lengths
    (N,) into [boundary; interior] and big_order, big_lengths (N_big,) into ``big_list``.
    """
    xp = backend.array_namespace(boundary, interior)
    nb, ni = boundary.shape[0], interior.shape[0]
    order_b, len_b = maximin(boundary, xp.full(nb, math.inf))
    order_i, len_i = maximin(interior, distances(interior, boundary).min(axis=1))
    point_order = (order_b + [nb + k for k in order_i])[::-1]  # coarse to fine, reversed
    lengths = (len_b + len_i)[::-1]
    big_order, big_lengths = [], []
    for k, length in zip(point_order, lengths, strict=True):
        big_order += [k + ni, k] if k >= nb else [k]  # Δδ at interior point k is k + n_i
        big_lengths += [length, length] if k >= nb else [length]
    return (
        xp.asarray(point_order),
        xp.asarray(lengths),
        xp.asarray(big_order),
        xp.asarray(big_lengths),
    )


def sparse_gauss_newton(
    boundary, interior, g, f, rho=3.0, steps=3, eta=1e-10, ell=0.3, tol=1e-10, maxiter=500
):
    r"""Gauss–Newton with Θ = AΘ_bigAᵀ from one KL factor and PCG [COS, Alg. 5.1]; -> (v, Δv).

    With the big list φ_big and A = [I 0 0; 0 diag(3v²) −I], the system's φ = Aφ_big. With
    P D Θ_big D Pᵀ + ηI ≈ (LLᵀ)⁻¹ (ordered by P, unit variance by D),
    Θx ≈ A D⁻¹ Pᵀ L⁻ᵀ L⁻¹ P D⁻¹ Aᵀ x: two triangular solves [COS, Sec. 5]. CG is
    preconditioned by the KL factor of Θ itself and started from M r; the new state holds
    every big measurement of the new iterate, β = Θ_big Aᵀ α.
    """
    xp = backend.array_namespace(boundary, interior, g, f)
    linalg = backend.scipy_namespace(boundary).linalg
    nb, ni = boundary.shape[0], interior.shape[0]
    points = xp.concatenate([boundary, interior])  # (N, 2)
    point_order, lengths, big_order, big_lengths = elimination_order(boundary, interior)
    big_points, big_a = big_list(boundary, interior)  # (N_big, 2) each, N_big = n_b + 2n_i
    big_points, big_a = big_points[big_order], big_a[big_order]
    L = kl_factor(big_points, big_a, ball_mask(big_points, big_lengths, rho), eta, ell)
    sd = xp.sqrt(variances(big_a, ell))  # (N_big,) D⁻¹, ordered
    system_mask = ball_mask(points[point_order], lengths, rho)  # the weights change, not this

    def theta_big(y):  # Θ_big y ≈ D⁻¹ Pᵀ L⁻ᵀ L⁻¹ P D⁻¹ y, y (N_big,)
        z = linalg.solve_triangular(L, sd * y[big_order], lower=True)
        out = xp.empty_like(y)
        out[big_order] = sd * linalg.solve_triangular(L.T, z, lower=False)
        return out

    v, lap_v = xp.zeros(ni), xp.zeros(ni)
    for _ in range(steps):
        w = 3.0 * v**2  # (n_i,) the weights of δ in A

        def A_T(x, w=w):  # Aᵀx = [x_b; w x_i; −x_i]
            return xp.concatenate([x[:nb], w * x[nb:], -x[nb:]])

        def theta(x, w=w):  # A Θ_big Aᵀ x
            y = theta_big(A_T(x))
            return xp.concatenate([y[:nb], w * y[nb : nb + ni] - y[nb + ni :]])

        a = linearized_weights(v, nb)[point_order]  # (N, 2), ordered
        M = kl_factor(points[point_order], a, system_mask, eta, ell)
        sd_theta = xp.sqrt(variances(a, ell))

        def precondition(x, M=M, sd_theta=sd_theta):  # Θ⁻¹ ≈ Pᵀ D M Mᵀ D P
            out = xp.empty_like(x)
            out[point_order] = M @ (M.T @ (x[point_order] / sd_theta)) / sd_theta
            return out

        rhs = xp.concatenate([g, f + 2.0 * v**3])
        alpha = pcg(theta, precondition, rhs, precondition(rhs), tol, maxiter)
        beta = theta_big(A_T(alpha))  # (N_big,) [values at x_b; values; Laplacians]
        v, lap_v = beta[nb : nb + ni], beta[nb + ni :]
    return v, lap_v
