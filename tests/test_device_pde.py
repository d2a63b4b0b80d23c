"""pde on a device: the readable core's stages on device arrays, and the public front door.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy). The core's stages (kernel blocks, the KL factor, PCG) must
return ``xp`` arrays equal to the NumPy route's. Tolerance: the entries are sums of ≤ 3
products of O(1/ℓ⁴) kernel terms, so another summation order moves them by
≤ 10 · EPS · max|entry|; the factor is a triangular solve of condition κ ≤ 1/η-bounded
blocks, within ``10 · n · κ · EPS`` relative (κ estimated from the host Gram matrix).

The public route (:func:`refimpl.pde.solve`, :class:`~refimpl.pde.DenseSolver`,
:class:`~refimpl.pde.SparseSolver`) keeps the caller's device: the dense method computes
there (Cholesky of the Gram matrix on the device), the sparse one on the host with its
results copied back. Tolerances of the dense route: a Cholesky solve of Θ + η diag Θ is
backward stable, and its error is governed by the condition κ of the unit-diagonal
matrix D⁻¹ΘD⁻¹ (diagonal scaling does not change the computed factor's rounding), so the
scaled solution moves by ≤ 10 · N · κ · EPS relative per step; the Gauss–Newton map
contracts, so ``steps`` such errors bound the state's.
"""

import numpy as np
import pytest
import scipy.sparse
import standin
from device_checks import default_backend, device_only, on_backend

from refimpl import backend, pde
from refimpl.pde import core
from refimpl.vecchia import Matern

EPS = np.finfo(float).eps


def _points(n, seed):
    return np.random.default_rng(seed).uniform(size=(n, 2))


def test_kernel_blocks_on_the_device(xp):
    x, y = _points(9, 0), _points(7, 1)
    a, b = np.random.default_rng(2).standard_normal((9, 2)), np.ones((7, 2))
    block = core.covariance(xp.asarray(x), xp.asarray(a), xp.asarray(y), xp.asarray(b))
    host = core.covariance(x, a, y, b)
    on_backend(xp, block)
    np.testing.assert_allclose(
        backend.to_numpy(block), host, rtol=0, atol=10 * EPS * np.abs(host).max()
    )
    weights = core.linearized_weights(xp.asarray(np.linspace(-1.0, 1.0, 5)), 3)
    on_backend(xp, weights, core.variances(weights))
    np.testing.assert_array_equal(
        backend.to_numpy(weights), core.linearized_weights(np.linspace(-1.0, 1.0, 5), 3)
    )


def test_factor_stage_and_pcg_on_the_device(xp):
    """The KL factor of the sparse route and PCG with it, on device arrays."""
    boundary, interior = _points(6, 3), _points(10, 4)
    order, lengths, big_order, big_lengths = core.elimination_order(boundary, interior)
    points, a = core.big_list(boundary, interior)
    points, a = points[big_order], a[big_order]
    mask = core.ball_mask(points, big_lengths, 3.0)
    host_L = core.kl_factor(points, a, mask)
    L = core.kl_factor(xp.asarray(points), xp.asarray(a), xp.asarray(mask))
    on_backend(xp, L)
    theta = core.covariance(points, a, points, a)
    kappa = np.linalg.cond(theta / np.sqrt(np.outer(np.diag(theta), np.diag(theta))))
    tol = 10 * len(points) * kappa * EPS * np.abs(host_L).max()
    np.testing.assert_allclose(backend.to_numpy(L), host_L, rtol=0, atol=tol)
    M = np.eye(4) * 3.0 + 0.5
    b = np.arange(1.0, 5.0)
    Md = xp.asarray(M)
    x = core.pcg(lambda v: Md @ v, lambda v: v / 3.5, xp.asarray(b), xp.zeros(4), tol=1e-13)
    on_backend(xp, x)
    # relative residual 1e-13 and cond(M) = 5 bound ‖x − x*‖ by 5e-13 ‖x*‖
    expected = np.linalg.solve(M, b)
    atol = 1e-12 * np.linalg.norm(expected)
    np.testing.assert_allclose(backend.to_numpy(x), expected, rtol=0, atol=atol)


def _unit_condition(theta, nugget):
    """κ of the unit-diagonal Θ + η I (see the module docstring)."""
    d = np.sqrt(np.diag(theta))
    return np.linalg.cond(theta / np.outer(d, d) + nugget * np.eye(len(d)))


def _host_condition(problem, h):
    """κ of the last Gauss–Newton step's unit-diagonal Gram matrix, on the host."""
    boundary, interior = problem.collocation(h)
    system = pde.CollocationSystem(boundary, interior, problem.basis)
    solver = pde.DenseSolver(pde.MeasurementKernel(problem.kernel), system, problem.nugget)
    f = problem.rhs(interior)
    _, weights, _, _ = pde.gauss_newton(
        solver,
        lambda state: problem.linearize(state, f),
        problem.truth(boundary),
        problem.initial_state(len(interior)),
        problem.steps,
    )
    return _unit_condition(solver.kernel.gram(system.combined(weights)), problem.nugget)


