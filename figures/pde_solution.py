"""The GP solutions and their errors: the elliptic problem on its grid, Burgers at T.

Left: the sparse GP solution of −Δu + u³ = f and its pointwise error on the interior
grid. Right: Burgers' equation at the final time against the Cole–Hopf solution, in
the authors' setting in full mode (ν = 0.001, Matérn-7/2 with l = 0.02, h = 0.001,
Δt = 0.02, T = 1; the shock at x = 0) and a reduced one in quick mode.
"""

import matplotlib.pyplot as plt
import numpy as np

from refimpl.figures import save_figure, script_main
from refimpl.pde import Burgers, NonlinearElliptic, solve

TOPIC = "pde"
NAME = "pde_solution"


def make(out_dir, quick=False):
    """Solve both problems with the sparse solver and draw solution and error."""
    h = 1 / 16 if quick else 0.01
    elliptic = solve(NonlinearElliptic(), h, rho=3.0)
    print(f"elliptic h = {h}: RMS {elliptic.rms_error:.2e}, max {elliptic.max_error:.2e}")
    if quick:
        burgers_problem, h_burgers = Burgers(nu=0.02, T=0.25, dt=0.05, length_scale=0.1), 0.02
    else:
        burgers_problem, h_burgers = Burgers(), 0.001
    burgers = solve(burgers_problem, h_burgers, rho=3.0)
    print(f"Burgers h = {h_burgers}: RMS {burgers.rms_error:.2e}, max {burgers.max_error:.2e}")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    n = int(round(1 / h)) - 1
    x = elliptic.points[:, 0].reshape(n, n)
    y = elliptic.points[:, 1].reshape(n, n)
    image = axes[0].pcolormesh(x, y, elliptic.values.reshape(n, n), shading="auto")
    fig.colorbar(image, ax=axes[0], label="u")
    axes[0].set_title(f"elliptic: GP solution (h = {h:g})")
    error = np.abs(elliptic.values - elliptic.truth).reshape(n, n)
    image = axes[1].pcolormesh(x, y, error, shading="auto", cmap="magma")
    fig.colorbar(image, ax=axes[1], label="|u − u*|")
    axes[1].set_title(f"elliptic: error (RMS {elliptic.rms_error:.1e})")
    for ax in axes[:2]:
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_aspect("equal")
    xb = burgers.points[:, 0]
    axes[2].plot(xb, burgers.truth, "k-", lw=3, alpha=0.4, label="Cole–Hopf")
    axes[2].plot(xb, burgers.values, "C1-", lw=1, label="GP (sparse)")
    axes[2].set_xlabel("x")
    axes[2].set_ylabel(f"u(x, T = {burgers_problem.T:g})")
    axes[2].set_title(
        f"Burgers ν = {burgers_problem.nu:g}, h = {h_burgers:g}: max error {burgers.max_error:.1e}"
    )
    axes[2].legend(loc="upper right")
    data = {
        "elliptic": {
            "h": h,
            "rms": elliptic.rms_error,
            "max": elliptic.max_error,
            "sample_points": elliptic.points[::97].tolist(),
            "sample_values": elliptic.values[::97].tolist(),
        },
        "burgers": {
            "nu": burgers_problem.nu,
            "T": burgers_problem.T,
            "dt": burgers_problem.dt,
            "h": h_burgers,
            "length_scale": burgers_problem.kernel.length_scale,
            "x": xb[::10].tolist(),
            "values": burgers.values[::10].tolist(),
            "truth": burgers.truth[::10].tolist(),
            "rms": burgers.rms_error,
            "max": burgers.max_error,
        },
    }
    return save_figure(fig, data, out_dir, NAME)


if __name__ == "__main__":
    script_main(make, __file__)
