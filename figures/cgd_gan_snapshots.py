"""Samples of each method on the two-mode GAN at fixed budgets (one seed).

The generator's samples (colour) against the data (grey) after a third, two
thirds and all of the budget of gradients + Hessian-vector products, for
simultaneous GDA, Adam, OGDA, CGD and ACGD from the same start, WGAN loss without
clipping or penalty, step size 0.03 (the large step of ``cgd_gan_icr``).
"""

import matplotlib.pyplot as plt

from refimpl.cgd.gan import GAN_METHODS, GANGame, mode_fractions, train_gan, two_modes
from refimpl.figures import save_figure, script_main
from refimpl.nn import MLP
from refimpl.validation import DivergenceError

TOPIC = "cgd"
LR = 0.03


def make(out_dir, quick=False):
    """Train each method once and draw its samples at three budgets."""
    budget, hidden, n = (90, (6,), 100) if quick else (3000, (32, 32), 400)
    data = two_modes()
    real = data.sample(n, rng=7)
    out = {"eta": LR, "budget": budget, "hidden": hidden, "methods": {}}
    fig, axes = plt.subplots(3, len(GAN_METHODS), figsize=(3.0 * len(GAN_METHODS), 9))
    for col, method in enumerate(GAN_METHODS):
        generator, discriminator = MLP((4, *hidden, 2)), MLP((2, *hidden, 1))
        game = GANGame(generator, discriminator, data, batch_size=64, loss="wgan", rng=0)
        x0, y0 = generator.init(1000), discriminator.init(2000)
        run = train_gan(game, method, x0, y0, budget, LR, records=3, on_failure="stop")
        record = {"status": run.status, "costs": run.costs, "mode_fractions": []}
        for row in range(3):
            ax = axes[row, col]
            ax.scatter(real[:, 0], real[:, 1], s=3, color="0.7")
            if row + 1 < len(run.snapshots):
                try:
                    samples = game.sample(run.snapshots[row + 1][0], n, rng=11)
                except DivergenceError:
                    samples = None
                if samples is not None:
                    ax.scatter(samples[:, 0], samples[:, 1], s=3, color="tab:red")
                    record["mode_fractions"].append(mode_fractions(samples, data))
                ax.set_title(f"{method}, cost {run.costs[row + 1]}", fontsize=9)
            else:
                ax.set_title(f"{method}: {run.status} at step {run.stopped_at}", fontsize=9)
            ax.set_xlim(-0.5, 2.0)
            ax.set_ylim(-1.0, 1.5)
            ax.set_aspect("equal")
        out["methods"][method] = record
    fig.tight_layout()
    return save_figure(fig, out, out_dir, "cgd_gan_snapshots")


if __name__ == "__main__":
    script_main(make, __file__)
