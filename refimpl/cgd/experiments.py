r"""Small experiment drivers shared by the figures, the tutorial and the benchmark.

References
----------
.. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019,
   Section 4 and Figure 2 (the comparison these drivers reproduce).
"""

from __future__ import annotations

import math

import numpy as np

from refimpl import backend
from refimpl.cgd.runner import METHODS, RunResult, method_options, run
from refimpl.validation import as_float_array, check_nonnegative

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
    r"""Run several methods from the same start.

    Parameters
    ----------
    game : Game
        A two-player game.
    x0, y0 : array_like
        The common start.
    steps : int
        Steps per method, >= 0.
    eta : float, optional
        Step size of every method (or ``eta_x`` and ``eta_y`` in ``options``).
    methods : sequence of str
        Names from :data:`~refimpl.cgd.METHODS`, at least one.
    gamma : float
        γ of SGA and ConOpt, >= 0.
    **options
        Every other option goes to the methods that accept it (``solver``, ``tol``
        … to CGD and ACGD).

    Returns
    -------
    dict
        ``{method: RunResult}``.

    Raises
    ------
    ValueError
        If an option is accepted by none of ``methods`` (naming the key).

    Notes
    -----
    All methods start from z₀ = (x₀, y₀) with the same step sizes, so that their
    distances ‖z_k‖ compare as in Figure 2 of [1]_; on f = αxy, CGD's is

    .. math::

        \lVert z_k \rVert = (1 + \eta^2\alpha^2)^{-k/2} \lVert z_0 \rVert .

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame
    >>> results = compare_methods(BilinearGame(1.0), 0.5, 0.5, 10, 0.2, methods=("gda", "cgd"))
    >>> sorted(results), results["cgd"].steps_taken
    (['cgd', 'gda'], 10)
    """
    if isinstance(methods, str) or not isinstance(methods, list | tuple) or not methods:
        raise ValueError(f"methods: expected a non-empty sequence of method names, got {methods!r}")
    unknown = [m for m in methods if not isinstance(m, str) or m not in METHODS]
    if unknown:
        raise ValueError(f"methods: expected names from {list(METHODS)}, received {unknown}")
    accepted = {m: method_options(m) for m in methods}
    gamma = check_nonnegative("gamma", gamma)
    step_sizes = {k: options.pop(k) for k in ("eta_x", "eta_y") if k in options}
    for key in options:
        if not any(key in keys for keys in accepted.values()):
            raise ValueError(
                f"options: {key!r} is accepted by none of the methods {list(methods)} "
                f"(options: {sorted(set().union(*accepted.values()))})"
            )
    results = {}
    for method in methods:
        extra = {k: v for k, v in options.items() if k in accepted[method]}
        if "gamma" in accepted[method]:
            extra["gamma"] = gamma
        results[method] = run(game, method, x0, y0, steps, eta, **step_sizes, **extra)
    return results


def measured_rate(result, ogda_state=False):
    r"""Per-step growth factor over the second half of a run.

    Parameters
    ----------
    result : RunResult
        A run of at least 2 steps (of its finite part, when it diverged).
    ogda_state : bool
        Measure the norm of (z_k, z_{k−1}), the state OGDA's 4×4 matrix acts on.

    Returns
    -------
    float
        The estimate ρ̂ (0.0 when ‖z_K‖ underflowed to 0).

    Raises
    ------
    ValueError
        If the run is shorter than 2 steps or ‖z_{K/2}‖ = 0.

    Notes
    -----
    .. math::

        \hat\rho = \left(\lVert z_K \rVert / \lVert z_{K/2} \rVert\right)^{1/(K - K/2)},

    computed from logarithms so that it does not overflow; it tends to the
    spectral radius of a linear method's iteration matrix [1]_.

    References
    ----------
    .. [1] F. Schäfer and A. Anandkumar, "Competitive Gradient Descent", NeurIPS 2019.

    Examples
    --------
    >>> from refimpl.cgd import BilinearGame, run
    >>> result = run(BilinearGame(3.0), "cgd", 0.5, 0.5, 40, 0.2)
    >>> round(measured_rate(result), 6)   # 1 / sqrt(1 + 0.36)
    0.857493
    """
    if not isinstance(result, RunResult):
        raise ValueError(f"result: expected a RunResult of refimpl.cgd.run, received {result!r}")
    if not isinstance(ogda_state, bool):
        raise ValueError(f"ogda_state: expected True or False, received {ogda_state!r}")
    # a RunResult may be built by hand: its trajectories must be finite, one row per step
    x = as_float_array("result", result.x, ndim=2)
    y = as_float_array("result", result.y, ndim=2)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"result: expected trajectories x, y with one row per step, received shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_norm = np.log(backend.to_numpy(result.norm))
        if ogda_state:  # log ‖(z_k, z_{k−1})‖ without squaring huge numbers
            high = np.maximum(log_norm[1:], log_norm[:-1])
            low = np.minimum(log_norm[1:], log_norm[:-1])
            log_norm = high + 0.5 * np.log1p(np.exp(2 * np.where(high > -np.inf, low - high, 0)))
    K = log_norm.size - 1
    if K < 2:
        raise ValueError(f"result: expected a run of at least 2 steps, received {K}")
    half = K // 2
    if log_norm[half] == -np.inf:
        raise ValueError(f"result: ‖z‖ is 0 at step {half}; the growth rate is undefined there")
    exponent = (log_norm[K] - log_norm[half]) / (K - half)
    if math.isnan(exponent):  # ‖z‖ = inf at both steps (a hand-made result)
        raise ValueError(
            f"result: ‖z‖ exceeds the float range at steps {half} and {K}; the growth rate "
            "is undefined there"
        )
    if exponent > 709:
        raise ValueError(f"result: the growth rate exp({exponent:.4g}) exceeds the float range")
    return float(math.exp(exponent))  # exp(-inf) = 0.0 when ‖z_K‖ underflowed
