"""Reverse maximin ordering and the sparsity pattern of one column, drawn on the points.

Left: 2D uniform points coloured by their maximin length scale l (the coarse points,
chosen first, are large and dark). Right: one column j of the ρ-ball pattern: the
rows s_j are the coarser points (later in the order) within ρ·l_j of x_j, and the
points of its supernode share those rows.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.vecchia import ball_pattern, maximin_ordering, supernodes

TOPIC = "vecchia"
NAME = "vecchia_ordering"


def make(out_dir, quick=False):
    """Draw the ordering and one column's pattern."""
    n, rho, lam = (300, 3.0, 1.5) if quick else (1200, 3.0, 1.5)
    points = np.random.default_rng(0).uniform(size=(n, 2))
    order, lengths = maximin_ordering(points)
    ordered = points[order]
    pattern = ball_pattern(ordered, lengths, rho)
    groups = supernodes(pattern, lengths, lam)
    # a column at a coarse-ish scale whose ball lies inside the square
    ball_inside = np.all(
        (ordered > rho * lengths[:, None]) & (ordered < 1 - rho * lengths[:, None]), axis=1
    )
    leader = np.zeros(n, dtype=bool)
    leader[groups.members[groups.member_ptr[:-1]]] = True  # first column of each supernode
    candidates = np.flatnonzero(ball_inside & leader & (lengths > 0.6 / np.sqrt(n)))
    j = int(candidates[np.argmin(np.linalg.norm(ordered[candidates] - 0.5, axis=1))])
    rows = pattern.column(j)
    owner = int(
        np.searchsorted(groups.member_ptr, np.flatnonzero(groups.members == j)[0], "right") - 1
    )
    members = groups.member_columns(owner)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    finite = np.where(np.isfinite(lengths), lengths, lengths[np.isfinite(lengths)].max())
    size = 4 + 400 * (finite / finite.max()) ** 1.2
    sc = ax0.scatter(
        ordered[:, 0],
        ordered[:, 1],
        c=np.log10(finite),
        s=size,
        cmap="viridis_r",
        edgecolors="k",
        linewidths=0.2,
    )
    ax0.scatter(*ordered[-1], marker="*", s=250, c="red", label="first chosen (l = ∞)")
    fig.colorbar(sc, ax=ax0, label="log10 l (maximin length)")
    ax0.set_title(f"reverse maximin order, N = {n}\n(index 0 finest, N−1 coarsest)")
    ax0.legend(loc="upper right", fontsize=8)

    ax1.scatter(ordered[:, 0], ordered[:, 1], s=6, c="0.8", label="other points")
    finer = np.arange(j)
    ax1.scatter(ordered[finer, 0], ordered[finer, 1], s=6, c="0.55", label="finer (i < j)")
    ax1.scatter(
        ordered[rows, 0], ordered[rows, 1], s=30, c="tab:blue", label=f"rows s_j ({rows.size})"
    )
    ax1.scatter(
        ordered[members, 0],
        ordered[members, 1],
        s=70,
        facecolors="none",
        edgecolors="tab:orange",
        linewidths=1.5,
        label=f"its supernode ({members.size})",
    )
    ax1.scatter(*ordered[j], marker="*", s=250, c="red", label="x_j")
    circle = plt.Circle(ordered[j], rho * lengths[j], fill=False, color="red", ls="--")
    ax1.add_patch(circle)
    ax1.set_title(
        f"column j = {j}: rows within ρ·l_j (ρ = {rho:g});\n"
        f"its supernode (λ = {lam:g}) shares the union of their rows"
    )
    ax1.legend(loc="upper right", fontsize=8)
    for ax in (ax0, ax1):
        ax.set_xlabel("first coordinate x₁")
        ax.set_ylabel("second coordinate x₂")
        ax.set_aspect("equal")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    data = {
        "n": n,
        "rho": rho,
        "lam": lam,
        "points_ordered": ordered,
        "lengths": lengths,
        "column": j,
        "rows": rows,
        "supernode_members": members,
    }
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
