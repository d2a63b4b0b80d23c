"""vecchia on a device: kernel blocks and dense factors on device arrays, and the front doors.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy). Kernel blocks are elementwise functions of distances (sums
of two squares): another summation order moves an entry by ≤ 10 · EPS relative, and the
Bessel route (ν = 0.8) runs on the host and comes back. The dense inverse Cholesky factor
is within ``10 · n · κ(Θ) · EPS · max|L|`` of NumPy's (a backward-stable Cholesky and
triangular solve).

The sparse front doors compute on the device and return the device backend's arrays and
sparse matrices (``cupyx.scipy.sparse`` for CuPy): :func:`~refimpl.vecchia.kl_cholesky`
orders the points on the host (SciPy's KD-tree; the order is exactly the NumPy route's)
and factors on the device; :func:`~refimpl.vecchia.solve` and its relatives use the
device's sparse products and triangular solves. On the stand-in (NumPy underneath) the
numbers are the NumPy route's exactly; the stated tolerances are for a GPU.
"""

import numpy as np
import pytest
from device_checks import device_only, host_dense, on_backend

from refimpl import backend
from refimpl import vecchia as v

EPS = np.finfo(float).eps


def _ordered(n=40, seed=0):
    pts = np.random.default_rng(seed).uniform(size=(n, 2))
    order, lengths = v.maximin_ordering(pts)
    return pts[order], lengths


@pytest.mark.parametrize(
    "kernel",
    [
        v.Matern(0.5, 0.3),
        v.Matern(1.5, 0.3),
        v.Matern(2.5, 0.3),
        v.Matern(0.8, 0.3),
        v.Gaussian(0.3),
    ],
    ids=repr,
)
def test_kernel_blocks_and_distances_on_the_device(xp, kernel):
    x, _ = _ordered(12)
    y = x[::-1][:5]
    block = kernel(xp.asarray(x), xp.asarray(y))
    on_backend(xp, block)
    np.testing.assert_allclose(backend.to_numpy(block), kernel(x, y), rtol=10 * EPS, atol=0)
    distances = v.pairwise_distances(xp.asarray(x), xp.asarray(y))
    on_backend(xp, distances)
    np.testing.assert_allclose(
        backend.to_numpy(distances), v.pairwise_distances(x, y), rtol=10 * EPS, atol=0
    )


def test_dense_factor_and_divergence_on_the_device(xp):
    x, _ = _ordered(30)
    theta = v.Matern(1.5, 0.3)(x, x)
    L_host = v.dense_inverse_cholesky(theta)
    L = v.dense_inverse_cholesky(xp.asarray(theta))
    on_backend(xp, L)
    tol = 10 * len(x) * np.linalg.cond(theta) * EPS * np.abs(L_host).max()
    np.testing.assert_allclose(backend.to_numpy(L), L_host, rtol=0, atol=tol)
    # KL(Θ ‖ (L Lᵀ)⁻¹) of the exact factor is 0 up to n · κ · EPS
    value = v.kl_divergence(xp.asarray(theta), L)
    assert abs(value) <= 10 * len(x) * np.linalg.cond(theta) * EPS


def _factor_tolerance(points, kernel, L_host):
    """Each column of a KL factor is a Cholesky and triangular solve of a principal block
    of Θ, backward stable: within ``10 · n · κ(Θ) · EPS · max|L|`` of any other
    summation order (a principal block's condition number is at most Θ's)."""
    theta = kernel(points, points)
    return 10 * len(points) * np.linalg.cond(theta) * EPS * np.abs(L_host).max()


def test_kl_cholesky_and_its_stages_on_the_device(xp):
    """The front door and its stages: the ordering (a host stage, so exactly equal), the
    factor by column and by supernode (computed on the device)."""
    device_only(xp)
    pts, kernel = np.random.default_rng(0).uniform(size=(60, 2)), v.Matern(1.5, 0.3)
    L_host, order_host = v.kl_cholesky(pts, kernel, 2.0)
    L, order = v.kl_cholesky(xp.asarray(pts), kernel, 2.0)
    assert backend.is_device_array(L) and backend.array_namespace(L) is xp
    on_backend(xp, order)
    np.testing.assert_array_equal(backend.to_numpy(order), order_host)
    tol = _factor_tolerance(pts[order_host], kernel, L_host.toarray())
    np.testing.assert_allclose(host_dense(L), L_host.toarray(), rtol=0, atol=tol)

    order_d, lengths_d = v.maximin_ordering(xp.asarray(pts))
    on_backend(xp, order_d, lengths_d)
    order_h, lengths_h = v.maximin_ordering(pts)
    np.testing.assert_array_equal(backend.to_numpy(order_d), order_h)
    np.testing.assert_array_equal(backend.to_numpy(lengths_d), lengths_h)

    ordered = pts[order_h]
    pattern = v.ball_pattern(ordered, lengths_h, 2.0)
    groups = v.supernodes(pattern, lengths_h, lam=1.5)
    for host, device in [
        (v.kl_factor(ordered, kernel, pattern), v.kl_factor(xp.asarray(ordered), kernel, pattern)),
        (
            v.supernodal_kl_factor(ordered, kernel, groups),
            v.supernodal_kl_factor(xp.asarray(ordered), kernel, groups),
        ),
    ]:
        assert backend.array_namespace(device) is xp
        tol = _factor_tolerance(ordered, kernel, host.toarray())
        np.testing.assert_allclose(host_dense(device), host.toarray(), rtol=0, atol=tol)