H = 0.25  # 16 boundary and 9 interior points: N = 25
NEW = np.array([[0.3, 0.4], [0.6, 0.1], [0.9, 0.75]])


@pytest.mark.parametrize("method", pde.METHODS)
@pytest.mark.parametrize(
    "problem_class", [pde.NonlinearElliptic, pde.MongeAmpere], ids=lambda c: c.__name__
)
def test_solve_front_door_keeps_the_device(xp, method, problem_class):
    """Under a device default, solve() returns device values equal to the NumPy route's."""
    device_only(xp)
    problem = problem_class()
    host = pde.solve(problem, H, method=method)
    with default_backend(xp):
        solution = pde.solve(problem, H, method=method)
        at_new = solution(NEW)  # host points: moved to the solution's device
        at_new_device = solution(xp.asarray(NEW))
    on_backend(xp, solution.values, solution.truth, solution.points, at_new, at_new_device)
    kappa = _host_condition(problem, H)
    n = len(host.points) + len(host.boundary)
    if method == "dense":
        bound = problem.steps * 10 * n * kappa * EPS
    else:
        # the sparse route runs on the host on the same numbers: CG stops at relative
        # residual cg_rtol on either route, so their solutions differ by ≤ 2 κ cg_rtol
        # (relative) per step, should the device's rounding of f and the linearization
        # change CG's path (on the stand-in they are identical)
        bound = problem.steps * 2 * kappa * pde.sparse.CG_RTOL
    scale = np.abs(host.values).max()
    np.testing.assert_allclose(
        backend.to_numpy(solution.values), host.values, rtol=0, atol=bound * scale
    )
    for values in (at_new, at_new_device):
        np.testing.assert_allclose(backend.to_numpy(values), host(NEW), rtol=0, atol=bound * scale)
    # the errors are the same numbers up to that bound
    assert abs(solution.rms_error - host.rms_error) <= bound * scale


def _two_point_system(xp):
    return pde.CollocationSystem(
        xp.asarray(np.array([[0.0], [1.0]])), xp.asarray(np.array([[0.5]])), ("value", "d00")
    )


@pytest.mark.parametrize("solver_class", [pde.DenseSolver, pde.SparseSolver])
def test_solvers_keep_device_arrays(xp, solver_class):
    """u'' = 2, u(0) = u(1) = 0 at three points: alpha, state and evaluate on the device."""
    device_only(xp)
    kernel, nugget = pde.MeasurementKernel(Matern(2.5, 0.5)), 1e-12
    weights, rhs = np.array([[0.0, 1.0]]), np.array([0.0, 0.0, 2.0])
    host_system = _two_point_system(np)
    host = solver_class(kernel, host_system, nugget)
    solver = solver_class(kernel, _two_point_system(xp), nugget)
    host_alpha, _ = host.solve(weights, rhs)
    alpha, info = solver.solve(xp.asarray(weights), xp.asarray(rhs))
    state = solver.state(xp.asarray(weights), alpha)
    values = solver.evaluate(xp.asarray(weights), alpha, xp.asarray(np.array([[0.25], [0.75]])))
    on_backend(xp, alpha, state, values)
    theta = kernel.gram(host_system.combined(weights))
    kappa = _unit_condition(theta, nugget)
    # one step: the scaled solution D α moves by ≤ 10 N κ EPS relative (module docstring);
    # the sparse solver runs on the host on the same numbers
    d = np.sqrt(np.diag(theta))
    bound = 10 * len(d) * kappa * EPS * np.abs(d * host_alpha).max()
    np.testing.assert_allclose(d * backend.to_numpy(alpha), d * host_alpha, rtol=0, atol=bound)
    host_state = host.state(weights, host_alpha)
    atol = 10 * len(d) * kappa * EPS * np.abs(host_state).max()
    np.testing.assert_allclose(backend.to_numpy(state), host_state, rtol=0, atol=atol)
    # arrays of another device are refused with the argument's name, not a TypeError
    if xp is not np:
        with pytest.raises(ValueError, match="^weights: expected an array on the backend"):
            solver.solve(weights, xp.asarray(rhs))
        with pytest.raises(ValueError, match="^rhs: expected an array on the backend"):
            solver.solve(xp.asarray(weights), rhs)


