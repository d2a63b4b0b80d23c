"""Every function of the readable cores (``refimpl/*/core.py``) on a device, one test each.

Each entry of :data:`CORES` calls one core function through ``to``, which puts the host
inputs on the array backend under test (``xp``: NumPy, the strict CuPy stand-in of
``tests/standin`` and, on a GPU machine, CuPy). The test runs it twice, on ``xp`` and on
NumPy, asserts that every array it returns is an ``xp`` array (device arrays in give
device arrays out: the cores hold no host transfer) and compares every value.

Tolerance. The device route does the NumPy route's arithmetic, at most in another
summation order (a GPU's BLAS, reductions) and with other ulps of ``exp``/``log``: an
entry computed from sums of ``k`` terms moves by ``≲ k · EPS`` relative to the sum of
absolute values, and a solve of condition ``κ`` multiplies that by ``κ``. The inputs
below keep ``k ≤ 60`` and ``κ ≤ 1e4`` (measured: ≤ 5.5e3 for the PDE's Gram matrices
with the nugget ``η = 1e-3``, ≤ 90 for the vecchia covariances with a 0.1 nugget, ≤ 32
for the PDE's big list, ≤ 3 for the SPD systems), so ``k · κ · EPS ≤ 1.4e-10``: every
entry uses :data:`RTOL` ``= 1e-8`` relative to its output's largest finite entry, a
decade and a half of margin. Integers, booleans, orders and infinite lengths must be
equal. The stand-in computes with NumPy
underneath and agrees to the last bit; the bound is what a GPU must meet.
"""

from __future__ import annotations

import numpy as np
import pytest
from device_checks import default_backend

from refimpl import backend
from refimpl.cgd import BilinearGame, QuadraticGame
from refimpl.cgd import core as cgd_core
from refimpl.inrank import core as inrank_core
from refimpl.inrank import orthogonal_init
from refimpl.pde import core as pde_core
from refimpl.vecchia import Matern
from refimpl.vecchia import core as vecchia_core

EPS = np.finfo(float).eps
RTOL = 1e-8

A = np.array([[1.0, 2.0, 0.0], [0.5, 1.0, -1.0]])  # (2, 3), ‖A‖ ≈ 2.6
P, Q = np.diag([0.5, 0.2]), np.diag([0.3, 0.1, 0.2])
X0, Y0 = np.array([1.0, -0.5]), np.array([0.0, 1.0, 0.5])
SPD = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])  # κ ≈ 2.8


def _points(n, seed=0, d=2):
    return np.random.default_rng(seed).uniform(size=(n, d))


def _ordered(n=25):
    pts = _points(n)
    order, lengths = vecchia_core.reverse_maximin(pts)
    return pts[order], lengths


def _theta(n=25):
    """A Matérn-3/2 covariance with a 0.1 nugget: κ ≤ 1 + n/0.1 ≈ 250."""
    x, _ = _ordered(n)
    return Matern(1.5, 0.3)(x, x) + 0.1 * np.eye(n)


def _network():
    weights = orthogonal_init((4, 6, 6, 3), 0.5, rng=0)
    rng = np.random.default_rng(1)
    return weights, rng.standard_normal((4, 10)), rng.standard_normal((3, 10))


def _pde_problem():
    boundary = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0]])
    interior = np.array([[0.3, 0.3], [0.6, 0.4], [0.4, 0.7], [0.7, 0.7]])
    return boundary, interior, np.zeros(5), np.ones(4)


def _cgd(step):
    def call(to, xp):
        return step(BilinearGame(to(A)), to(X0), to(Y0))

    return call


def _inrank_layers(to, xp):
    weights, X, Y = _network()
    layers = inrank_core.init_layers([to(w) for w in weights], rng=0, init_scale=0.1)
    inrank_core.inrank_step(layers, to(X), to(Y), 0.05, 1)
    return layers


def _pde_big(to):
    boundary, interior, _, _ = _pde_problem()
    _, _, big_order, big_lengths = pde_core.elimination_order(boundary, interior)
    points, a = pde_core.big_list(boundary, interior)
    points, a = points[big_order], a[big_order]
    return to(points), to(a), to(pde_core.ball_mask(points, big_lengths, 3.0))