def test_a_user_kernel_on_the_device(xp):
    """A kernel of the caller's (not refimpl's) takes device blocks and is checked there."""
    device_only(xp)

    def kernel(X, Y):  # exponential kernel with NumPy functions: dispatched to the device
        d = np.sqrt(np.sum((X[..., :, None, :] - Y[..., None, :, :]) ** 2, axis=-1))
        return np.exp(-d / 0.3)

    pts = np.random.default_rng(1).uniform(size=(30, 2))
    L_host, _ = v.kl_cholesky(pts, kernel, 2.0)
    L, _ = v.kl_cholesky(xp.asarray(pts), kernel, 2.0)
    tol = _factor_tolerance(pts, v.Matern(0.5, 0.3), L_host.toarray())
    np.testing.assert_allclose(host_dense(L), L_host.toarray(), rtol=0, atol=tol)
    with pytest.raises(ValueError, match="kernel: expected symmetric blocks"):
        v.kl_cholesky(xp.asarray(pts), lambda X, Y: kernel(X, Y) + X[..., :, None, 0], 2.0)


def test_solves_and_likelihood_with_a_device_factor(xp):
    """Each result is bounded by the rounding of either route plus the first-order effect of
    the difference ΔL of the two factors (measured; 0 on the stand-in, within the factor
    bound on a GPU). ``solve`` is two sparse products: entries within
    ``γ_k (|L||L|ᵀ|b|)`` of exact on either route (γ_k = k·EPS, k the most terms of a sum),
    and L'L'ᵀ − LLᵀ = ΔL Lᵀ + L ΔLᵀ + ΔL ΔLᵀ exactly. A triangular solve is backward
    stable (relative error ≤ n·κ(L)·EPS per solve) and moves by ≤ κ(L)‖ΔL‖/‖L‖ relative
    (first order) under ΔL: two solves, a factor 2 for the second order. The log-likelihood
    −½‖Lᵀy‖² + Σ log L_ii moves by ≤ ½‖ΔLᵀy‖(‖Lᵀy‖ + ‖L'ᵀy‖) + Σ |ΔL_ii| / min(L_ii, L'_ii)."""
    device_only(xp)
    pts, kernel = np.random.default_rng(2).uniform(size=(50, 2)), v.Matern(1.5, 0.3)
    L_host, order = v.kl_cholesky(pts, kernel, 2.0)
    L, _ = v.kl_cholesky(xp.asarray(pts), kernel, 2.0)
    b = np.sin(3.0 * pts[order, 0])
    dense, device_dense = L_host.toarray(), host_dense(L)
    dL, n = device_dense - dense, len(b)
    k = 2 * int(np.diff(L_host.indptr).max())

    def products(P, Q):  # |P| (|Q|ᵀ |b|)
        return np.abs(P) @ (np.abs(Q).T @ np.abs(b))

    bound = (
        k * EPS * (products(dense, dense) + products(device_dense, device_dense))
        + products(dL, dense)
        + products(dense, dL)
        + products(dL, dL)
    )
    x = v.solve(L, xp.asarray(b))
    on_backend(xp, x)
    assert np.all(np.abs(backend.to_numpy(x) - v.solve(L_host, b)) <= bound)
    kappa = np.linalg.cond(dense)
    relative = 2 * (
        2 * n * kappa * EPS + 2 * kappa * np.linalg.norm(dL, 2) / np.linalg.norm(dense, 2)
    )
    for name, device, host in [
        ("apply_covariance", v.apply_covariance(L, xp.asarray(b)), v.apply_covariance(L_host, b)),
        ("sample", v.sample(L, size=2, rng=0), v.sample(L_host, size=2, rng=0)),
    ]:
        on_backend(xp, device)
        error = np.linalg.norm(backend.to_numpy(device) - host, axis=0)
        assert np.all(error <= relative * np.linalg.norm(host, axis=0)), name
    value, host_value = v.log_likelihood(L, xp.asarray(b)), v.log_likelihood(L_host, b)
    assert isinstance(value, float)
    w, w_device = dense.T @ b, device_dense.T @ b
    diagonal, device_diagonal = np.diag(dense), np.diag(device_dense)
    change = 0.5 * np.linalg.norm(dL.T @ b) * (np.linalg.norm(w) + np.linalg.norm(w_device))
    change += np.sum(np.abs(np.diag(dL)) / np.minimum(diagonal, device_diagonal))
    rounding = 2 * k * EPS * float(np.sum(products(dense, dense) * np.abs(b)))
    rounding += 2 * n * EPS * float(np.sum(np.abs(np.log(diagonal))))
    assert abs(value - host_value) <= change + rounding
    log_change = np.sum(np.abs(np.diag(dL)) / np.minimum(diagonal, device_diagonal))
    assert abs(v.logdet(L) - v.logdet(L_host)) <= 2 * log_change + rounding


