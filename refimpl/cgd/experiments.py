"""Small experiment drivers shared by the figures, the tutorial and the benchmark."""

from __future__ import annotations

import numpy as np

from refimpl import backend
from refimpl.cgd.runner import METHODS, method_options, run

__all__ = ["METHOD_STYLES", "compare_methods", "measured_rate"]

# Plot style per method: (colour, line style, label). Methods that coincide on
# bilinear games (LCGD = extragradient, ConOpt = SGA) are dashed so the line under
# them stays visible.
METHOD_STYLES = {
    "gda": ("tab:red", "-", "gda"),
    "altgda": ("tab:orange", "-", "altgda"),
    "ogda": ("tab:olive", "-", "ogda"),
    "extragradient": ("tab:green", "-", "extragradient"),
    "lcgd": ("tab:cyan", "--", "lcgd (= extragradient on bilinear games)"),
    "sga": ("tab:pink", "-", "sga"),
    "conopt": ("tab:purple", "--", "conopt (= sga on bilinear games)"),
    "cgd": ("black", "-", "cgd"),
    "acgd": ("tab:blue", "-.", "acgd"),
}


def compare_methods(game, x0, y0, steps, eta=None, methods=METHODS, gamma=1.0, **options):
    """Run several methods from the same start; returns ``{method: RunResult}``.

    ``eta`` (or ``eta_x`` and ``eta_y`` in ``options``) goes to every method,
    ``gamma`` to SGA and ConOpt, and every other option to the methods that
    accept it (``solver``, ``tol`` … to CGD and ACGD).

    Raises
    ------
    ValueError
        If an option is accepted by none of ``methods``.

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame
    >>> results = compare_methods(BilinearGame(1.0), 0.5, 0.5, 10, 0.2, methods=("gda", "cgd"))
    >>> sorted(results), results["cgd"].steps_taken
    (['cgd', 'gda'], 10)
    """
    steps_sizes = {k: options.pop(k) for k in ("eta_x", "eta_y") if k in options}
    accepted = {m: method_options(m) for m in methods}
    unused = set(options) - set().union(*accepted.values())
    if unused:
        raise ValueError(
            f"options: {sorted(unused)} are accepted by none of the methods {list(methods)}"
        )
    results = {}
    for method in methods:
        extra = {k: v for k, v in options.items() if k in accepted[method]}
        if "gamma" in accepted[method]:
            extra["gamma"] = gamma
        results[method] = run(game, method, x0, y0, steps, eta, **steps_sizes, **extra)
    return results


def measured_rate(result, ogda_state=False):
    r"""Per-step growth factor over the second half of a run.

    .. math::

        \hat\rho = \left(\lVert z_K \rVert / \lVert z_{K/2} \rVert\right)^{2/K},

    which tends to the spectral radius of a linear method's iteration matrix.
    With ``ogda_state=True`` the norm is that of (z_k, z_{k−1}), the state OGDA's
    4×4 matrix acts on.
    """
    norm = backend.to_numpy(result.norm)
    if ogda_state:
        norm = np.hypot(norm[1:], norm[:-1])
    K = norm.size - 1
    if K < 2:
        raise ValueError(f"result: expected a run of at least 2 steps, received {K}")
    half = K // 2
    return float((norm[K] / norm[half]) ** (1.0 / (K - half)))
