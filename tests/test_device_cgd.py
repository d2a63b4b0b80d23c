"""cgd and the GAN on a device: device arrays in give device arrays out, with NumPy's values.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy), runs a front door or a step on ``xp`` arrays, asserts that
the outputs are ``xp`` arrays and compares them with the NumPy route.

Tolerances. The device route does the NumPy route's arithmetic in another summation
order at most (a GPU's BLAS), so each elementary product or sum of ``n`` terms differs by
``n · EPS`` relative to the sum of absolute values. On the bilinear games below
(``‖A‖ ≤ 2.5``, ``η = 0.1``, ``n = m = 2``) every method is a linear map per step with
norm ≤ 1 + η‖A‖ ≤ 1.25 and inner systems of condition ≤ 1 + η²‖A‖² ≤ 1.07 (the CG and
GMRES solves at ``tol = 1e-12`` add that tolerance), so after K steps the iterates agree
within ``K · 1.25^K · (100 · EPS + 1e-12) · max‖z‖``: :func:`_tol`. The stand-in computes
with NumPy underneath and agrees to far less; the bound is the one a GPU must meet.
"""

import numpy as np
import pytest
import scipy.stats
import standin
from device_checks import on_backend

from refimpl import backend, cgd
from refimpl.cgd import gan
from refimpl.nn import MLP

EPS = np.finfo(float).eps
A_HOST = np.array([[1.0, 2.0], [0.5, 1.0]])  # ‖A‖₂ ≈ 2.5
X0, Y0 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
STEPS = 4


def _tol(steps, scale):
    return steps * 1.25**steps * (100 * EPS + 1e-12) * scale


@pytest.mark.parametrize("method", cgd.METHODS)
def test_run_every_method_on_the_device(xp, method):
    result = cgd.run(
        cgd.BilinearGame(xp.asarray(A_HOST)), method, xp.asarray(X0), xp.asarray(Y0), STEPS, 0.1
    )
    ref = cgd.run(cgd.BilinearGame(A_HOST), method, X0, Y0, STEPS, 0.1)
    on_backend(xp, result.x, result.y)
    tol = _tol(STEPS, np.abs(ref.x).max() + np.abs(ref.y).max())
    np.testing.assert_allclose(backend.to_numpy(result.x), ref.x, rtol=0, atol=tol)
    np.testing.assert_allclose(backend.to_numpy(result.y), ref.y, rtol=0, atol=tol)
    on_backend(xp, result.norm)
    np.testing.assert_allclose(backend.to_numpy(result.norm), ref.norm, rtol=0, atol=tol)


STEP_CALLS = {
    "gda": lambda g, x, y: cgd.gda_step(g, x, y, 0.1, 0.1),
    "altgda": lambda g, x, y: cgd.altgda_step(g, x, y, 0.1, 0.1),
    "ogda": lambda g, x, y: cgd.ogda_step(g, x, y, 0.1, 0.1),
    "extragradient": lambda g, x, y: cgd.extragradient_step(g, x, y, 0.1, 0.1),
    "conopt": lambda g, x, y: cgd.conopt_step(g, x, y, 0.1, 0.1),
    "sga": lambda g, x, y: cgd.sga_step(g, x, y, 0.1, 0.1),
    "lcgd": lambda g, x, y: cgd.lcgd_step(g, x, y, 0.1, 0.1),
    "cgd-dense": lambda g, x, y: cgd.cgd_step(g, x, y, 0.1, 0.1, solver="dense"),
    "cgd-cg": lambda g, x, y: cgd.cgd_step(g, x, y, 0.1, 0.1, solver="cg"),
    "cgd-gmres": lambda g, x, y: cgd.cgd_step(g, x, y, 0.1, 0.1, solver="gmres"),
    "acgd": lambda g, x, y: cgd.acgd_step(g, x, y, 0.1, 0.1),
    "neumann": lambda g, x, y: cgd.neumann_step(g, x, y, 0.1, 0.1, 3),
}


