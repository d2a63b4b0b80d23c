"""The 1D Markov example: Matérn-1/2 on sorted points, where one neighbour makes Vecchia exact.

The Ornstein–Uhlenbeck process (Matérn-1/2 in 1D) is Markov: given the values to
its right, a point depends only on its nearest right neighbour. So with the points
sorted, the exact inverse Cholesky factor is bidiagonal, and the KL-optimal factor
with m = 1 neighbour has KL = 0 (to rounding). Matérn-3/2 is not Markov (it needs
the derivative as well), and its KL only decays with m.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.vecchia import Matern, dense_inverse_cholesky, kl_divergence, kl_factor, knn_pattern

TOPIC = "vecchia"
NAME = "vecchia_markov"


def make(out_dir, quick=False):
    """Exact factors on sorted 1D points and KL against the number of neighbours."""
    n = 40 if quick else 120
    x = np.sort(np.random.default_rng(0).uniform(size=n))[:, None]
    ms = [0, 1, 2, 3, 4, 6, 8]
    kernels = {"Matérn-1/2": Matern(0.5, 0.2), "Matérn-3/2": Matern(1.5, 0.2)}
    data = {"n": n, "m": ms, "points": x[:, 0], "kl": {}, "offdiagonal_mass": {}}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
    for ax, (name, kernel) in zip(axes[:2], kernels.items(), strict=True):
        L = dense_inverse_cholesky(kernel(x, x))
        magnitude = np.log10(np.abs(L) + 1e-18)
        im = ax.imshow(magnitude, cmap="magma", vmin=-12, vmax=magnitude.max())
        band = np.abs(np.tril(L, -2)).max() / np.abs(L).max()
        data["offdiagonal_mass"][name] = band
        ax.set_title(
            f"{name}: log10 |L_ij| of the exact factor\n"
            f"max below the first subdiagonal / max |L| = {band:.1e}",
            fontsize=10,
        )
        fig.colorbar(im, ax=ax, fraction=0.046, label="log10 |L_ij|")
        ax.set_xlabel("column j (points sorted left to right)")
        ax.set_ylabel("row i")
    ax = axes[2]
    for (name, kernel), style in zip(kernels.items(), ("o-", "s-"), strict=True):
        theta = kernel(x, x)
        kls = [kl_divergence(theta, kl_factor(x, kernel, knn_pattern(x, m))) for m in ms]
        data["kl"][name] = kls
        ax.semilogy(ms, np.maximum(np.abs(kls), 1e-16), style, label=name)
    ax.axhline(1e-16, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("m (nearest right neighbours in the pattern)")
    ax.set_ylabel("|KL| (floored at 1e-16)")
    ax.set_title("Markov ⇒ exact with m = 1")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
