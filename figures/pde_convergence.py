"""Error against h for the nonlinear elliptic problem: dense and sparse (ρ = 2, 3, 4).

−Δu + u³ = f on [0, 1]² with the authors' truth, Matérn-7/2 (l = 0.3), relative nugget
1e−10, three Gauss–Newton steps. RMS and maximum error over the interior grid points,
against the grid spacing h (log-log). The dense solver stops where its O(N³) time and
O(N²) memory stop being reasonable; the sparse one goes on. The errors fall like a
power of h until the nugget floor.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.pde import NonlinearElliptic, solve

TOPIC = "pde"
NAME = "pde_convergence"


def make(out_dir, quick=False):
    """Solve at each h with each method, print as it goes, plot RMS and max errors."""
    problem = NonlinearElliptic()
    hs = [1 / 4, 1 / 8, 1 / 16] if quick else [0.1, 0.05, 0.025, 0.02, 0.01]
    dense_limit = 1 / 16 if quick else 0.02
    runs = {"dense": {}, **{f"sparse rho={rho}": {} for rho in (2, 3, 4)}}
    for h in hs:
        for label in runs:
            if label == "dense" and h < dense_limit:
                continue
            options = {} if label == "dense" else {"rho": float(label.split("=")[1])}
            method = "dense" if label == "dense" else "sparse"
            sol = solve(problem, h, method=method, **options)
            runs[label][h] = {"rms": sol.rms_error, "max": sol.max_error, "n": len(sol.points)}
            print(f"h = {h:.4f} {label:14s} RMS {sol.rms_error:.2e}  max {sol.max_error:.2e}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    markers = {"dense": "ks-", "sparse rho=2": "C0o--", "sparse rho=3": "C1^--"}
    markers["sparse rho=4"] = "C2v--"
    for ax, kind in zip(axes, ("rms", "max"), strict=True):
        for label, errors in runs.items():
            h_run = sorted(errors)
            ax.loglog(h_run, [errors[h][kind] for h in h_run], markers[label], label=label)
        h_ref = np.array([max(hs), min(hs)])
        first = runs["dense"][max(hs)][kind]
        ax.loglog(h_ref, first * (h_ref / h_ref[0]) ** 4, "k:", label="slope 4 (reference)")
        ax.set_xlabel("grid spacing h")
        ax.set_ylabel(f"{kind.upper()} error at interior points")
        ax.set_title(f"{kind.upper()} error against h")
        ax.legend(fontsize=8, loc="lower right")
    data = {
        "problem": "-Δu + u^3 = f, Matérn-7/2 l=0.3, nugget 1e-10, 3 GN steps",
        "h": hs,
        "errors": {label: {str(h): v for h, v in e.items()} for label, e in runs.items()},
    }
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
