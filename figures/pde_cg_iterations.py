"""CG iterations per Gauss–Newton step against h, with and without the KL preconditioner.

The nonlinear elliptic problem, sparse solver (ρ = 3), CG to a relative residual of
1e−8. With the KL factor of Θ as preconditioner (and the preconditioned right-hand
side as start) the count grows slowly with 1/h (on the coarsest grids the factor
is exact and the start solves the system: 0 iterations); plain CG from zero needs
hundreds of iterations already on coarse grids and stops at its budget (hollow
markers) on finer ones.
"""

import matplotlib.pyplot as plt

from refimpl.figures import save_figure, script_main
from refimpl.pde import NonlinearElliptic, solve
from refimpl.validation import DivergenceError

TOPIC = "pde"
NAME = "pde_cg_iterations"


def make(out_dir, quick=False):
    """Count CG iterations at each step and h, printing each run."""
    problem = NonlinearElliptic()
    hs = [1 / 4, 1 / 8, 1 / 16] if quick else [0.1, 0.05, 0.025, 0.02, 0.01]
    budget = 300 if quick else 1000
    counts = {"preconditioned": {}, "plain": {}}
    for h in hs:
        for label in counts:
            options = {"cg_rtol": 1e-8, "cg_maxiter": budget}
            options["precondition"] = label == "preconditioned"
            try:
                sol = solve(problem, h, **options)
                counts[label][h] = [r["cg_iterations"] for r in sol.history]
            except DivergenceError:
                counts[label][h] = None  # did not converge within the budget
            print(f"h = {h:.4f} {label:15s} CG iterations per step: {counts[label][h]}")
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    for label, style in (("preconditioned", "C1"), ("plain", "C0")):
        converged = [h for h in hs if counts[label][h] is not None]
        for step in range(3 if converged else 0):
            ax.loglog(
                [1 / h for h in converged],
                [counts[label][h][step] for h in converged],
                "o-" if step == 0 else "o:",
                color=style,
                label=f"{label}, GN step {step + 1}",
            )
        capped = [h for h in hs if counts[label][h] is None]
        if capped:
            ax.loglog(
                [1 / h for h in capped],
                [budget] * len(capped),
                "o",
                mfc="none",
                color=style,
                label=f"{label}: not converged in {budget}",
            )
    ax.set_yscale("symlog", linthresh=1.0)  # 0 iterations where the factor is exact
    ax.xaxis.set_major_formatter(plt.ScalarFormatter())
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xticks([1 / h for h in hs])
    ax.set_xlabel("1/h")
    ax.set_ylabel("CG iterations (0 = the preconditioned start is exact)")
    ax.set_title("CG iterations per Gauss–Newton step")
    ax.legend(fontsize=7, loc="center right")
    data = {
        "h": hs,
        "budget": budget,
        "counts": {k: {str(h): v for h, v in c.items()} for k, c in counts.items()},
    }
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
