"""InRank (b): effective rank of the cumulative update against the training step.

Same runs as figure (a). The effective rank of W3W2W1(t) − W3W2W1(0) at thresholds 0.9
(top) and 0.99 (bottom), by the energy-based explained ratio (Σ_{i≤k} s_i² / Σ s_i²) and
by the variance-based ratio of InRank's code (1 − var(s with its first k entries
zeroed) / var(s), over all 8 singular values); dashed and dotted: the same two ranks of
the aligned-init closed-form spectrum. For σ ≤ 0.1 the rank at 0.9 never needs the two
smallest modes (they carry 6 % of the energy); at 0.99 each of the four modes adds a step.
At σ = 1 the null-mode bulk keeps the rank high.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl import backend
from refimpl.figures import save_figure, script_main
from refimpl.inrank.experiments import staircase
from refimpl.inrank.rank import effective_rank

TOPIC = "inrank"
NAME = "inrank_effective_rank"
THRESHOLDS = (0.9, 0.99)


def make(out_dir, quick=False):
    """Run the staircase experiment and plot both effective ranks per init scale."""
    out = staircase(steps=600 if quick else 10000, n=6 if quick else 8, rng=0)
    runs = out["runs"]
    fig, axes = plt.subplots(
        len(THRESHOLDS), len(runs), figsize=(4.2 * len(runs), 6.2), sharey=True, squeeze=False
    )
    ranks = []
    for row, threshold in enumerate(THRESHOLDS):
        for ax, run in zip(axes[row], runs, strict=True):
            steps = np.maximum(run["steps"], 1)
            r = {
                f"{src}_{kind}": backend.to_numpy(effective_rank(run[key], threshold, kind))
                for src, key in (("sim", "update_sv"), ("closed", "closed_form_sv"))
                for kind in ("energy", "variance")
            }
            ranks.append(
                {"sigma": run["sigma"], "threshold": threshold, "steps": run["steps"], **r}
            )
            ax.step(steps, r["sim_energy"], where="post", color="C0", label="energy ratio")
            ax.step(steps, r["sim_variance"], where="post", color="C3", label="variance ratio")
            ax.step(steps, r["closed_energy"], where="post", color="C0", ls="--", lw=0.9)
            ax.step(steps, r["closed_variance"], where="post", color="C3", ls=":", lw=0.9)
            ax.set_xscale("log")
            ax.set_title(f"σ = {run['sigma']:g}, threshold {threshold:g}", fontsize=9)
            ax.set_yticks(range(out["n"] + 1))
            if row == len(THRESHOLDS) - 1:
                ax.set_xlabel("gradient descent step")
        axes[row, 0].set_ylabel(f"effective rank ({threshold:g})")
    axes[0, 0].plot([], [], "C0--", lw=0.9, label="energy, closed form (aligned init)")
    axes[0, 0].plot([], [], "C3:", lw=0.9, label="variance, closed form (aligned init)")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    fig.suptitle(
        "Effective rank of W_t − W_0, target singular values "
        f"{tuple(float(v) for v in out['singular_values'])}: the first step is ∝ the gradient "
        "∝ T, then one mode at a time",
        fontsize=10,
    )
    fig.tight_layout()
    data = {"target_singular_values": out["singular_values"], "ranks": ranks}
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