CORES = {
    # ------------------------------------------------------------------ cgd
    "cgd.gda_step": _cgd(lambda g, x, y: cgd_core.gda_step(g, x, y, 0.2, 0.2)),
    "cgd.cgd_step_dense": _cgd(lambda g, x, y: cgd_core.cgd_step_dense(g, x, y, 0.2, 0.2)),
    "cgd.cgd_step_cg": _cgd(lambda g, x, y: cgd_core.cgd_step_cg(g, x, y, 0.2, 0.2, 1e-13)),
    "cgd.cgd_step_cg-quadratic": lambda to, xp: cgd_core.cgd_step_cg(
        QuadraticGame(to(P), to(A), to(Q)), to(X0), to(Y0), 0.2, 0.2, 1e-13
    ),
    "cgd.acgd_step": _cgd(
        lambda g, x, y: cgd_core.acgd_step(g, x, y, 0.2, 0.2, (0, 0 * x, 0 * y), tol=1e-13)
    ),
    "cgd.conjugate_gradient": lambda to, xp: cgd_core.conjugate_gradient(
        lambda v, M=to(SPD): M @ v, to(np.array([1.0, 2.0, 3.0])), 1e-13
    ),
    "cgd.zero_sum_moves": lambda to, xp: cgd_core.zero_sum_moves(
        lambda v, M=to(A): M @ v,
        lambda u, M=to(A): -(M.T @ u),
        to(X0),
        to(Y0),
        0.2,
        0.3,
        lambda apply, b: cgd_core.conjugate_gradient(apply, b, 1e-13),
    ),
    "cgd.adaptive_step_sizes": lambda to, xp: cgd_core.adaptive_step_sizes(
        to(np.array([0.1, 0.2])), to(X0), 3, 0.2
    ),
    # arrays from nothing (scalars in): the default backend, set to xp's by the test
    "cgd.cgd_iteration_matrix": lambda to, xp: cgd_core.cgd_iteration_matrix(2.0, 0.3),
    # ------------------------------------------------------------------ inrank
    "inrank.forward": lambda to, xp: inrank_core.forward(
        [to(w) for w in _network()[0]], to(_network()[1])
    ),
    "inrank.loss": lambda to, xp: inrank_core.loss(*_to_network(to)),
    "inrank.gradients": lambda to, xp: inrank_core.gradients(*_to_network(to)),
    "inrank.time_function_depth3": lambda to, xp: inrank_core.time_function_depth3(
        to(np.array([0.1, 0.5, 0.9])), to(np.array([2.0, 1.0, 3.0]))
    ),
    **{
        f"inrank.mode_strength-depth{depth}": (
            lambda to, xp, depth=depth: inrank_core.mode_strength(
                to(np.array([3.0, 1.0])), to(np.array([1e-3, 2.5])), to(np.array([4.0, 0.5])), depth
            )
        )
        for depth in (1, 2, 3)
    },
    **{
        f"inrank.mode_time-depth{depth}": (
            lambda to, xp, depth=depth: inrank_core.mode_time(
                to(np.array([3.0, 1.0])), to(np.array([1e-3, 0.1])), to(np.array([1.5, 0.5])), depth
            )
        )
        for depth in (1, 2, 3)
    },
    "inrank.variance_ratio": lambda to, xp: inrank_core.variance_ratio(
        to(np.array([3.0, 2.0, 0.5])), 6
    ),
    "inrank.select_rank": lambda to, xp: inrank_core.select_rank(
        to(np.array([3.0, 2.0, 0.5, 0.1])), 1, 2, 3, 0.9, 6
    ),
    "inrank.init_layers-active-dense": lambda to, xp: [
        (inrank_core.active(layer), inrank_core.dense(layer))
        for layer in inrank_core.init_layers([to(w) for w in _network()[0]], rng=0)
    ],
    "inrank.inrank_step": lambda to, xp: [
        (layer["U"], layer["V"], layer["rank"]) for layer in _inrank_layers(to, xp)
    ],
    "inrank.inrank": lambda to, xp: inrank_core.inrank(
        *_to_network(to), 0.05, 12, 0, threshold=1.0, warmup=4, gap=4, init_scale=0.1
    )[:2],
    # ------------------------------------------------------------------ pde
    "pde.distances": lambda to, xp: pde_core.distances(to(_points(6, 1)), to(_points(4, 2))),
    "pde.matern72": lambda to, xp: pde_core.matern72(to(np.linspace(0.0, 1.0, 7))),
    "pde.covariance": lambda to, xp: pde_core.covariance(
        to(_points(6, 1)), to(_points(6, 3)), to(_points(4, 2)), to(_points(4, 4))
    ),
    "pde.variances": lambda to, xp: pde_core.variances(to(_points(6, 3))),
    "pde.linearized_weights": lambda to, xp: pde_core.linearized_weights(
        to(np.linspace(-1.0, 1.0, 4)), 3
    ),
    "pde.dense_gauss_newton": lambda to, xp: pde_core.dense_gauss_newton(
        *[to(a) for a in _pde_problem()], steps=2, eta=1e-3
    ),
    "pde.maximin": lambda to, xp: pde_core.maximin(to(_points(8, 5)), to(np.full(8, np.inf))),
    "pde.ball_mask": lambda to, xp: pde_core.ball_mask(
        to(_points(8, 5)), to(np.linspace(1.0, 0.1, 8)), 2.0
    ),
    "pde.kl_factor": lambda to, xp: pde_core.kl_factor(*_pde_big(to), eta=1e-3),
    "pde.pcg": lambda to, xp: pde_core.pcg(
        lambda v, M=to(SPD): M @ v,
        lambda v: v / 3.0,
        to(np.array([1.0, 2.0, 3.0])),
        to(np.zeros(3)),
        tol=1e-13,
    ),
    "pde.big_list": lambda to, xp: pde_core.big_list(*[to(a) for a in _pde_problem()[:2]]),
    "pde.elimination_order": lambda to, xp: pde_core.elimination_order(
        *[to(a) for a in _pde_problem()[:2]]
    ),
    "pde.sparse_gauss_newton": lambda to, xp: pde_core.sparse_gauss_newton(
        *[to(a) for a in _pde_problem()], steps=2, eta=1e-3, tol=1e-13
    ),
    # ------------------------------------------------------------------ vecchia
    "vecchia.distances": lambda to, xp: vecchia_core.distances(to(_points(7))),
    "vecchia.reverse_maximin": lambda to, xp: vecchia_core.reverse_maximin(to(_points(15)), 2),
    "vecchia.ball_mask": lambda to, xp: vecchia_core.ball_mask(*[to(a) for a in _ordered()], 2.0),
    "vecchia.kl_column": lambda to, xp: vecchia_core.kl_column(to(_theta(6))),
    "vecchia.kl_factor_loop": lambda to, xp: vecchia_core.kl_factor_loop(
        to(_ordered()[0]),
        Matern(1.5, 0.3),
        vecchia_core.ball_mask(*[to(a) for a in _ordered()], 2.0),
    ),
    "vecchia.inverse_cholesky": lambda to, xp: vecchia_core.inverse_cholesky(to(_theta())),
    "vecchia.inverse_of_flipped_cholesky": lambda to, xp: vecchia_core.inverse_of_flipped_cholesky(
        to(np.linalg.cholesky(_theta()[::-1, ::-1]))
    ),
    "vecchia.group_supernodes": lambda to, xp: vecchia_core.group_supernodes(
        vecchia_core.ball_mask(*[to(a) for a in _ordered()], 2.0), to(_ordered()[1]), 1.5
    ),
    "vecchia.supernodal_factor_loop": lambda to, xp: vecchia_core.supernodal_factor_loop(
        to(_ordered()[0]),
        lambda x, y: Matern(1.5, 0.3)(x, y) + 0.1 * (vecchia_core.distances(x) == 0),
        vecchia_core.group_supernodes(
            vecchia_core.ball_mask(*[to(a) for a in _ordered()], 2.0), to(_ordered()[1]), 1.5
        ),
    ),
    "vecchia.kl": lambda to, xp: vecchia_core.kl(
        to(_theta()), vecchia_core.inverse_cholesky(to(_theta() + 0.05 * np.eye(25)))
    ),
}