def test_prediction_on_the_device(xp):
    """``predict`` (prediction points first) factors and solves on the device: the mean is
    a triangular solve with L_PP of κ(L_PP) ≤ κ(L) and the variance a sum of squares of
    L_PP⁻¹, within ``10 · n · κ(L)² · EPS`` of the host's. The other placements run on the
    host and return to the device: the same numbers."""
    device_only(xp)
    rng = np.random.default_rng(3)
    pts, new = rng.uniform(size=(50, 2)), rng.uniform(size=(6, 2))
    y, kernel = np.sin(4.0 * pts[:, 0]), v.Matern(1.5, 0.3)
    host = v.predict(pts, y, new, kernel, 2.0)
    device = v.predict(xp.asarray(pts), xp.asarray(y), xp.asarray(new), kernel, 2.0)
    on_backend(xp, *device)
    joint = np.concatenate([new, pts])
    kappa = np.linalg.cond(kernel(joint, joint))  # κ(L)² = κ(Θ) for the exact factor
    for d, h in zip(device, host, strict=True):
        tol = 10 * len(joint) * kappa * EPS * np.abs(h).max()
        np.testing.assert_allclose(backend.to_numpy(d), h, rtol=0, atol=tol)
    for variant in ("none", "last"):
        device = v.predict_variant(
            xp.asarray(pts), xp.asarray(y), xp.asarray(new), kernel, 2.0, variant=variant
        )
        on_backend(xp, *device)
        host = v.predict_variant(pts, y, new, kernel, 2.0, variant=variant)
        for d, h in zip(device, host, strict=True):
            np.testing.assert_array_equal(backend.to_numpy(d), h)  # the same host arithmetic
    with pytest.raises(ValueError, match="points, y, new_points: .*y on the host"):
        v.predict(xp.asarray(pts), y, xp.asarray(new), kernel, 2.0)


def test_dense_noise_measures_take_device_factors(xp):
    """The dense measures of the noise path are a host stage: device factors are copied
    there, matrices come back to the device and KL values are floats, all exactly the NumPy
    route's (the same host arithmetic on exact copies of the device factors)."""
    device_only(xp)
    pts, kernel = np.random.default_rng(4).uniform(size=(30, 2)), v.Matern(1.5, 0.3)
    noise = np.full(30, 0.1)
    L, C, order = v.noisy_kl_cholesky(xp.asarray(pts), kernel, xp.asarray(noise), 2.0)
    L_h, C_h = backend.to_numpy(L), backend.to_numpy(C)
    theta = kernel(pts[backend.to_numpy(order)], pts[backend.to_numpy(order)])
    X = v.noisy_covariance(L, C, xp.asarray(noise))
    on_backend(xp, X)
    np.testing.assert_array_equal(backend.to_numpy(X), v.noisy_covariance(L_h, C_h, noise))
    P = v.woodbury_precision(C, xp.asarray(noise))
    on_backend(xp, P)
    np.testing.assert_array_equal(backend.to_numpy(P), v.woodbury_precision(C_h, noise))
    value = v.noisy_kl_divergences(xp.asarray(theta), xp.asarray(noise), L, C)
    assert value == v.noisy_kl_divergences(theta, noise, L_h, C_h)
    A = v.noisy_precision(L, xp.asarray(noise))
    C_again = v.incomplete_cholesky(A, v.lower_triangle_pattern(L))
    assert backend.array_namespace(C_again) is xp
    np.testing.assert_array_equal(host_dense(C_again), host_dense(C))


def test_blocks_that_are_not_positive_definite_raise_on_the_device(xp):
    """CuPy's Cholesky does not raise (the stand-in returns its partial factor, a pivot
    that is not positive left in place): the factors still raise LinAlgError naming the
    block, as on NumPy."""
    device_only(xp)
    partial = xp.linalg.cholesky(xp.asarray(np.array([[1.0, 2.0], [2.0, 1.0]])))
    assert float(partial[1, 1]) <= 0.0  # no error: the imitation of CuPy holds
    pts = np.random.default_rng(5).uniform(size=(40, 2))
    smooth = v.Gaussian(2.0)  # numerically singular blocks without a nugget
    for points in (pts, xp.asarray(pts)):
        with pytest.raises(np.linalg.LinAlgError, match="supernode .* not positive definite"):
            v.kl_cholesky(points, smooth, np.inf)
    theta = smooth(pts, pts)
    theta[0, 1] = theta[1, 0] = 2.0 * theta[0, 0]  # indefinite
    with pytest.raises(np.linalg.LinAlgError, match="theta"):
        v.dense_inverse_cholesky(xp.asarray(theta))
