"""InRank (b): effective rank of the cumulative update against the training step.

Same runs as figure (a). The effective rank of W3W2W1(t) − W3W2W1(0) at threshold 0.9,
by the energy-based explained ratio (Σ_{i≤k} s_i² / Σ s_i²) and by the variance-based
ratio of InRank's code (1 − var(s with its first k entries zeroed) / var(s)); dashed:
the same two ranks of the aligned-init closed-form spectrum.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.inrank.experiments import staircase

TOPIC = "inrank"
NAME = "inrank_effective_rank"


def make(out_dir, quick=False):
    """Run the staircase experiment and plot both effective ranks per init scale."""
    out = staircase(steps=600 if quick else 10000, n=6 if quick else 8, rng=0)
    runs = out["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4), sharey=True)
    for ax, run in zip(np.atleast_1d(axes), runs, strict=True):
        steps = np.maximum(run["steps"], 1)
        ax.step(steps, run["rank_energy"], where="post", color="C0", label="energy ratio")
        ax.step(steps, run["rank_variance"], where="post", color="C3", label="variance ratio")
        ax.step(steps, run["closed_rank_energy"], where="post", color="C0", ls="--", lw=0.9)
        ax.step(steps, run["closed_rank_variance"], where="post", color="C3", ls=":", lw=0.9)
        ax.set_xscale("log")
        ax.set_title(f"orthogonal init, σ = {run['sigma']:g}")
        ax.set_xlabel("gradient descent step")
        ax.set_yticks(range(out["n"] + 1))
    axes[0].set_ylabel("effective rank of the update (threshold 0.9)")
    axes[0].plot([], [], "k--", lw=0.9, label="closed form (aligned init)")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(
        "Effective rank of W_t − W_0 (threshold 0.9), target singular values "
        f"{tuple(float(v) for v in out['singular_values'])}: the first step is ∝ the gradient "
        "∝ T, then one mode at a time",
        fontsize=10,
    )
    fig.tight_layout()
    data = {
        "target_singular_values": out["singular_values"],
        "threshold": 0.9,
        "runs": [
            {
                key: run[key]
                for key in (
                    "sigma",
                    "steps",
                    "rank_energy",
                    "rank_variance",
                    "closed_rank_energy",
                    "closed_rank_variance",
                )
            }
            for run in runs
        ],
    }
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
