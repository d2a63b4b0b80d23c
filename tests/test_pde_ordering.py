"""Multi-set maximin ordering and the placements of derivative measurements."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.pde import (
    CollocationSystem,
    MeasurementKernel,
    NonlinearElliptic,
    measurement_ordering,
    multiset_maximin_ordering,
    unit_square_grid,
)
from refimpl.vecchia import ball_pattern, kl_divergence, supernodal_kl_factor, supernodes


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40))
def test_multiset_maximin_is_the_greedy_definition(seed, n):
    """Coarse to fine: boundary set first; each interior point is the farthest from all
    points chosen before it (boundary included), and that distance is its length."""
    rng = np.random.default_rng(seed)
    boundary = np.concatenate([rng.uniform(size=(4, 1)), np.zeros((4, 1))], axis=1)
    interior = rng.uniform(0.01, 1, size=(n, 2))
    order, lengths = multiset_maximin_ordering(boundary, interior, p=1)
    points = np.concatenate([boundary, interior])
    assert sorted(order.tolist()) == list(range(n + 4))
    assert np.all(order[:n] >= 4) and np.all(order[n:] < 4)
    chosen = list(boundary)
    for k in range(n - 1, -1, -1):  # coarse to fine through the interior
        remaining = [i for i in order[: k + 1]]
        distances = np.array(
            [np.min(np.linalg.norm(np.array(chosen) - points[i], axis=1)) for i in remaining]
        )
        np.testing.assert_allclose(lengths[k], distances.max(), rtol=1e-12)
        assert np.isclose(distances[remaining.index(order[k])], distances.max(), rtol=1e-12)
        chosen.append(points[order[k]])


def test_interior_lengths_never_exceed_the_distance_to_the_boundary():
    boundary, interior = unit_square_grid(0.1)
    for p in (1, 3):
        order, lengths = multiset_maximin_ordering(boundary, interior, p=p)
        x = np.concatenate([boundary, interior])[order[: len(interior)]]
        to_boundary = np.min(np.abs(np.concatenate([x, 1 - x], axis=1)), axis=1)
        # the p-th nearest boundary point is within √(to_boundary² + (p h)²)
        assert np.all(lengths[: len(interior)] <= np.hypot(to_boundary, p * 0.1) + 1e-12)


def test_follow_places_each_derivative_right_before_its_dirac_in_one_supernode():
    boundary, interior = unit_square_grid(0.125)
    system = CollocationSystem(boundary, interior, ("value", "laplacian"))
    order, lengths = multiset_maximin_ordering(boundary, interior, p=3)
    m_order, m_lengths = measurement_ordering(order, lengths, len(boundary), 2, "follow")
    nb, ni = len(boundary), len(interior)
    derivative = m_order >= nb + ni
    positions = np.flatnonzero(derivative)
    np.testing.assert_array_equal(m_order[positions + 1], m_order[positions] - ni)
    np.testing.assert_array_equal(m_lengths[positions + 1], m_lengths[positions])
    points = system.big_measurements().points[m_order]
    groups = supernodes(ball_pattern(points, m_lengths, 2.0), m_lengths, 1.5)
    owner = np.empty(len(m_order), dtype=int)
    for s in range(groups.count):
        owner[groups.member_columns(s)] = s
    np.testing.assert_array_equal(owner[positions], owner[positions + 1])


def test_last_places_derivatives_first_at_the_finest_scale():
    boundary, interior = unit_square_grid(0.125)
    order, lengths = multiset_maximin_ordering(boundary, interior)
    m_order, m_lengths = measurement_ordering(order, lengths, len(boundary), 3, "last")
    n_derivatives = 2 * len(interior)
    assert np.all(m_order[:n_derivatives] >= len(boundary) + len(interior))
    assert np.all(m_order[n_derivatives:] < len(boundary) + len(interior))
    np.testing.assert_array_equal(m_lengths[:n_derivatives], lengths.min())


@pytest.mark.parametrize("placement", ["follow", "last"])
def test_kl_divergence_of_the_big_factor_falls_with_rho(placement):
    """The screening effect holds for derivative measurements in both placements."""
    problem = NonlinearElliptic()
    boundary, interior = unit_square_grid(0.125)
    system = CollocationSystem(boundary, interior, problem.basis)
    kernel = MeasurementKernel(problem.kernel)
    big = system.big_measurements()
    big = big.scaled(1 / np.sqrt(kernel.variances(big)))
    order, lengths = multiset_maximin_ordering(boundary, interior, p=3)
    m_order, m_lengths = measurement_ordering(order, lengths, len(boundary), 2, placement)
    rows = big.rows()[m_order]
    theta = kernel(rows) + 1e-10 * np.eye(len(rows))
    kl = []
    for rho in (1.5, 3.0, np.inf):
        groups = supernodes(ball_pattern(big.points[m_order], m_lengths, rho), m_lengths, 1.5)
        kl.append(kl_divergence(theta, supernodal_kl_factor(rows, kernel, groups, nugget=1e-10)))
    assert kl[0] > kl[1] > 0
    assert kl[2] < 1e-6
