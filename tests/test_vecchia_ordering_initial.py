"""Issue 11, item 6: ``maximin_ordering(points, p, initial)`` with a sequence of initial points.

The test states the behaviour against an independent brute-force reference: the points listed
in ``initial`` are chosen first, in that order (coarsest first), each with length the
distance to its p-th nearest previously chosen point (∞ while fewer than p are
chosen); the greedy p-maximin rule continues after them.
"""

import numpy as np
import pytest

from refimpl.vecchia import maximin_ordering


def reference_ordering(points, p, initial):
    """O(N²) p-maximin ordering that starts with the sequence ``initial``."""
    n = len(points)
    near = np.full((n, p), np.inf)  # sorted distances to the p nearest chosen points
    chosen, lengths, selected = [], [], np.zeros(n, dtype=bool)
    for t in range(n):
        if t < len(initial):
            j = int(initial[t])
        else:
            # while fewer than p points are chosen, rank by the farthest chosen point
            column = min(t, p) - 1
            j = int(np.argmax(np.where(selected, -1.0, near[:, column])))
        chosen.append(j)
        lengths.append(near[j, p - 1])
        selected[j] = True
        d = np.linalg.norm(points - points[j], axis=1)
        near = np.sort(np.concatenate([near, d[:, None]], axis=1), axis=1)[:, :p]
    return np.array(chosen[::-1]), np.array(lengths[::-1])


@pytest.mark.parametrize("p", [1, 3])
def test_initial_sequence_starts_the_ordering(p):
    x = np.random.default_rng(0).uniform(size=(200, 2))
    initial = list(range(p))  # the authors' codes start with the first p input points
    order, lengths = maximin_ordering(x, p=p, initial=initial)
    expected_order, expected_lengths = reference_ordering(x, p, initial)
    assert np.array_equal(order, expected_order)
    assert np.array_equal(lengths, expected_lengths)
    assert order[-p:][::-1].tolist() == initial and np.all(np.isinf(lengths[-p:]))


def test_initial_sequence_is_validated():
    x = np.random.default_rng(0).uniform(size=(20, 2))
    for bad in ([0, 0], [0, 20], [-1], [], [0.5]):
        with pytest.raises(ValueError, match="initial"):
            maximin_ordering(x, p=2, initial=bad)


def test_reference_agrees_with_an_integer_initial():
    # the reference with a one-point sequence is the existing ordering (checks the reference)
    x = np.random.default_rng(1).uniform(size=(150, 2))
    for p in (1, 3):
        order, lengths = maximin_ordering(x, p=p, initial=7)
        expected_order, expected_lengths = reference_ordering(x, p, [7])
        assert np.array_equal(order, expected_order)
        assert np.allclose(lengths, expected_lengths, rtol=1e-14)
