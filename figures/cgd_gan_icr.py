"""Implicit competitive regularization on a GAN: distance and mode coverage at equal cost.

Generator and discriminator (ReLU MLPs) on the two-mode mixture of the CGD paper's
GAN experiment, WGAN loss without clipping or gradient penalty, trained by
simultaneous GDA, Adam, OGDA, CGD and ACGD (the authors' variant) from the same
starts at equal cost (gradients + Hessian-vector products), over 8 seeds, at a
small and a large step size; and, for comparison, with the cross-entropy loss at
the small step size. Median (line) and quartiles (band) of the energy distance to
real samples, mean number of modes covered (of 2), and the samples of the first
seed at the end.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from refimpl.cgd.gan import GAN_METHODS, compare_gan_methods, two_modes
from refimpl.figures import save_figure, script_main

TOPIC = "cgd"
SETTINGS = {  # name: (step size, loss)
    "small": (0.003, "wgan"),
    "large": (0.03, "wgan"),
    "cross_entropy": (0.003, "cross_entropy"),
}
LOSS_LABELS = {"wgan": "WGAN", "cross_entropy": "cross-entropy"}
STYLE = {
    "gda": ("tab:blue", "GDA"),
    "adam": ("tab:orange", "Adam"),
    "ogda": ("tab:green", "OGDA"),
    "cgd": ("tab:purple", "CGD"),
    "acgd": ("tab:red", "ACGD"),
}


def _padded(rows, width, fill):
    return np.array([list(r) + [fill] * (width - len(r)) for r in rows], dtype=float)


def make(out_dir, quick=False):
    """Run every method in each setting; plot energy distance, modes and samples."""
    size = {"seeds": tuple(range(2)), "budget": 120, "hidden": (6,), "records": 3, "n_eval": 80}
    if not quick:
        size = {
            "seeds": tuple(range(8)),
            "budget": 3000,
            "hidden": (32, 32),
            "records": 10,
            "n_eval": 500,
        }
    data = two_modes()
    common = {"noise_dim": 4, "batch_size": 64, "activation": "relu"}
    out = {"settings": {}, "sizes": size, "common": common}
    fig, axes = plt.subplots(len(SETTINGS), 3, figsize=(14, 4.2 * len(SETTINGS)))
    for row, (name, (eta, loss)) in enumerate(SETTINGS.items()):
        # one method at a time (each is independent of the others), printing as each ends
        result = {}
        for method in GAN_METHODS:
            start = time.perf_counter()
            result.update(
                compare_gan_methods(data, (method,), eta=eta, loss=loss, **size, **common)
            )
            seconds = time.perf_counter() - start
            print(f"{name}: {method} done in {seconds:.0f} s", flush=True)
        cost = result["checkpoints"]
        out["settings"][name] = {"eta": eta, "loss": loss, "checkpoints": cost}
        for method in GAN_METHODS:
            r = result[method]
            energy = _padded(r["energy"], len(cost), np.inf)  # a failed run counts as inf
            modes = _padded(r["modes"], len(cost), 0)
            low, mid, high = np.percentile(energy, [25, 50, 75], axis=0, method="nearest")
            color, label = STYLE[method]
            axes[row, 0].plot(cost, mid, color=color, label=label)
            axes[row, 0].fill_between(cost, low, high, color=color, alpha=0.15)
            axes[row, 1].plot(cost, modes.mean(axis=0), color=color, label=label)
            out["settings"][name][method] = {
                key: r[key]
                for key in (
                    "energy",
                    "modes",
                    "status",
                    "steps",
                    "cg_iterations",
                    "final_energy",
                    "final_modes_covered",
                )
            }
            out["settings"][name][method]["median_final_energy"] = mid[-1]
        axes[row, 0].set_yscale("log")
        axes[row, 0].set_ylim(0.02, 5)
        setting = f"{LOSS_LABELS[loss]}, η = {eta}"
        axes[row, 0].set_title(f"{setting}: energy distance (median, IQR)", fontsize=10)
        axes[row, 1].set_ylim(-0.1, 2.1)
        axes[row, 1].set_title(
            f"{setting}: modes covered (mean of {len(size['seeds'])})", fontsize=10
        )
        for ax in axes[row, :2]:
            ax.set_xlabel("cost: gradients + Hessian-vector products")
            ax.grid(alpha=0.3)
        ax = axes[row, 2]
        real = data.sample(300, rng=5)
        ax.scatter(real[:, 0], real[:, 1], s=4, color="0.6", label="data")
        for method in ("acgd", "adam"):
            samples = result[method]["samples"]
            if samples is not None:
                ax.scatter(
                    samples[:300, 0],
                    samples[:300, 1],
                    s=4,
                    color=STYLE[method][0],
                    label=STYLE[method][1],
                )
        ax.set_xlim(-0.5, 2.0)
        ax.set_ylim(-1.0, 1.5)
        ax.set_aspect("equal")
        ax.set_title(f"{setting}: samples at the end, seed 0", fontsize=10)
        ax.legend(fontsize=8, markerscale=3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out, out_dir, "cgd_gan_icr")


if __name__ == "__main__":
    script_main(make, __file__)
