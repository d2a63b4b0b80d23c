r"""Golden cases of :mod:`refimpl.pde`: measurement covariances, Gauss–Newton, a solve.

A measurement :math:`\phi(u) = w_0 u(x) + w\cdot\nabla u(x) + W : \nabla^2 u(x)` is
stored as one row of width :math:`(d + 1)^2`: the point :math:`x` (d numbers), then
:math:`w_0`, then :math:`w` (d), then :math:`W` row by row (:math:`d^2`); the
Laplacian is :math:`W = I`. The covariance of two measurements under a kernel
:math:`k` is :math:`\phi_a^{x}\phi_b^{y} k(x, y)`.

The elliptic problem is :math:`-\Delta u + u^3 = f` on :math:`[0, 1]^2` with the
authors' truth (600 terms), interior points on the grid of spacing ``h`` (row-major,
:math:`x_1` slowest) and boundary points at spacing ``h``; the nugget is relative,
:math:`\Theta + \eta\,\mathrm{diag}(\mathrm{diag}\,\Theta)`.
"""

from __future__ import annotations

import numpy as np

from refimpl.oracle.case import Case, LazyModule, Tolerance, register

pde = LazyModule("refimpl.pde")
vecchia = LazyModule("refimpl.vecchia")

ROWS = (
    "a measurement φ(u) = w0 u(x) + w·∇u(x) + W : ∇²u(x) is one row [x (d), w0, w (d), "
    "W (d², row by row)] of width (d + 1)², so d follows from the width; W is symmetric; "
    "covariance[a, b] = φ_a^x φ_b^y k(x, y) (φ_a acting on the first argument, φ_b on the "
    "second); unit variance σ² = 1: Matérn k(r) = 2^{1−ν}/Γ(ν) s^ν K_ν(s), s = √(2ν) r / l "
    "(ν = nu, l = length_scale), Gaussian k = exp(−r²/(2l²)); the derivatives of the radial "
    "k must be evaluated without cancellation near r = 0 (for half-integer ν, k is e^{−s} "
    "times a polynomial, and the derivatives' polynomials can be formed exactly, e.g. with "
    "rational coefficients), since two rows sit 1e-7 apart"
)
ELLIPTIC = (
    "the problem −Δu + u³ = f on [0, 1]², u = g on the boundary, with the truth "
    "u*(x) = Σ_{k=1}^{600} sin(πk x₁) sin(πk x₂)/k⁶, f = −Δu* + u*³ = Σ_k 2π²k² sin(πk x₁) "
    "sin(πk x₂)/k⁶ + u*³ and g = u* (0 on the boundary); points: interior x_ij = (ih, jh), "
    "1 ≤ i, j ≤ 1/h − 1, listed with i (x₁) slowest and j (x₂) fastest; boundary: the 4/h "
    "points of spacing h counter-clockwise from (0, 0) along x₂ = 0 first, each corner once; "
    "GP prior: Matérn (ν = nu, l = l, unit variance) on the measurement list "
    "[δ at boundary; δ at interior; Δδ at interior]; Gauss–Newton from v = 0: linearized at v, "
    "the interior measurement is (−Δ + 3v²)δ_x with data f + 2v³, the boundary one δ_x with "
    "data g, and the new v is the GP mean of u at the interior points given those "
    "measurements, with Θ the covariance matrix of the linearized measurements plus the "
    "relative nugget: Θ + nugget·diag(diag Θ)"
)


def _mixed_rows(d, seed):
    rng = np.random.default_rng(seed)
    points = rng.random((5, d))
    points[1] = points[0]  # a repeated point: the r = 0 limits
    points[2] = points[0] + 1e-7  # nearly repeated: no cancellation allowed
    parts = [
        pde.point_values(points),
        pde.laplacians(points),
        pde.first_derivatives(points, 0),
        pde.second_derivatives(points, 0, d - 1),
        pde.point_values(points, weight=2.0),
    ]
    return pde.concatenate(parts).rows()


def _kernel_case(name, d, kernel_inputs, seed):
    def make():
        return {"rows": _mixed_rows(d, seed), **kernel_inputs}

    def compute(inputs):
        if "nu" in inputs:
            base = vecchia.Matern(float(inputs["nu"]), float(inputs["length_scale"]))
        else:
            base = vecchia.Gaussian(float(inputs["length_scale"]))
        rows = inputs["rows"]
        return {"covariance": pde.MeasurementKernel(base)(rows, rows)}

    def checks():
        scale = float(np.abs(compute(make())["covariance"]).max())
        return {
            "covariance": Tolerance(
                1e-11 * scale,
                1e-11,
                "closed forms with ≤ 4 derivatives of a radial function, evaluated "
                "without cancellation at and near r = 0: ~100ε relative, 1e-11 allows "
                "another correct evaluation order (absolute part: 1e-11·max|K|, for the zeros)",
            )
        }

    register(
        Case(
            name=f"pde.{name}",
            function="refimpl.pde.MeasurementKernel",
            description=f"covariances of 25 mixed measurements (δ, Δδ, ∂₁δ, ∂₁∂_dδ, 2δ at five "
            f"points in d = {d}, two repeated and one 1e-7 apart)",
            conventions=ROWS,
            make_inputs=make,
            compute=compute,
            checks=checks,
        )
    )


_kernel_case("covariances_matern52_2d", 2, {"nu": 2.5, "length_scale": 0.3}, 1)
_kernel_case("covariances_matern72_3d", 3, {"nu": 3.5, "length_scale": 0.3}, 2)
_kernel_case("covariances_gaussian_1d", 1, {"length_scale": 0.5}, 3)