@pytest.mark.parametrize("step", sorted(STEP_CALLS))
def test_every_step_method_keeps_its_arrays_on_the_device(xp, step):
    """One step of each public step function, on three games (bilinear, zero-sum and
    general-sum quadratic): every array it returns is on the device, equal to NumPy's."""
    P, Q, B = np.array([[2.0, 0.5], [0.5, 1.0]]), np.eye(2), np.array([[0.0, 1.0], [1.0, 0.5]])
    games = [
        (cgd.BilinearGame, (A_HOST,)),
        (cgd.QuadraticGame, (P, A_HOST, Q)),
        (cgd.GeneralSumQuadraticGame, (P, A_HOST, B, Q)),
    ]
    for make, matrices in games:
        if make is cgd.GeneralSumQuadraticGame and step in ("conopt", "sga", "cgd-cg"):
            continue  # defined for zero-sum games only
        device = STEP_CALLS[step](
            make(*[xp.asarray(M) for M in matrices]), xp.asarray(X0), xp.asarray(Y0)
        )
        host = STEP_CALLS[step](make(*matrices), X0, Y0)
        for d, h in zip(device, host, strict=True):
            if isinstance(h, np.ndarray):
                on_backend(xp, d)
                np.testing.assert_allclose(backend.to_numpy(d), h, rtol=0, atol=_tol(1, 4.0))
            elif hasattr(h, "v_x"):  # the ACGD state: running means on the device
                on_backend(xp, d.v_x, d.v_y)
                np.testing.assert_allclose(backend.to_numpy(d.v_x), h.v_x, atol=_tol(1, 4.0))


def test_krylov_solvers_keep_the_products_on_the_device(xp):
    """CG and GMRES call ``apply`` with device vectors and return device solutions."""
    M_host = np.array([[4.0, 1.0], [1.0, 3.0]])  # SPD, condition ≈ 1.9
    M, b = xp.asarray(M_host), xp.asarray([1.0, 2.0])
    seen = []

    def apply(v):
        seen.append(backend.array_namespace(v))
        return M @ v

    for solve in (cgd.conjugate_gradient, cgd.gmres):
        seen.clear()
        x, info = solve(apply, b, tol=1e-13)
        on_backend(xp, x)
        assert seen and all(s is xp for s in seen)
        # ‖x − x*‖ ≤ cond · tol · ‖x*‖ for the relative residual tol
        expected = np.linalg.solve(M_host, [1.0, 2.0])
        np.testing.assert_allclose(backend.to_numpy(x), expected, rtol=0, atol=2 * 1e-13 * 2)


# ------------------------------------------------------------------------------- GAN

GAN_TOL = 1e-10
"""Relative to the largest entry: the products pass through two layers of width 8 (sums of
≤ 17 terms each, forward and reverse, ≈ 100 roundings of O(1) terms); reordering them moves
an entry by ≤ 100 · EPS times the sums of absolute values, which stay below 10 · max|entry|
on this small well-scaled network: 1e-10 leaves two decades of margin."""


def _gan_game(loss="wgan"):
    return gan.GANGame(MLP((2, 8, 2)), MLP((2, 8, 1)), gan.two_modes(), batch_size=16, rng=0)


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_gan_gradients_and_products_on_the_device(xp, loss):
    game = gan.GANGame(
        MLP((2, 8, 2)), MLP((2, 8, 1)), gan.two_modes(), batch_size=16, loss=loss, rng=0
    )
    x, y = game.generator.init(rng=1), game.discriminator.init(rng=2)
    u, v = np.linspace(-1.0, 1.0, game.n), np.linspace(1.0, -1.0, game.m)
    xd, yd, ud, vd = (xp.asarray(a) for a in (x, y, u, v))
    calls = {
        "grad_x_f": (lambda a, b, c, d: game.grad_x_f(a, b)),
        "grad_y_g": (lambda a, b, c, d: game.grad_y_g(a, b)),
        "dxy_f": (lambda a, b, c, d: game.dxy_f(a, b, d)),
        "dyx_g": (lambda a, b, c, d: game.dyx_g(a, b, c)),
        "dxx_f": (lambda a, b, c, d: game.dxx_f(a, b, c)),
        "dyy_g": (lambda a, b, c, d: game.dyy_g(a, b, d)),
    }
    for name, call in calls.items():
        device, host = call(xd, yd, ud, vd), call(x, y, u, v)
        on_backend(xp, device)
        atol = GAN_TOL * np.abs(host).max()
        np.testing.assert_allclose(backend.to_numpy(device), host, rtol=0, atol=atol, err_msg=name)
    assert game.f(xd, yd) == pytest.approx(game.f(x, y), rel=GAN_TOL)


