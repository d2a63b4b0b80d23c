"""The shared Hypothesis strategies produce what they promise."""

import numpy as np
from hypothesis import given
from strategies import orthogonal_matrices, point_clouds, step_sizes, well_conditioned_matrices


@given(point_clouds(min_separation=0.05))
def test_point_clouds_are_separated(points):
    distance = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    np.fill_diagonal(distance, np.inf)
    assert len(points) >= 2 and distance.min() >= 0.05


@given(orthogonal_matrices())
def test_orthogonal_matrices_are_orthogonal(Q):
    np.testing.assert_allclose(Q.T @ Q, np.eye(len(Q)), atol=1e-12)


@given(well_conditioned_matrices(cols=None, max_condition=10.0))
def test_well_conditioned_matrices_respect_the_bound(A):
    s = np.linalg.svd(A, compute_uv=False)
    assert s.min() >= 1 - 1e-12 and s.max() <= 10 + 1e-12


@given(step_sizes(1e-3, 1.0))
def test_step_sizes_in_range(eta):
    assert 1e-3 * (1 - 1e-12) <= eta <= 1.0 * (1 + 1e-12)
