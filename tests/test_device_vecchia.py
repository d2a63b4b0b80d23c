"""vecchia on a device: kernel blocks and dense factors on device arrays, and the front doors.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy). Kernel blocks are elementwise functions of distances (sums
of two squares): another summation order moves an entry by ≤ 10 · EPS relative, and the
Bessel route (ν = 0.8) runs on the host and comes back. The dense inverse Cholesky factor
is within ``10 · n · κ(Θ) · EPS · max|L|`` of NumPy's (a backward-stable Cholesky and
triangular solve).

The sparse front doors (:func:`~refimpl.vecchia.kl_cholesky`, the ordering, the noise
path, :func:`~refimpl.vecchia.solve`) transfer device inputs to the host at entry and return
NumPy/SciPy results: those tests are ``xfail(strict=True)`` until the factor returns to the
caller's device (a ``cupyx.scipy.sparse`` factor), listed in issue 25.
"""

import numpy as np
import pytest

from refimpl import backend
from refimpl import vecchia as v

EPS = np.finfo(float).eps


def _on(xp, *arrays):
    for a in arrays:
        assert backend.array_namespace(a) is xp, type(a)


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
    _on(xp, block)
    np.testing.assert_allclose(backend.to_numpy(block), kernel(x, y), rtol=10 * EPS, atol=0)
    distances = v.pairwise_distances(xp.asarray(x), xp.asarray(y))
    _on(xp, distances)
    np.testing.assert_allclose(
        backend.to_numpy(distances), v.pairwise_distances(x, y), rtol=10 * EPS, atol=0
    )


def test_dense_factor_and_divergence_on_the_device(xp):
    x, _ = _ordered(30)
    theta = v.Matern(1.5, 0.3)(x, x)
    L_host = v.dense_inverse_cholesky(theta)
    L = v.dense_inverse_cholesky(xp.asarray(theta))
    _on(xp, L)
    tol = 10 * len(x) * np.linalg.cond(theta) * EPS * np.abs(L_host).max()
    np.testing.assert_allclose(backend.to_numpy(L), L_host, rtol=0, atol=tol)
    # KL(Θ ‖ (L Lᵀ)⁻¹) of the exact factor is 0 up to n · κ · EPS
    value = v.kl_divergence(xp.asarray(theta), L)
    assert abs(value) <= 10 * len(x) * np.linalg.cond(theta) * EPS


HOST_FACTOR = (
    "the sparse vecchia path (ordering, pattern, KL factor, noise path, solves) transfers "
    "device inputs to the host at entry and returns NumPy/SciPy results, not the caller's "
    "device arrays (no cupyx.scipy.sparse factor yet)"
)


def _device_only(xp):
    if xp is np:
        pytest.skip("the NumPy route is the reference itself")


@pytest.mark.xfail(strict=True, reason=HOST_FACTOR)
def test_kl_cholesky_returns_a_device_factor(xp):
    _device_only(xp)
    pts = np.random.default_rng(0).uniform(size=(40, 2))
    L, order = v.kl_cholesky(xp.asarray(pts), v.Matern(1.5, 0.3), 2.0)
    assert backend.is_device_array(L) and backend.is_device_array(order)


@pytest.mark.xfail(strict=True, reason=HOST_FACTOR)
def test_maximin_ordering_returns_device_arrays(xp):
    _device_only(xp)
    order, lengths = v.maximin_ordering(xp.asarray(np.random.default_rng(0).uniform(size=(20, 2))))
    _on(xp, order, lengths)


@pytest.mark.xfail(strict=True, reason=HOST_FACTOR)
def test_noisy_kl_cholesky_returns_device_factors(xp):
    _device_only(xp)
    pts = np.random.default_rng(0).uniform(size=(40, 2))
    factors = v.noisy_kl_cholesky(xp.asarray(pts), v.Matern(1.5, 0.3), 0.1, 2.0)
    assert all(backend.is_device_array(f) for f in factors)


@pytest.mark.xfail(strict=True, reason=HOST_FACTOR)
def test_solve_with_the_factor_returns_device_arrays(xp):
    _device_only(xp)
    x, lengths = _ordered(40)
    L = v.kl_factor(x, v.Matern(1.5, 0.3), v.ball_pattern(x, lengths, 2.0))
    _on(xp, v.solve(L, xp.asarray(np.sin(x[:, 0]))))
