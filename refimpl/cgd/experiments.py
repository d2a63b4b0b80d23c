"""Small experiment drivers shared by the figures, the tutorial and the benchmark."""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.runner import METHODS, run

__all__ = ["compare_methods", "measured_rate"]


def compare_methods(game, x0, y0, steps, eta, methods=METHODS, gamma=1.0, **options):
    """Run several methods from the same start; returns ``{method: RunResult}``.

    ``gamma`` goes to SGA and ConOpt only; other ``options`` go to every method
    that accepts them (``solver``, ``tol`` … to CGD and ACGD).

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame
    >>> results = compare_methods(BilinearGame(1.0), 0.5, 0.5, 10, 0.2, methods=("gda", "cgd"))
    >>> sorted(results), results["cgd"].steps_taken
    (['cgd', 'gda'], 10)
    """
    results = {}
    for method in methods:
        extra = {"gamma": gamma} if method in ("sga", "conopt") else {}
        if method in ("cgd", "acgd"):
            extra.update(options)
        results[method] = run(game, method, x0, y0, steps, eta, **extra)
    return results


def measured_rate(result, ogda_state=False):
    r"""Per-step growth factor over the second half of a run.

    .. math::

        \hat\rho = \left(\lVert z_K \rVert / \lVert z_{K/2} \rVert\right)^{2/K},

    which tends to the spectral radius of a linear method's iteration matrix.
    With ``ogda_state=True`` the norm is that of (z_k, z_{k−1}), the state OGDA's
    4×4 matrix acts on.
    """
    distance = backend.to_numpy(result.distance)
    if ogda_state:
        distance = np.hypot(distance[1:], distance[:-1])
    K = distance.size - 1
    if K < 2:
        raise ValueError(f"result: expected a run of at least 2 steps, received {K}")
    half = K // 2
    return float((distance[K] / distance[half]) ** (1.0 / (K - half)))
