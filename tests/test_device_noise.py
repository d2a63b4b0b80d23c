"""The noise path of vecchia on a device: device inputs accepted, transferred explicitly.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy). The noise path (:func:`~refimpl.vecchia.noisy_kl_cholesky`,
:func:`~refimpl.vecchia.noise_factor`, :func:`~refimpl.vecchia.noisy_posterior_mean`)
works on SciPy sparse factors: its device inputs (points, noise variances, data) are
copied to the host explicitly at entry (``backend.to_numpy``), so a device caller gets
the NumPy route's numbers, bit for bit (the same host arithmetic after an exact copy):
the passing tests below. Its results stay on the host (SciPy sparse factors, a NumPy
mean): the ``xfail(strict=True)`` test, until the factor is a ``cupyx.scipy.sparse``
matrix.
"""

import numpy as np
import pytest
import scipy.sparse

from refimpl import backend
from refimpl import vecchia as v

POINTS = np.random.default_rng(0).uniform(size=(30, 2))
NOISE = 0.1 * np.exp(np.random.default_rng(1).standard_normal(30))
Y = np.random.default_rng(2).standard_normal(30)
KERNEL = v.Matern(1.5, 0.3)


def _dense(a):
    return a.toarray() if scipy.sparse.issparse(a) else backend.to_numpy(a)


@pytest.mark.parametrize("pattern", ["factor", "product"])
def test_noisy_kl_cholesky_takes_device_points_and_noise(xp, pattern):
    device = v.noisy_kl_cholesky(
        xp.asarray(POINTS), KERNEL, xp.asarray(NOISE), 2.0, pattern=pattern
    )
    host = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0, pattern=pattern)
    for d, h in zip(device, host, strict=True):
        np.testing.assert_array_equal(_dense(d), _dense(h))


@pytest.mark.parametrize("method", ["direct", "pcg", "cg"])
def test_noisy_posterior_mean_takes_device_data(xp, method):
    L, C, order = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0)
    noise, y = NOISE[order], Y[order]
    mean, iterations = v.noisy_posterior_mean(L, C, xp.asarray(noise), xp.asarray(y), method)
    host_mean, host_iterations = v.noisy_posterior_mean(L, C, noise, y, method)
    np.testing.assert_array_equal(_dense(mean), host_mean)
    assert iterations == host_iterations


@pytest.mark.xfail(
    strict=True,
    reason="noisy_posterior_mean copies y and noise to the host (its L and C are SciPy sparse "
    "factors, solved by SciPy's cg and spsolve_triangular) and returns a NumPy mean",
)
def test_noisy_posterior_mean_returns_a_device_mean(xp):
    if xp is np:
        pytest.skip("the NumPy route is the reference itself")
    L, C, order = v.noisy_kl_cholesky(POINTS, KERNEL, NOISE, 2.0)
    mean, _ = v.noisy_posterior_mean(L, C, xp.asarray(NOISE[order]), xp.asarray(Y[order]))
    assert backend.array_namespace(mean) is xp
