r"""Golden cases of :mod:`refimpl.cgd`: trajectories of every method, closed forms.

Player x minimizes f, player y minimizes g; in the zero-sum games here g = −f, so y
maximizes f. The quadratic game is
:math:`f(x, y) = \tfrac12 x^\top P x + x^\top A y - \tfrac12 y^\top Q y` with the
matrices stored as inputs. Trajectories are stacked along axis 0, step 0 first.

Tolerances: every method's step is a few products with matrices of norm
:math:`\le \|A\| + \|P\| + \|Q\|`, so rounding stays near
:math:`10\,\varepsilon\,(1 + \eta^2 \|A\|^2)\,\|z_0\|` per step; the competitive
methods also solve a linear system, which an implementation may do iteratively.
The absolute tolerance :math:`10^{-10}\|z_0\|` over three steps admits an inner
solver converged to a relative residual of :math:`10^{-12}` (the system matrix
:math:`I + \eta^2 D_{xy} D_{yx}` has :math:`\|S^{-1}\| \le 1`).
"""

from __future__ import annotations

import numpy as np

from refimpl import cgd
from refimpl.oracle.case import Case, Tolerance, register

CONVENTIONS = (
    "z = (x, y); x minimizes f, y maximizes f (g = −f); one step of each method as in "
    "refimpl.cgd.run with eta_x = eta_y = eta; OGDA's first step uses z₋₁ = z₀ (a GDA step); "
    "SGA and ConOpt use gamma = 1; ACGD uses beta = 0.99, eps = 1e-5, eta as its lr, "
    "second-moment estimates started at 0 with bias correction; trajectories are "
    "(steps + 1, n) with step 0 first"
)


def _quadratic_inputs():
    rng = np.random.default_rng(7)
    n, m = 3, 2
    A = rng.standard_normal((n, m))
    P = np.diag([0.5, 0.2, 0.1])
    Q = np.diag([0.3, 0.1])
    return {
        "P": P,
        "A": A,
        "Q": Q,
        "x0": rng.standard_normal(n),
        "y0": rng.standard_normal(m),
        "eta": 0.2,
        "steps": np.int64(3),
    }


def _trajectory(method):
    def compute(inputs):
        game = cgd.QuadraticGame(inputs["P"], inputs["A"], inputs["Q"])
        result = cgd.run(
            game, method, inputs["x0"], inputs["y0"], int(inputs["steps"]), float(inputs["eta"])
        )
        return {"x": result.x, "y": result.y}

    return compute


def _trajectory_tolerance():
    made = _quadratic_inputs()
    z0 = np.linalg.norm(np.concatenate([made["x0"], made["y0"]]))
    return Tolerance(
        1e-10 * z0,
        0.0,
        "three steps of rounding 10ε(1 + η²‖A‖²)‖z₀‖ each, plus an inner solve to relative "
        "residual 1e-12 with ‖S⁻¹‖ ≤ 1: 1e-10·‖z₀‖",
    )


for _method in cgd.METHODS:
    register(
        Case(
            name=f"cgd.{_method}_quadratic",
            function="refimpl.cgd.run",
            description=f"three {_method} steps on the zero-sum quadratic game "
            "f = ½xᵀPx + xᵀAy − ½yᵀQy, η = 0.2",
            conventions=CONVENTIONS,
            make_inputs=_quadratic_inputs,
            compute=_trajectory(_method),
            checks={"x": _trajectory_tolerance(), "y": _trajectory_tolerance()},
        )
    )


def _bilinear_inputs():
    rng = np.random.default_rng(11)
    return {
        "A": rng.standard_normal((3, 2)),
        "x0": rng.standard_normal(3),
        "y0": rng.standard_normal(2),
        "eta": 0.5,
        "steps": np.int64(10),
    }


def _bilinear(inputs):
    game = cgd.BilinearGame(inputs["A"])
    result = cgd.run(
        game, "cgd", inputs["x0"], inputs["y0"], int(inputs["steps"]), float(inputs["eta"])
    )
    return {"x": result.x, "y": result.y, "norm": result.norm}


register(
    Case(
        name="cgd.cgd_step_bilinear",
        function="refimpl.cgd.run",
        description="ten CGD steps on f = xᵀAy (A 3×2); ‖z_k‖ contracts by 1/√(1 + η²σᵢ²) per "
        "singular direction",
        conventions=CONVENTIONS,
        make_inputs=_bilinear_inputs,
        compute=_bilinear,
        checks={
            "x": Tolerance(1e-10, 0.0, "ten steps, inner solve to 1e-12 relative residual"),
            "y": Tolerance(1e-10, 0.0, "ten steps, inner solve to 1e-12 relative residual"),
            "norm": Tolerance(1e-10, 0.0, "the norm of the iterates above"),
        },
    )
)


def _closed_form_inputs():
    return {"alpha": 1.5, "eta": 0.2, "gamma": 1.0}


def _closed_forms(inputs):
    alpha, eta, gamma = (float(inputs[k]) for k in ("alpha", "eta", "gamma"))
    two_by_two = [m for m in cgd.LINEAR_METHODS if m != "ogda"]
    matrices = np.stack(
        [cgd.iteration_matrix(m, alpha, eta, gamma=gamma) for m in two_by_two]
    )  # (methods, 2, 2)
    radii = np.array([cgd.spectral_radius(m, alpha, eta, gamma=gamma) for m in cgd.LINEAR_METHODS])
    return {
        "iteration_matrices": matrices,
        "ogda_iteration_matrix": cgd.iteration_matrix("ogda", alpha, eta, gamma=gamma),
        "spectral_radii": radii,
    }


_METHOD_LIST = ", ".join(m for m in cgd.LINEAR_METHODS if m != "ogda")
register(
    Case(
        name="cgd.iteration_matrices",
        function="refimpl.cgd.iteration_matrix / spectral_radius",
        description="iteration matrices z_{k+1} = M z_k on f = αxy (α = 1.5, η = 0.2, γ = 1) "
        f"stacked in the order {_METHOD_LIST}; OGDA's 4×4 matrix acts on "
        "(x_k, y_k, x_{k−1}, y_{k−1}); spectral radii in the order "
        + ", ".join(cgd.LINEAR_METHODS),
        conventions=CONVENTIONS,
        make_inputs=_closed_form_inputs,
        compute=_closed_forms,
        checks={
            "iteration_matrices": Tolerance(1e-14, 1e-14, "closed forms of a few flops"),
            "ogda_iteration_matrix": Tolerance(1e-14, 1e-14, "closed forms of a few flops"),
            "spectral_radii": Tolerance(0.0, 1e-13, "eigenvalues of 2×2 and 4×4 matrices"),
        },
    )
)
