"""InRank on an MLP, measured by held-out loss: full rank against InRank on a noisy teacher.

A two-layer ReLU MLP 32 → 64 → 16 trained with Adam (lr 3e-3, full batch) on 512 noisy
samples (noise σ = 1; quick mode 256) of a ReLU teacher with 4 hidden units (so its first
layer has rank 4), and evaluated on 4000 fresh samples of the same teacher (quick: 500).
InRank uses the official rule (threshold 0.9, variance ratio, initial rank 2; warm-up 20,
gap 10) with the rank capped at 8 of 16 (min(m, n) = 16 for the second layer, 32 for the
first). Left: training (dashed) and held-out (solid) loss against steps; grey: the noise
floor ½ n_out σ² = 8 that no predictor can beat on held-out data. Right: InRank's ranks
(solid) and, for full-rank training, the effective rank (energy ratio, 0.9) of each
layer's cumulative update W_t − W_0 (dashed; claim (a) on the MLP). That effective rank
is 17–21 of 32 for W1 and 7–12 of 16 for W2 (variance ratio: 23–28 and 8–16): with Adam
on this noisy task the full-rank MLP's updates are not low-rank, so claim (a) is not
reproduced on the MLP; InRank's cap of 8 is what keeps it from fitting the noise.
This replaces the noiseless-interpolation view of the `inrank_algorithm` figure: there,
full rank wins by driving the training loss to zero; here, on held-out data, the picture
is the opposite late in training. What is reproduced (full mode): both reach their best
held-out loss early (full rank 10.2 at step 100, InRank 10.8 at step 300, floor 8) and
then overfit, full rank much faster: at 2000 steps InRank's held-out loss is 12.5 against
17.6 for full rank, with ranks 7 and 8 (cap 8). What is not: InRank does not beat full rank's best
(early-stopped) held-out loss on this task, and the paper's MLP/transformer benchmarks.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.inrank.heldout import mlp_heldout

TOPIC = "inrank"
NAME = "inrank_mlp_heldout"


def make(out_dir, quick=False):
    """Train full rank and InRank for growing budgets; draw held-out loss and ranks."""
    out = mlp_heldout(quick=quick, rng=0)
    fig, (ax, ax_rank) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, color in (("full", "k"), ("inrank", "C0")):
        ax.plot(
            out["budgets"],
            out[name]["test_loss"],
            color=color,
            marker="o",
            label=f"{name}: held-out",
        )
        ax.plot(
            out["budgets"], out[name]["train_loss"], color=color, ls="--", label=f"{name}: training"
        )
    ax.axhline(out["noise_floor"], color="0.6", ls=":", label="noise floor ½ n_out σ²")
    ax.set_xscale("log")
    ax.set_xlabel("Adam steps")
    ax.set_ylabel("½‖f(X) − Y‖² / n")
    ax.legend(fontsize=8)
    ranks = np.asarray(out["inrank"]["ranks"])
    update_ranks = np.asarray(out["full"]["update_rank_energy"])
    for j, label in enumerate(("W1 (64 × 32)", "W2 (16 × 64)")):
        ax_rank.plot(
            out["budgets"], ranks[:, j], marker="o", color=f"C{j}", label=f"InRank rank, {label}"
        )
        ax_rank.plot(
            out["budgets"],
            update_ranks[:, j],
            ls="--",
            color=f"C{j}",
            label=f"full rank: effective rank of $W_t - W_0$, {label}",
        )
    ax_rank.axhline(out["rank_cap"], color="0.6", ls=":", label=f"rank cap {out['rank_cap']}")
    ax_rank.set_xscale("log")
    ax_rank.set_xlabel("Adam steps")
    ax_rank.set_ylabel("rank")
    ax_rank.legend(fontsize=8)
    fig.suptitle(
        "Held-out loss on a noisy rank-4 ReLU teacher: full rank's early best is lower, "
        "but InRank (cap 8) overfits far less",
        fontsize=11,
    )
    fig.tight_layout()
    return save_figure(fig, out, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
