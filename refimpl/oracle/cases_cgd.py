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

from refimpl.oracle.case import Case, LazyModule, Tolerance, register

cgd = LazyModule("refimpl.cgd")

#: refimpl.METHODS and LINEAR_METHODS, spelled out so that registering the cases
#: does not import refimpl.cgd (tests/test_oracle.py holds them equal).
METHODS = ("gda", "altgda", "ogda", "extragradient", "conopt", "sga", "lcgd", "cgd", "acgd")
LINEAR_METHODS = METHODS[:-1]

CONVENTIONS = (
    "z = (x, y); x minimizes f, y minimizes g = −f (so y maximizes f); both players use the "
    "step size eta (η_x = η_y = η); trajectories are (steps + 1, n) with step 0 (the "
    "inputs x0, y0) first. Notation: ∇ₓf, ∇_y g the players' gradients, A = D_xy f, "
    "D_yx g = −Aᵀ, D_xx f, D_yy g the pure second derivatives, all at z_k"
)
GAME_CONVENTION = (
    "the game: f = ½xᵀPx + xᵀAy − ½yᵀQy, so ∇ₓf = Px + Ay, ∇_y g = Qy − Aᵀx, D_xy f = A, "
    "D_yx g = −Aᵀ, D_xx f = P, D_yy g = Q"
)
#: Each method's update, as a candidate must implement it.
METHOD_FORMULAS = {
    "gda": "x⁺ = x − η∇ₓf(x, y), y⁺ = y − η∇_y g(x, y)",
    "altgda": "x⁺ = x − η∇ₓf(x, y), then y⁺ = y − η∇_y g(x⁺, y)",
    "ogda": "x⁺ = x − 2η∇ₓf(z_k) + η∇ₓf(z_{k−1}), likewise y with ∇_y g; the first step "
    "takes z₋₁ = z₀ (so it is a GDA step)",
    "extragradient": "z̃ = z − η(∇ₓf, ∇_y g)(z), then z⁺ = z − η(∇ₓf, ∇_y g)(z̃)",
    "sga": "x⁺ = x − η(∇ₓf + γ D_xy f ∇_y f), y⁺ = y − η(∇_y g + γ D_yx f ∇ₓf) with γ = 1, "
    "∇_y f = −∇_y g, D_yx f = Aᵀ",
    "conopt": "x⁺ = x − η(∇ₓf + γ D_xy f ∇_y f + γ D_xx f ∇ₓf), y⁺ = y − η(∇_y g + "
    "γ D_yx f ∇ₓf + γ D_yy g ∇_y g) with γ = 1 (SGA plus the two pure second-order terms)",
    "lcgd": "Δx = −η(∇ₓf − η D_xy f ∇_y g), Δy = −η(∇_y g − η D_yx g ∇ₓf)",
    "cgd": "CGD (Schäfer & Anandkumar 2019, Eq. 4): Δx = −(I − η²D_xy f D_yx g)⁻¹ "
    "η(∇ₓf − η D_xy f ∇_y g), Δy = −(I − η²D_yx g D_xy f)⁻¹ η(∇_y g − η D_yx g ∇ₓf), solved "
    "exactly (an iterative solver must reach a relative residual of 1e-12)",
    "acgd": "ACGD: at step t = 1, 2, … each player's per-coordinate step sizes are "
    "v_t = β v_{t−1} + (1 − β) g_t ⊙ g_t with v_0 = 0 and "
    "η_t = sqrt(1 − βᵗ) · η / (sqrt(v_t) + ε) — the bias correction multiplies η and ε is "
    "added to sqrt(v_t), outside the root and not bias-corrected — with β = 0.99, "
    "ε = 1e-5 and g_t the player's own gradient at z_{t−1}; then the CGD move with "
    "H_x = diag(η_t^x), H_y = diag(η_t^y): Δx = −(I + H_x A H_y Aᵀ)⁻¹ H_x(∇ₓf − A H_y ∇_y g), "
    "Δy = −H_y(∇_y g − Aᵀ Δx)",
}


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


