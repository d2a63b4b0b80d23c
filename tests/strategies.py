"""Hypothesis strategies shared by the test suite.

Each strategy draws a seed and builds the object with NumPy, which keeps
shrinking cheap and the objects well-behaved (finite, well conditioned).
"""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from refimpl.nn import MLP

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))  # sign fix makes the distribution Haar


@st.composite
def orthogonal_matrices(draw, n=st.integers(1, 8)):
    """Random orthogonal (Haar) matrices of size ``n``."""
    size = draw(n) if isinstance(n, st.SearchStrategy) else n
    return _orthogonal(np.random.default_rng(draw(seeds)), size)


@st.composite
def well_conditioned_matrices(draw, rows=st.integers(1, 8), cols=None, max_condition=10.0):
    """Finite matrices with singular values in [1, max_condition].

    ``cols`` defaults to ``rows`` (square). Built as U diag(s) Vᵀ, so the
    condition number is bounded by construction.
    """
    m = draw(rows) if isinstance(rows, st.SearchStrategy) else rows
    if cols is None:
        n = m
    else:
        n = draw(cols) if isinstance(cols, st.SearchStrategy) else cols
    rng = np.random.default_rng(draw(seeds))
    k = min(m, n)
    singular_values = np.sort(rng.uniform(1.0, max_condition, size=k))[::-1]
    singular_values[0] = max_condition if k > 1 else singular_values[0]
    u = _orthogonal(rng, m)[:, :k]
    v = _orthogonal(rng, n)[:, :k]
    return (u * singular_values) @ v.T


@st.composite
def point_clouds(draw, n=st.integers(2, 60), d=st.integers(1, 3), min_separation=1e-3):
    """Uniform points in the unit cube with pairwise distance >= ``min_separation``."""
    count = draw(n) if isinstance(n, st.SearchStrategy) else n
    dim = draw(d) if isinstance(d, st.SearchStrategy) else d
    rng = np.random.default_rng(draw(seeds))
    points = rng.uniform(size=(count, dim))
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    keep = np.ones(count, dtype=bool)
    for i in range(count):  # greedy thinning; sizes here are tiny
        if keep[i] and np.any(dist[i, keep] < min_separation):
            keep[i] = False
    points = points[keep]
    assume(len(points) >= 2)
    return points


def step_sizes(min_value=1e-3, max_value=1.0):
    """Positive step sizes, log-uniform in [min_value, max_value]."""
    return st.floats(np.log(min_value), np.log(max_value)).map(lambda t: float(np.exp(t)))


def sign_changes_within(widths, activation, theta, v, X, h):
    """Whether a hidden pre-activation changes sign between θ − hv and θ + hv.

    The network cut after hidden layer l (its output layer is linear) returns that
    layer's pre-activations; ``theta`` stores the layers in order, so its leading
    parameters are the cut network's.
    """
    for depth in range(1, len(widths) - 1):
        cut = MLP(widths[: depth + 1], activation)
        p = cut.n_params
        below = cut.forward(theta[:p] - h * v[:p], X)
        above = cut.forward(theta[:p] + h * v[:p], X)
        if np.any(np.sign(below) != np.sign(above)):
            return True
    return False


def small_gan(seed, loss="wgan", activation="tanh", widths=(3, 4), batch=6):
    """A tiny GAN game on two modes and a point near its initialization: (game, x, y, rng)."""
    from refimpl.cgd.gan import GANGame, two_modes

    gen = MLP((widths[0], widths[1], 2), activation)
    disc = MLP((2, widths[1], 1), activation)
    game = GANGame(gen, disc, two_modes(), batch_size=batch, loss=loss, rng=seed)
    rng = np.random.default_rng(seed + 1)
    x = gen.init(rng) + 0.1 * rng.standard_normal(gen.n_params)
    y = disc.init(rng) + 0.1 * rng.standard_normal(disc.n_params)
    return game, x, y, rng
