"""The noise path of vecchia on a device.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy). :func:`~refimpl.vecchia.noisy_kl_cholesky` factors device
points on the device (L), forms A = L Lᵀ + R⁻¹ there, and runs its one host stage, the
incomplete Cholesky (a sequential sparse elimination), on an explicit copy of A, returning
C to the device; :func:`~refimpl.vecchia.noisy_posterior_mean` solves on the device where
any input lives (a host factor beside device data is copied there). On the stand-in (NumPy
underneath) the numbers are the NumPy route's exactly; the stated tolerances are for a
GPU.
"""

import numpy as np
import pytest
import standin
from device_checks import device_only, host_dense

from refimpl import backend
from refimpl import vecchia as v

POINTS = np.random.default_rng(0).uniform(size=(30, 2))
NOISE = 0.1 * np.exp(np.random.default_rng(1).standard_normal(30))
Y = np.random.default_rng(2).standard_normal(30)
KERNEL = v.Matern(1.5, 0.3)
EPS = np.finfo(float).eps


def _numpy_underneath(xp):
    """Exact comparisons hold where the device is NumPy underneath (the stand-in); on a GPU
    the tolerances of :func:`test_the_noise_path_stays_on_the_device` apply."""
    if xp is not np and xp is not standin.namespace:
        pytest.skip("another summation order on a GPU; covered with tolerances below")


@pytest.mark.parametrize("pattern", ["factor", "product"])
def test_noisy_kl_cholesky_takes_device_points_and_noise(xp, pattern):
    _numpy_underneath(xp)
    device = v.noisy_kl_cholesky(
        xp.asarray(POINTS), KERNEL, xp.asarray(NOISE), 2.0, pattern=pattern
    )
    host = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0, pattern=pattern)
    for d, h in zip(device, host, strict=True):
        np.testing.assert_array_equal(host_dense(d), host_dense(h))


@pytest.mark.parametrize("method", ["direct", "pcg", "cg"])
def test_noisy_posterior_mean_takes_device_data(xp, method):
    """Factors moved to the device with the data: the device's solves, the same numbers."""
    _numpy_underneath(xp)
    L, C, order = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0)
    noise, y = NOISE[order], Y[order]
    like = xp.asarray(y)
    L_d, C_d = backend.to_device(L, like=like), backend.to_device(C, like=like)
    mean, iterations = v.noisy_posterior_mean(L_d, C_d, xp.asarray(noise), like, method)
    host_mean, host_iterations = v.noisy_posterior_mean(L, C, noise, y, method)
    np.testing.assert_array_equal(host_dense(mean), host_mean)
    assert iterations == host_iterations


def test_the_noise_path_stays_on_the_device(xp):
    """Device points give device factors L, C and order; the posterior mean of device data
    is a device array. L is the device factor (within the factor bound of
    ``tests/test_device_vecchia.py``); C is the host stage's incomplete Cholesky of the
    device's A = L Lᵀ + R⁻¹, whose entries are within ``γ_k (|L||L|ᵀ)`` of the host's, so C
    moves by at most ``10 · n · κ(A) · EPS · max|C|`` beyond what L's difference causes.
    (P)CG stops at relative residual ``tol`` on both routes: the means differ by at most
    ``2 · κ(A) · tol · ‖mean‖`` plus rounding."""
    device_only(xp)
    L, C, order = v.noisy_kl_cholesky(xp.asarray(POINTS), KERNEL, xp.asarray(NOISE), 2.0)
    assert all(backend.array_namespace(f) is xp for f in (L, C, order))
    L_h, C_h, order_h = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0)
    np.testing.assert_array_equal(backend.to_numpy(order), order_h)
    A = host_dense(v.noisy_precision(L_h, NOISE[order_h]))
    kappa_theta = np.linalg.cond(KERNEL(POINTS[order_h], POINTS[order_h]))
    kappa = np.linalg.cond(A)
    n = len(POINTS)
    np.testing.assert_allclose(
        host_dense(L),
        host_dense(L_h),
        rtol=0,
        atol=10 * n * kappa_theta * EPS * np.abs(host_dense(L_h)).max(),
    )
    np.testing.assert_allclose(
        host_dense(C),
        host_dense(C_h),
        rtol=0,
        atol=10 * n * kappa * kappa_theta * EPS * np.abs(host_dense(C_h)).max(),
    )
    tol = 1e-10
    for method in ("direct", "pcg", "cg"):
        mean, iterations = v.noisy_posterior_mean(
            L, C, xp.asarray(NOISE[order_h]), xp.asarray(Y[order_h]), method, tol=tol
        )
        host, host_iterations = v.noisy_posterior_mean(
            L_h, C_h, NOISE[order_h], Y[order_h], method, tol=tol
        )
        assert backend.array_namespace(mean) is xp, method
        bound = (2 * kappa * tol + 10 * n * kappa * kappa_theta * EPS) * np.linalg.norm(host)
        assert np.linalg.norm(backend.to_numpy(mean) - host) <= bound, method
        # both count one callback per update; SciPy tests the residual before an update and
        # CuPy after it, so on the same iterates the counts differ by at most one
        assert abs(iterations - host_iterations) <= 1, method


def test_host_factors_beside_device_data_are_refused(xp):
    """One call, one backend: a SciPy factor with device data raises ValueError naming them."""
    if xp is np:
        pytest.skip("no second backend")
    L, C, order = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0)
    with pytest.raises(ValueError, match=r"L, C, noise, y: .*L, C on the host and noise, y"):
        v.noisy_posterior_mean(L, C, xp.asarray(NOISE[order]), xp.asarray(Y[order]))
    with pytest.raises(ValueError, match=r"L, b: .*L on the host and b on a device"):
        v.solve(L, xp.asarray(Y[order]))
    with pytest.raises(ValueError, match=r"L, noise: .*noise on the host and L on a device"):
        v.noisy_precision(backend.to_device(L, like=xp.asarray(Y)), NOISE[order])