@pytest.mark.parametrize("method", gan.GAN_METHODS)
def test_train_gan_a_few_steps_on_the_device(xp, method):
    """Three steps of every GAN method: parameters stay on the device and follow NumPy's
    trajectory (three steps of a contraction-free map multiply GAN_TOL by at most a few)."""
    runs = []
    for to in (xp.asarray, np.asarray):
        game = _gan_game()
        x, y = game.generator.init(rng=1), game.discriminator.init(rng=2)
        runs.append(gan.train_gan(game, method, to(x), to(y), 100, 0.01, max_steps=3))
    device, host = runs
    on_backend(xp, device.x, device.y)
    for d, h in ((device.x, host.x), (device.y, host.y)):
        np.testing.assert_allclose(
            backend.to_numpy(d), h, rtol=0, atol=10 * GAN_TOL * np.abs(h).max()
        )


# ------------------------------------------------------------------------------- GAN metrics


@pytest.mark.parametrize("data", [gan.two_modes(), gan.ring(8)], ids=["two_modes", "ring"])
def test_mode_metrics_on_the_device(xp, data):
    """``mode_fractions`` returns an array of the samples' backend and ``modes_covered`` a
    Python int, both equal to the NumPy route's exactly. Exact, because the fractions are
    counts over N: the device moves each distance by a few EPS at most (a norm of d = 2
    differences), and the test first asserts that no sample lies within 1e-9 of a
    decision (the radius rσ, or a tie between its two nearest modes)."""
    means = backend.to_numpy(data.means)
    samples = np.concatenate([data.sample(200, rng=0), means + 2.5 * data.std, [[9.0, -9.0]]])
    distances = np.sort(np.linalg.norm(samples[:, None, :] - means[None], axis=2), axis=1)
    assert np.abs(distances[:, 0] - 3.0 * data.std).min() > 1e-9
    assert (distances[:, 1] - distances[:, 0]).min() > 1e-9
    device = gan.mode_fractions(xp.asarray(samples), data)
    host = gan.mode_fractions(samples, data)
    on_backend(xp, device)
    assert device.shape == host.shape == (data.n_modes,) and device.dtype == host.dtype
    np.testing.assert_array_equal(backend.to_numpy(device), host)
    covered = gan.modes_covered(xp.asarray(samples), data)
    assert type(covered) is int and covered == gan.modes_covered(samples, data)


def test_mode_metrics_with_a_mixture_on_the_device(xp):
    """A mixture built from device arrays scores device and host samples alike: its
    centres move to the samples' backend."""
    data = gan.two_modes()
    means, weights = (backend.to_numpy(a) for a in (data.means, data.weights))
    device_data = gan.GaussianMixture(xp.asarray(means), data.std, xp.asarray(weights))
    samples = np.concatenate([means + 0.5 * data.std, [[9.0, -9.0]]])
    expected = gan.mode_fractions(samples, data)
    for given, on in ((samples, np), (xp.asarray(samples), xp)):
        result = gan.mode_fractions(given, device_data)
        on_backend(on, result)
        np.testing.assert_array_equal(backend.to_numpy(result), expected)
        assert gan.modes_covered(given, device_data) == gan.modes_covered(samples, data)