for _method in METHODS:
    register(
        Case(
            name=f"cgd.{_method}_quadratic",
            function="refimpl.cgd.run",
            description=f"three {_method} steps on the zero-sum quadratic game "
            "f = ½xᵀPx + xᵀAy − ½yᵀQy, η = 0.2",
            conventions=f"{CONVENTIONS}; {GAME_CONVENTION}; {_method}: " + METHOD_FORMULAS[_method],
            make_inputs=_quadratic_inputs,
            compute=_trajectory(_method),
            checks={"x": _trajectory_tolerance(), "y": _trajectory_tolerance()},
            kinds={"x": "trajectory", "y": "trajectory"},
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


def _bilinear_trajectory(inputs):
    out = _bilinear(inputs)
    return {"x": out["x"], "y": out["y"]}


register(
    Case(
        name="cgd.cgd_step_bilinear",
        function="refimpl.cgd.run",
        description="ten CGD steps on f = xᵀAy (A 3×2); ‖z_k‖ contracts by 1/√(1 + η²σᵢ²) per "
        "singular direction",
        conventions=f"{CONVENTIONS}; the game f = xᵀAy (∇ₓf = Ay, ∇_y g = −Aᵀx); cgd: "
        + METHOD_FORMULAS["cgd"]
        + "; norm[k] = ‖(x_k, y_k)‖₂",
        make_inputs=_bilinear_inputs,
        compute=_bilinear,
        checks={
            "x": Tolerance(1e-10, 0.0, "ten steps, inner solve to 1e-12 relative residual"),
            "y": Tolerance(1e-10, 0.0, "ten steps, inner solve to 1e-12 relative residual"),
            "norm": Tolerance(1e-10, 0.0, "the norm of the iterates above"),
        },
        kinds={"x": "trajectory", "y": "trajectory", "norm": "trajectory"},
    )
)


def _ill_conditioned_inputs():
    rng = np.random.default_rng(3)
    n = 60
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (U * np.logspace(-2, 2, n)) @ V.T  # singular values 1e-2 … 1e2
    # Rounded to multiples of 2⁻⁴⁰: LAPACK's QR differs in the last bits between CPUs,
    # and the stored inputs, not the generator, define the case.
    return {
        "A": np.round(A * 2.0**40) / 2.0**40,
        "x0": rng.standard_normal(n),
        "y0": rng.standard_normal(n),
        "eta": 0.5,
        "steps": np.int64(2),
    }


def _ill_conditioned_tolerance():
    made = _ill_conditioned_inputs()
    A, eta = made["A"], float(made["eta"])
    reference = _bilinear_trajectory(made)
    norm_a, tau = np.linalg.norm(A, 2), 1e-12
    kappa = 1 + (eta * norm_a) ** 2  # of S = I + η²AAᵀ
    bound = 0.0
    for x, y in zip(reference["x"][:-1], reference["y"][:-1], strict=True):
        rhs = A @ y + eta * A @ (A.T @ x)  # ∇ₓf − ηA∇_y g, with ∇_y g = −Aᵀx
        # inner residual τ: ‖e_Δx‖ ≤ ητ‖rhs‖ (‖S⁻¹‖ ≤ 1), Δy adds η‖A‖ times that (3.1);
        # rounding of the solve κ(S)ε per step; CGD on xᵀAy does not amplify errors
        bound += (1 + eta * norm_a) * eta * tau * np.linalg.norm(rhs)
        bound += 10 * kappa * np.finfo(float).eps * np.linalg.norm(np.concatenate([x, y]))
    reason = (
        f"two steps, each: inner solve to relative residual 1e-12 (‖S⁻¹‖ ≤ 1, Δy by (3.1) "
        f"times 1 + η‖A‖ = {1 + eta * norm_a:.3g}) plus rounding 10·κ(S)·ε·‖z‖ with "
        f"κ(S) = {kappa:.3g}; an inner solve stopped at 1e-7 misses by about 1e-4"
    )
    return Tolerance(bound, 0.0, reason)


register(
    Case(
        name="cgd.cgd_ill_conditioned",
        function="refimpl.cgd.run",
        description="two CGD steps on f = xᵀAy with A 60×60, singular values log-spaced in "
        "[1e-2, 1e2], η = 0.5: the inner system I + η²AAᵀ has condition number 2.5e3, so "
        "an inner solver must reach the stated relative residual (1e-12) to pass",
        conventions=f"{CONVENTIONS}; the game f = xᵀAy (∇ₓf = Ay, ∇_y g = −Aᵀx); cgd: "
        + METHOD_FORMULAS["cgd"],
        make_inputs=_ill_conditioned_inputs,
        compute=_bilinear_trajectory,
        checks=lambda: dict.fromkeys(("x", "y"), _ill_conditioned_tolerance()),
        kinds={"x": "trajectory", "y": "trajectory"},
    )
)


def _closed_form_inputs():
    return {"alpha": 1.5, "eta": 0.2, "gamma": 1.0}


def _closed_forms(inputs):
    alpha, eta, gamma = (float(inputs[k]) for k in ("alpha", "eta", "gamma"))
    two_by_two = [m for m in LINEAR_METHODS if m != "ogda"]
    matrices = np.stack(
        [cgd.iteration_matrix(m, alpha, eta, gamma=gamma) for m in two_by_two]
    )  # (methods, 2, 2)
    radii = np.array([cgd.spectral_radius(m, alpha, eta, gamma=gamma) for m in LINEAR_METHODS])
    return {
        "iteration_matrices": matrices,
        "ogda_iteration_matrix": cgd.iteration_matrix("ogda", alpha, eta, gamma=gamma),
        "spectral_radii": radii,
    }


_METHOD_LIST = ", ".join(m for m in LINEAR_METHODS if m != "ogda")
register(
    Case(
        name="cgd.iteration_matrices",
        function="refimpl.cgd.iteration_matrix / spectral_radius",
        description="iteration matrices z_{k+1} = M z_k on f = αxy (α = 1.5, η = 0.2, γ = 1) "
        f"stacked in the order {_METHOD_LIST}; OGDA's 4×4 matrix acts on "
        "(x_k, y_k, x_{k−1}, y_{k−1}); spectral radii in the order " + ", ".join(LINEAR_METHODS),
        conventions=f"{CONVENTIONS}; on f = αxy (∇ₓf = αy, ∇_y g = −αx, D_xy f = α, "
        "D_yx g = −α, D_xx f = D_yy g = 0) each update below is linear, z_{k+1} = M z_k; "
        "the spectral radius is the largest |eigenvalue| of M; "
        + "; ".join(f"{m}: {METHOD_FORMULAS[m]}" for m in LINEAR_METHODS),
        make_inputs=_closed_form_inputs,
        compute=_closed_forms,
        checks={
            "iteration_matrices": Tolerance(1e-14, 1e-14, "closed forms of a few flops"),
            "ogda_iteration_matrix": Tolerance(1e-14, 1e-14, "closed forms of a few flops"),
            "spectral_radii": Tolerance(0.0, 1e-13, "eigenvalues of 2×2 and 4×4 matrices"),
        },
    )
)
