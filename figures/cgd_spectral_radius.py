"""Spectral radius of each method on f = αxy against ηα: closed forms and measured rates.

Lines: the closed-form spectral radii of ``refimpl.cgd.spectral_radius`` (η = 0.2,
γ = 1, α varied). Markers: the per-step growth measured over the second half of
a simulated run. A run that overflows stops at the step where it happened
(``RunResult.status == "diverged"``); its rate is measured over the second half of
its finite part, and drawn as a filled marker. Below 1 converges, above 1
diverges; only CGD stays below 1 for every ηα.
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
        "measured_steps": {},
    }
    fig, ax = plt.subplots(figsize=(7.5, 5.4))
    # dashed lines last, on top of the solid lines they coincide with
    for method in sorted(LINEAR_METHODS, key=lambda m: METHOD_STYLES[m][1] == "--"):
        rho = np.array([spectral_radius(method, a / ETA, ETA, GAMMA) for a in eta_alpha])
        measured, used = [], []
        for a in marker_eta_alpha:
            opts = {"gamma": GAMMA} if method in ("sga", "conopt") else {}
            result = run(BilinearGame(a / ETA), method, 0.5, 0.5, steps, ETA, **opts)
            # an overflowing run keeps its finite part: measure the rate on that
            measured.append(measured_rate(result, ogda_state=method == "ogda"))
            used.append(result.steps_taken)
        data["closed_form"][method] = rho
        data["measured"][method] = measured
        data["measured_steps"][method] = used
        color, ls, label = METHOD_STYLES[method]
        ax.semilogy(eta_alpha, rho, color=color, ls=ls, lw=2.5 if ls == "-" else 1.5, label=label)
        full = np.array(used) == steps
        ax.semilogy(
            marker_eta_alpha[full], np.array(measured)[full], "o", color=color, ms=4, mfc="none"
        )
        ax.semilogy(marker_eta_alpha[~full], np.array(measured)[~full], "o", color=color, ms=4)
    ax.axhline(1.0, color="gray", lw=0.8, label="ρ = 1: converges below, diverges above")
    ax.plot([], [], "o", color="gray", ms=4, mfc="none", label=f"measured over {steps} steps")
    ax.plot(
        [], [], "o", color="gray", ms=4, label="measured on the finite part of an overflowing run"
    )
    ax.set_xlabel("ηα")
    ax.set_ylabel("spectral radius of the iteration matrix")
    ax.set_title(f"f = αxy, η = {ETA}, γ = {GAMMA}: lines closed form, circles measured")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    fig.legend(
        *ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8, frameon=False
    )
    return save_figure(fig, data, out_dir, "cgd_spectral_radius")


if __name__ == "__main__":
    script_main(make, __file__)