def _to_network(to):
    weights, X, Y = _network()
    return [to(w) for w in weights], to(X), to(Y)


def _leaves(result):
    """The arrays and numbers of a result, in order (lists, tuples, dicts walked)."""
    if isinstance(result, list | tuple):
        return [leaf for entry in result for leaf in _leaves(entry)]
    if isinstance(result, dict):
        return [leaf for key in sorted(result) for leaf in _leaves(result[key])]
    return [result]


def _identity(a):
    return a


@pytest.mark.parametrize("name", sorted(CORES))
def test_core_function_on_the_device(xp, name):
    with default_backend(xp):
        device = _leaves(CORES[name](xp.asarray, xp))
    host = _leaves(CORES[name](_identity, np))
    assert len(device) == len(host)
    for position, (d, h) in enumerate(zip(device, host, strict=True)):
        where = f"{name}: output {position}"
        if isinstance(h, np.ndarray) and h.ndim > 0:
            assert backend.array_namespace(d) is xp, (where, type(d))
            d = backend.to_numpy(d)
            if h.dtype.kind in "biu":
                np.testing.assert_array_equal(d, h, err_msg=where)
            else:
                scale = np.abs(h[np.isfinite(h)]).max(initial=0.0)
                atol = RTOL * max(scale, np.finfo(float).tiny)
                np.testing.assert_allclose(d, h, rtol=0, atol=atol, err_msg=where)
        elif isinstance(h, int | np.integer | bool):
            assert d == h, where
        else:  # a float, or a 0-d array (a reduction)
            assert not isinstance(d, np.ndarray) or d.ndim == 0, where
            assert float(d) == pytest.approx(float(h), rel=RTOL, abs=RTOL), where
