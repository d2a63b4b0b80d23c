"""Quadratic games ±α(x² − y²) and the implicit competitive regularization example.

Left: f = α(x² − y²), where the origin is a good equilibrium (a minimum for x and a
maximum for y): every method approaches it. Middle: f = −α(x² − y²), where the
origin is a bad stationary point (a maximum for the minimizing player): a good
method leaves it, and ConOpt, whose extra term γ D_xx f ∇ₓf pulls toward any
stationary point, converges to it (Section 4 of Schäfer & Anandkumar, 2019).
Right: min_x max_y x² + 10xy + y² (Schäfer, Zheng & Anandkumar, 2020): simultaneous
GD converges with ηₓ = 0.09, η_y = 0.01 and diverges with ηₓ = η_y = 0.05; CGD
converges in both. Dotted lines: ρᵏ from the closed-form spectral radii.
On ±α(x² − y²) there is no mixed term, so GDA, SGA, LCGD and CGD coincide, and
OGDA and extragradient differ from them only through look-ahead.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.cgd import QuadraticGame, compare_methods, game_spectral_radius, run
from refimpl.figures import save_figure, script_main

TOPIC = "cgd"
ALPHA, ETA, GAMMA = 1.0, 0.2, 1.0
METHODS = ("gda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd")
ICR_SETTINGS = ((0.09, 0.01), (0.05, 0.05))
LINESTYLES = ("-", "--", "-.", ":")


def make(out_dir, quick=False):
    """Distances to the origin on ±α(x² − y²) and on the ICR example."""
    steps = 20 if quick else 60
    icr_steps = 60 if quick else 300
    data = {"alpha": ALPHA, "eta": ETA, "gamma": GAMMA, "steps": steps}
    fig, axes = plt.subplots(1, 3, figsize=(17.5, 4.6))
    for ax, sign in zip(axes[:2], (1.0, -1.0), strict=True):
        game = QuadraticGame(2 * sign * ALPHA, 0.0, 2 * sign * ALPHA)
        results = compare_methods(game, 0.5, 0.5, steps, ETA, methods=METHODS, gamma=GAMMA)
        key = "plus" if sign > 0 else "minus"
        data[key] = {m: r.norm for m, r in results.items()}
        data[f"{key}_spectral_radius"] = {
            m: game_spectral_radius(m, game, ETA, gamma=GAMMA) for m in METHODS
        }
        for i, (method, result) in enumerate(results.items()):
            # thinner, dashed lines on top keep coinciding methods visible
            ax.semilogy(result.norm, label=method, lw=3.5 - 0.4 * i, ls=LINESTYLES[i % 4])
        sign_text, kind = ("", "good equilibrium") if sign > 0 else ("−", "bad stationary point")
        ax.set_title(f"f = {sign_text}{ALPHA:g}·(x² − y²), η = {ETA}, γ = {GAMMA}\norigin: {kind}")
        ax.set_xlabel("iteration (GDA, SGA, LCGD, CGD coincide: no mixed term)")
        ax.set_ylabel("distance to the origin")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")

    icr = QuadraticGame(2.0, 10.0, -2.0)  # x² + 10xy + y²
    ax = axes[2]
    data["icr"] = {}
    k = np.arange(icr_steps + 1)
    for (eta_x, eta_y), ls in zip(ICR_SETTINGS, ("-", "--"), strict=True):
        for method, color in (("gda", "tab:red"), ("cgd", "black")):
            result = run(icr, method, 1.0, 1.0, icr_steps, eta_x=eta_x, eta_y=eta_y)
            rho = game_spectral_radius(method, icr, eta_x, eta_y)
            label = f"{method}, ηₓ={eta_x}, η_y={eta_y} (ρ={rho:.3f})"
            ax.semilogy(result.norm, color=color, ls=ls, label=label)
            finite = k[: result.norm.size]  # an overflowing run stops where it happened
            ax.semilogy(finite, result.norm[0] * rho**finite, color=color, ls=":", lw=0.8)
            data["icr"][f"{method}_{eta_x}_{eta_y}"] = {
                "distance": result.norm,
                "spectral_radius": rho,
                "status": result.status,
            }
    ax.plot([], [], color="gray", ls=":", lw=0.8, label="‖z₀‖ρᵏ (closed-form spectral radius)")
    ax.set_title("ICR example: min_x max_y x² + 10xy + y²")
    ax.set_xlabel("iteration")
    ax.set_ylabel("distance to the origin")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, data, out_dir, "cgd_quadratic_games")


if __name__ == "__main__":
    script_main(make, __file__)