@pytest.mark.parametrize("sizes", [(1, 1), (7, 3), (200, 150)], ids=str)
def test_wasserstein_1d_on_the_device(xp, sizes):
    """A Python float on every backend, equal to SciPy's ``wasserstein_distance`` on the
    host data. Sorting, ``searchsorted`` and the CDF quotients are exact or correctly
    rounded on both sides; only the sum of the N + M − 1 non-negative terms |ΔF|·Δz may
    run in another order (or with fused products), each route within (N + M)·EPS·W₁ of
    the exact sum: rtol = 2(N + M)·EPS. Ties (values rounded to 0.1) and float32 samples
    (promoted to float64, as SciPy promotes them) included."""
    gen = np.random.default_rng(sum(sizes))
    a = np.round(gen.normal(size=sizes[0]), 1)
    b = np.round(gen.normal(0.5, 2.0, size=sizes[1]), 1)
    rtol = 2 * sum(sizes) * EPS
    for dtype in (np.float64, np.float32):
        value = gan.wasserstein_1d(xp.asarray(a.astype(dtype)), xp.asarray(b.astype(dtype)))
        expected = scipy.stats.wasserstein_distance(a.astype(dtype), b.astype(dtype))
        assert type(value) is float
        assert value == pytest.approx(expected, rel=rtol, abs=0)
        host = gan.wasserstein_1d(a.astype(dtype), b.astype(dtype))
        assert value == pytest.approx(host, rel=rtol, abs=0)


def test_wasserstein_1d_refuses_samples_on_two_backends():
    device = standin.namespace.asarray([0.0, 1.0])
    with pytest.raises(ValueError, match="^a, b: "):
        gan.wasserstein_1d(device, np.array([0.0, 1.0]))


# ------------------------------------------------------------------------------- games

GAME_METHODS = ("f", "g", "grad_x_f", "grad_y_g", "dxy_f", "dyx_g", "dxx_f", "dyy_g")
GAME_METHODS += ("dxy_f_matrix", "dyx_g_matrix")


class _ProtocolGame(cgd.Game):
    """A game written on the protocol (products only), holding its matrix ``A`` of
    ``xp``'s backend: its dense blocks are :class:`cgd.Game`'s defaults."""

    n, m, zero_sum = 2, 2, True

    def __init__(self, A):
        self.A = A

    def grad_x_f(self, x, y):
        return self.A @ y

    def grad_y_g(self, x, y):
        return -self.A.T @ x

    def dxy_f(self, x, y, v):
        return self.A @ v

    def dyx_g(self, x, y, u):
        return -self.A.T @ u


@pytest.mark.parametrize(
    "make",
    [
        cgd.BilinearGame,
        lambda to: cgd.QuadraticGame(to(np.diag([2.0, 1.0])), to(A_HOST), to(np.eye(2))),
        lambda to: cgd.GeneralSumQuadraticGame(
            to(np.diag([2.0, 1.0])), to(A_HOST), to(-2 * A_HOST), to(np.eye(2))
        ),
        _ProtocolGame,
    ],
    ids=["BilinearGame", "QuadraticGame", "GeneralSumQuadraticGame", "Game"],
)
@pytest.mark.parametrize("method", GAME_METHODS)
def test_game_methods_on_a_game_built_from_device_arrays(xp, make, method):
    """A game built from device arrays answers every method with device arrays (losses as
    numbers), equal to the host game's: each entry is a sum of ≤ 2 products of O(1)
    numbers, so another summation order moves it by ≤ 4 · EPS · max|entry|."""
    if make is _ProtocolGame and method in ("f", "g", "dxx_f", "dyy_g"):
        pytest.skip("the protocol leaves the losses and own-player Hessians to the game")
    build = (lambda to: make(to(A_HOST))) if make in (cgd.BilinearGame, _ProtocolGame) else make
    device_game, host_game = build(xp.asarray), build(np.asarray)
    extra = {"dxy_f": Y0, "dyy_g": Y0, "dyx_g": X0, "dxx_f": X0}.get(method)
    args = (X0, Y0) if extra is None else (X0, Y0, extra)
    device = getattr(device_game, method)(*(xp.asarray(a) for a in args))
    host = getattr(host_game, method)(*args)
    if method in ("f", "g"):
        assert float(device) == pytest.approx(float(host), rel=4 * EPS, abs=4 * EPS)
        return
    on_backend(xp, device)
    atol = 4 * EPS * max(np.abs(host).max(), 1.0)
    np.testing.assert_allclose(backend.to_numpy(device), host, rtol=0, atol=atol)
