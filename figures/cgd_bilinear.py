"""CGD and its relatives on the bilinear game f = αxy (Figure 2 of Schäfer & Anandkumar, 2019).

Distance to the equilibrium against the iteration (log scale) and the trajectories
in the (x, y) plane for α ∈ {1, 3, 6}, η = 0.2, γ = 1, start (0.5, 0.5), 50
iterations, as in ``bilinear_strong.jl`` of the paper's Julia code. As α grows,
only CGD and its adaptive version ACGD stay stable.
"""

import matplotlib.pyplot as plt

from refimpl.cgd import METHOD_STYLES, METHODS, BilinearGame, compare_methods
from refimpl.figures import save_figure, script_main

TOPIC = "cgd"
ALPHAS = (1.0, 3.0, 6.0)
ETA, GAMMA, START = 0.2, 1.0, (0.5, 0.5)


def make(out_dir, quick=False):
    """Run every method on f = αxy for each α; plot distances and trajectories."""
    steps = 15 if quick else 50
    data = {"eta": ETA, "gamma": GAMMA, "start": START, "steps": steps, "alphas": ALPHAS}
    fig, axes = plt.subplots(2, len(ALPHAS), figsize=(4.2 * len(ALPHAS), 8.2))
    # dashed lines last, on top of the solid lines they coincide with
    order = sorted(METHODS, key=lambda m: METHOD_STYLES[m][1] == "--")
    for col, alpha in enumerate(ALPHAS):
        results = compare_methods(BilinearGame(alpha), *START, steps, ETA, gamma=GAMMA)
        data[f"alpha={alpha:g}"] = {
            m: {"distance": r.norm, "x": r.x[:, 0], "y": r.y[:, 0], "status": r.status}
            for m, r in results.items()
        }
        top, bottom = axes[0, col], axes[1, col]
        for method in order:
            r = results[method]
            color, ls, label = METHOD_STYLES[method]
            top.semilogy(r.norm, color=color, ls=ls, label=label)
            bottom.plot(r.x[:, 0], r.y[:, 0], color=color, ls=ls, lw=1.2)
        top.set_title(f"f = {alpha:g}·xy, η = {ETA}")
        top.set_xlabel("iteration")
        top.set_ylabel("distance to equilibrium ‖(x, y)‖")
        top.grid(True, which="major", alpha=0.3)
        bottom.plot(*START, "ko", ms=4)
        bottom.plot(0, 0, "k*", ms=9)
        bottom.set_xlim(-1.5, 1.5)
        bottom.set_ylim(-1.5, 1.5)
        bottom.set_aspect("equal")
        bottom.set_xlabel("x (minimizes)")
        bottom.set_ylabel("y (maximizes)")
        bottom.set_title("trajectories (clipped to the box)")
    # one legend for all panels, below them, so that it hides no curve
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [
        plt.Line2D([], [], color="k", marker="o", ls="none", ms=4),
        plt.Line2D([], [], color="k", marker="*", ls="none", ms=9),
    ]
    labels += ["start (0.5, 0.5)", "equilibrium (0, 0)"]
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    return save_figure(fig, data, out_dir, "cgd_bilinear")


if __name__ == "__main__":
    script_main(make, __file__)
