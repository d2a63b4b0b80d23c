"""Spectral radius of each method on f = αxy against ηα: closed forms and measured rates.

Lines: the closed-form spectral radii of ``refimpl.cgd.spectral_radius`` (η = 0.2,
γ = 1, α varied). Markers: the per-step growth measured over the second half of
a simulated run. Below 1 converges, above 1 diverges; only CGD stays below 1 for
every ηα.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.cgd import (
    LINEAR_METHODS,
    METHOD_STYLES,
    BilinearGame,
    measured_rate,
    run,
    spectral_radius,
)
from refimpl.figures import save_figure, script_main

TOPIC = "cgd"
ETA, GAMMA = 0.2, 1.0


def make(out_dir, quick=False):
    """Closed-form spectral radii against ηα, with measured rates as markers."""
    eta_alpha = np.linspace(0.01, 3.0, 300)
    marker_eta_alpha = np.linspace(0.25, 3.0, 5 if quick else 12)
    steps = 40 if quick else 200
    data = {
        "eta": ETA,
        "gamma": GAMMA,
        "eta_alpha": eta_alpha,
        "marker_eta_alpha": marker_eta_alpha,
        "steps": steps,
        "closed_form": {},
        "measured": {},
    }
    fig, ax = plt.subplots(figsize=(7.5, 5))
    # dashed lines last, on top of the solid lines they coincide with
    for method in sorted(LINEAR_METHODS, key=lambda m: METHOD_STYLES[m][1] == "--"):
        rho = np.array([spectral_radius(method, a / ETA, ETA, GAMMA) for a in eta_alpha])
        measured = []
        for a in marker_eta_alpha:
            opts = {"gamma": GAMMA} if method in ("sga", "conopt") else {}
            result = run(BilinearGame(a / ETA), method, 0.5, 0.5, steps, ETA, **opts)
            measured.append(
                measured_rate(result, ogda_state=method == "ogda")
                if result.status == "completed"
                else np.nan
            )
        data["closed_form"][method] = rho
        data["measured"][method] = measured
        color, ls, label = METHOD_STYLES[method]
        ax.semilogy(eta_alpha, rho, color=color, ls=ls, lw=2.5 if ls == "-" else 1.5, label=label)
        ax.semilogy(marker_eta_alpha, measured, "o", color=color, ms=4, mfc="none")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("ηα")
    ax.set_ylabel("spectral radius of the iteration matrix")
    ax.set_title(f"f = αxy, η = {ETA}, γ = {GAMMA}: lines closed form, circles measured")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, data, out_dir, "cgd_spectral_radius")


if __name__ == "__main__":
    script_main(make, __file__)
