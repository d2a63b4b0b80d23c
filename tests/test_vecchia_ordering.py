"""Maximin orderings: fast against brute force, and their defining properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.vecchia import (
    conditional_maximin_ordering,
    maximin_ordering,
    maximin_ordering_brute_force,
)
from tests.strategies import point_clouds, seeds


def plain_maximin(points, initial=0):
    """Textbook farthest-point ordering, written independently of refimpl."""
    n = len(points)
    chosen = [initial]
    distance = np.linalg.norm(points - points[initial], axis=1)
    lengths = [np.inf]
    for _ in range(n - 1):
        distance[chosen] = -1.0
        j = int(np.argmax(distance))
        lengths.append(distance[j])
        chosen.append(j)
        distance = np.minimum(distance, np.linalg.norm(points - points[j], axis=1))
    return np.array(chosen[::-1]), np.array(lengths[::-1])


def distance_to_pth_coarser(ordered, p):
    """For ordered points, distance of each to its p-th nearest later (coarser) point."""
    n = len(ordered)
    D = np.linalg.norm(ordered[:, None] - ordered[None], axis=-1)
    out = np.full(n, np.inf)
    for k in range(n - p):
        out[k] = np.sort(D[k, k + 1 :])[p - 1]
    return out


@given(point_clouds(n=st.integers(2, 80), d=st.integers(1, 3)), st.integers(1, 4), seeds)
def test_fast_ordering_equals_brute_force(points, p, seed):
    initial = int(seed % len(points))
    order, lengths = maximin_ordering(points, p=p, initial=initial)
    order_b, lengths_b = maximin_ordering_brute_force(points, p=p, initial=initial)
    np.testing.assert_array_equal(order, order_b)
    np.testing.assert_array_equal(lengths, lengths_b)
    assert order[-1] == initial and lengths[-1] == np.inf
    assert np.array_equal(np.sort(order), np.arange(len(points)))
    assert np.all(lengths[1:] >= lengths[:-1])


@given(point_clouds(n=st.integers(2, 60), d=st.integers(1, 3)))
def test_p_equal_one_is_plain_maximin(points):
    order, lengths = maximin_ordering(points, p=1)
    order_ref, lengths_ref = plain_maximin(points)
    np.testing.assert_array_equal(order, order_ref)
    np.testing.assert_allclose(lengths, lengths_ref, rtol=1e-15)


@given(point_clouds(n=st.integers(5, 60), d=st.integers(1, 3)), st.integers(1, 3))
def test_lengths_are_distances_to_pth_nearest_coarser_point(points, p):
    order, lengths = maximin_ordering(points, p=p)
    expected = distance_to_pth_coarser(points[order], p)
    np.testing.assert_allclose(lengths, expected, rtol=1e-14)
    assert np.all(np.isinf(lengths[-p:]))


def test_fast_ordering_equals_brute_force_on_a_grid_with_ties():
    g = np.stack(np.meshgrid(np.arange(17), np.arange(13)), -1).reshape(-1, 2) / 16.0
    for p in (1, 2):
        fast = maximin_ordering(g, p=p)
        brute = maximin_ordering_brute_force(g, p=p)
        np.testing.assert_array_equal(fast[0], brute[0])
        np.testing.assert_array_equal(fast[1], brute[1])


@pytest.mark.parametrize(("n", "p"), [(6000, 1), (4000, 3)])
def test_large_random_set_matches_brute_force_through_many_batches(n, p):
    x = np.random.default_rng(3).uniform(size=(n, 2))
    fast, brute = maximin_ordering(x, p=p), maximin_ordering_brute_force(x, p=p)
    np.testing.assert_array_equal(fast[0], brute[0])
    np.testing.assert_array_equal(fast[1], brute[1])


@given(point_clouds(n=st.integers(4, 50), d=st.integers(1, 2)), st.integers(1, 2))
def test_conditional_ordering_continues_the_maximin_sequence(points, p):
    split = len(points) // 2
    reference, new = points[:split], points[split:]
    if len(reference) < p:
        return
    order, lengths = conditional_maximin_ordering(new, reference, p=p)
    assert np.all(np.isfinite(lengths)) and np.all(lengths[1:] >= lengths[:-1])
    # each prediction point's length: p-th nearest among reference and coarser new points
    ordered = new[order]
    for k in range(len(order)):
        others = np.concatenate([reference, ordered[k + 1 :]])
        expected = np.sort(np.linalg.norm(others - ordered[k], axis=1))[p - 1]
        assert lengths[k] == pytest.approx(expected, rel=1e-14)
    # and it is greedy: the coarsest new point is the farthest from the reference
    far = np.array([np.sort(np.linalg.norm(reference - x, axis=1))[p - 1] for x in new])
    assert lengths[-1] == pytest.approx(far.max(), rel=1e-14)


@given(point_clouds(n=st.integers(3, 80), d=st.integers(1, 3)), st.integers(1, 4), seeds)
def test_fast_ordering_equals_brute_force_with_a_sequence_of_initial_points(points, p, seed):
    n = len(points)
    initial = np.random.default_rng(seed).permutation(n)[: 1 + seed % min(n - 1, 5)].tolist()
    order, lengths = maximin_ordering(points, p=p, initial=initial)
    order_b, lengths_b = maximin_ordering_brute_force(points, p=p, initial=initial)
    np.testing.assert_array_equal(order, order_b)
    np.testing.assert_array_equal(lengths, lengths_b)
    assert order[::-1][: len(initial)].tolist() == initial