def test_system_and_measurement_methods_on_the_device(xp):
    """The methods the Gauss–Newton loop calls through private forms, called publicly on
    device arrays: each result is on the device and equal to the NumPy route's (the same
    elementwise products and sums, to 10 · EPS relative; SparseSolver.apply_big runs on
    the host and comes back, the same numbers)."""
    device_only(xp)
    weights = np.array([[0.0, 1.0]])
    system, host_system = _two_point_system(xp), _two_point_system(np)
    for name in ("check_weights", "combined", "weight_matrix"):
        device = getattr(system, name)(xp.asarray(weights))
        host = getattr(host_system, name)(weights)
        leaves = (device.rows(), host.rows()) if hasattr(host, "rows") else (device, host)
        assert backend.is_device_array(leaves[0]), name
        dense = [
            x.toarray() if scipy.sparse.issparse(x) else x
            for x in (backend.to_numpy(leaves[0]), leaves[1])
        ]
        # entries are a weight times a point's coordinate or a sum of two such products, of
        # nonnegative numbers here (no cancellation): at most 3 EPS relative on any backend
        np.testing.assert_allclose(dense[0], dense[1], rtol=10 * EPS, atol=0, err_msg=name)
    x = _points(3, 5)
    measurements, host_measurements = pde.laplacians(xp.asarray(x)), pde.laplacians(x)
    factors = np.array([1.0, 2.0, 0.5])
    for device, host in [
        (measurements.scaled(xp.asarray(factors)), host_measurements.scaled(factors)),
        (measurements.take(xp.asarray(np.array([0, 2]))), host_measurements.take([0, 2])),
    ]:
        on_backend(xp, device.rows())
        np.testing.assert_array_equal(backend.to_numpy(device.rows()), host.rows())
    kernel = pde.MeasurementKernel(Matern(2.5, 0.5))
    sparse, host_sparse = (pde.SparseSolver(kernel, s, 1e-12) for s in (system, host_system))
    host_sparse.solve(weights, np.array([0.0, 0.0, 2.0]))
    sparse.solve(xp.asarray(weights), xp.asarray(np.array([0.0, 0.0, 2.0])))
    y = np.arange(1.0, 1.0 + len(host_system.big_measurements()))
    big = sparse.apply_big(xp.asarray(y))
    on_backend(xp, big)
    np.testing.assert_array_equal(backend.to_numpy(big), host_sparse.apply_big(y))


def test_gauss_newton_on_the_device(xp):
    """The public Gauss–Newton loop on a device state: state, weights and alpha stay there,
    equal to the NumPy route's within the one-step bound of the dense solver."""
    device_only(xp)
    kernel = pde.MeasurementKernel(Matern(2.5, 0.5))
    results = []
    for ns in (np, xp):
        solver = pde.DenseSolver(kernel, _two_point_system(ns), 1e-12)
        state, weights, alpha, _ = pde.gauss_newton(
            solver,
            lambda state, ns=ns: (ns.asarray(np.array([[0.0, 1.0]])), ns.asarray([2.0])),
            ns.asarray(np.zeros(2)),
            ns.asarray(np.zeros((1, 2))),
            2,
        )
        results.append((state, weights, alpha))
    theta = kernel.gram(_two_point_system(np).combined(np.array([[0.0, 1.0]])))
    kappa = _unit_condition(theta, 1e-12)
    d = np.sqrt(np.diag(theta))
    (state, weights, alpha), (host_state, host_weights, host_alpha) = results[1], results[0]
    on_backend(xp, state, weights, alpha)
    np.testing.assert_array_equal(backend.to_numpy(weights), host_weights)
    # two steps of the one-step bound of test_solvers_keep_device_arrays
    bound = 2 * 10 * len(d) * kappa * EPS
    np.testing.assert_allclose(
        d * backend.to_numpy(alpha),
        d * host_alpha,
        rtol=0,
        atol=bound * np.abs(d * host_alpha).max(),
    )
    np.testing.assert_allclose(
        backend.to_numpy(state), host_state, rtol=0, atol=bound * np.abs(host_state).max()
    )


@pytest.mark.parametrize("method", pde.METHODS)
def test_burgers_time_steps_on_the_device(xp, method):
    """Burgers' own run (Crank–Nicolson steps, each a Gauss–Newton solve) keeps its states
    on the device. Where the device is NumPy underneath (the stand-in) the sparse route,
    a host stage on the same numbers, agrees exactly, and the dense route differs only by
    the triangular solves' order (two backward-stable solves of the same Cholesky factor
    per Gauss–Newton step: 10·n·κ·EPS relative each; the unit-diagonal Gram matrix plus
    its relative nugget η has eigenvalues in [η, n + η], so κ ≤ (n + η)/η)."""
    device_only(xp)
    problem = pde.Burgers(T=0.04, dt=0.02)
    host = pde.solve(problem, 0.1, method=method)
    with default_backend(xp):
        solution = pde.solve(problem, 0.1, method=method)
    on_backend(xp, solution.values, solution.points)
    if xp is not standin.namespace:
        return  # on a GPU the values are compared through the problems above
    values = backend.to_numpy(solution.values)
    if method == "sparse":
        np.testing.assert_array_equal(values, host.values)
    else:
        n = len(host.points) + len(host.boundary)
        solves = len(host.history) * 2
        kappa = (n + problem.nugget) / problem.nugget
        bound = solves * 10 * n * kappa * EPS * np.abs(host.values).max()
        np.testing.assert_allclose(values, host.values, rtol=0, atol=bound)