def _elliptic_inputs(steps):
    def make():
        return {"h": 0.125, "nugget": 1e-10, "steps": np.int64(steps), "nu": 3.5, "l": 0.3}

    return make


def _elliptic(inputs):
    solution = pde.solve(
        pde.NonlinearElliptic(),
        float(inputs["h"]),
        method="dense",
        kernel=vecchia.Matern(float(inputs["nu"]), float(inputs["l"])),
        nugget=float(inputs["nugget"]),
        steps=int(inputs["steps"]),
    )
    return {"points": solution.points, "values": solution.values}


_SOLVER = Tolerance(
    1e-11,
    0.0,
    "|u| ≤ 1; a sparse solver with ρ = ∞ and CG (another elimination order) agrees with the "
    "dense Cholesky to 1.3e-12, while doubling the nugget moves the values by 6.5e-11: 1e-11 "
    "accepts any stable solver at the stated nugget, not another nugget convention",
)
for _steps, _label in ((1, "one_gauss_newton_step"), (3, "solve")):
    register(
        Case(
            name=f"pde.elliptic_{_label}",
            function="refimpl.pde.solve",
            description=f"−Δu + u³ = f on [0, 1]², h = 1/8, Matérn-7/2 (l = 0.3), relative "
            f"nugget 1e-10, {_steps} Gauss–Newton step(s) from v = 0: values at the 49 "
            "interior points",
            conventions=ELLIPTIC + "; " + ROWS + "; outputs: the interior points and v there",
            make_inputs=_elliptic_inputs(_steps),
            compute=_elliptic,
            checks={
                "points": Tolerance(1e-15, 0.0, "grid coordinates: one multiplication"),
                "values": _SOLVER,
            },
        )
    )


def _sparse_inputs():
    rng = np.random.default_rng(2026)
    return {
        "h": 0.125,
        "nugget": 1e-10,
        "steps": np.int64(3),
        "nu": 3.5,
        "l": 0.3,
        "rho": 3.0,
        "lam": 1.5,
        "p": np.int64(3),
        "cg_rtol": 1e-12,
        "new_points": rng.uniform(0.0, 1.0, (16, 2)),
    }


def _sparse(inputs):
    solution = pde.solve(
        pde.NonlinearElliptic(),
        float(inputs["h"]),
        method="sparse",
        kernel=vecchia.Matern(float(inputs["nu"]), float(inputs["l"])),
        nugget=float(inputs["nugget"]),
        steps=int(inputs["steps"]),
        rho=float(inputs["rho"]),
        lam=float(inputs["lam"]),
        p=int(inputs["p"]),
        cg_rtol=float(inputs["cg_rtol"]),
    )
    return {"values": solution.values, "between": solution(inputs["new_points"])}


_SPARSE = Tolerance(
    1e-11,
    0.0,
    "|u| ≤ 1; CG without the preconditioner, a preconditioner of ρ = 1.5 and conditioning "
    "jitters 0 to 1e-13 move both outputs by at most 8.6e-13, while doubling the nugget moves "
    "them by 1.1e-9 and the authors' CG tolerance √ε by 4.5e-10: 1e-11 accepts any stable "
    "solver of the stated approximation, not another pattern, nugget or CG tolerance",
)
register(
    Case(
        name="pde.elliptic_sparse_between_points",
        function="refimpl.pde.solve",
        description="−Δu + u³ = f on [0, 1]², h = 1/8, Matérn-7/2 (l = 0.3), relative nugget "
        "1e-10, 3 Gauss–Newton steps from v = 0 by the sparse solver (ρ = 3, λ = 1.5, p = 3, "
        "CG to relative residual 1e-12): the values at the 49 interior points and the "
        "solution at 16 new points between them",
        conventions=ELLIPTIC
        + "; the sparse solver: the big list [δ at boundary; δ at interior; Δδ at interior], "
        "each measurement scaled to unit variance (Θ̃_big), is ordered by points: coarse to "
        "fine, first the boundary points in p-maximin order (p = min(p, 4/h), started at the "
        "boundary's first point (0, 0), ties to the lowest index), then the interior points "
        "by p-maximin conditioned on the boundary (lengths = distance to the p-th nearest of "
        "the boundary and the interior points chosen before); finest first for elimination, "
        "each interior point's Laplacian comes immediately before its value (each keeps its "
        "point's length); Θ̃_big ≈ (LLᵀ)⁻¹ with L the KL-optimal factor on the ρ-ball pattern "
        "of these lengths enlarged by supernodes of λ, the nugget added to the unit diagonal; "
        "A maps the big list to the linearized measurements (δ at boundary; (−Δ + 3v²)δ at "
        "interior); Gauss–Newton solves Θ α = data with Θ = A Θ̃_big Aᵀ by conjugate gradients "
        "to relative residual cg_rtol (any solver at least that accurate passes); values = "
        "the interior-δ part of the state β = Θ̃_big Aᵀ α; at a new point x the solution is "
        "u(x) = k(δ_x, φ_N)(Θ̃_NN + 1e-14 diag Θ̃_NN)⁻¹ β_N, with N the big-list measurements "
        "(boundary and interior, all types) at the collocation points within distance ≤ ρ·ℓ "
        "of x, ℓ the 10 % quantile of the points' positive lengths (= h on this grid), or at "
        "the nearest collocation point if none; " + ROWS,
        make_inputs=_sparse_inputs,
        compute=_sparse,
        checks={"values": _SPARSE, "between": _SPARSE},
    )
)
