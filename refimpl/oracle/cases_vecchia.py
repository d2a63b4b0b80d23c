r"""Golden cases of :mod:`refimpl.vecchia`: orderings, patterns, factors, diagnostics.

Points are drawn from ``numpy.random.default_rng(seed).random((N, d))`` (stored in
``inputs.npz``, so a candidate never needs NumPy's generator). Kernels are Matérn
with the smoothness and length scale stored as inputs ``nu`` and ``length_scale``.
Every factor lives in the elimination order given by the input ``order`` (reverse
maximin: index 0 finest), is lower triangular, and approximates the *inverse* of
the ordered kernel matrix, :math:`\Theta^{-1} \approx L L^\top`.

Tolerances of factors are absolute, scaled by :math:`\max |L|`: each column solves
a local system of at most ``N`` rows whose condition number is at most
:math:`\kappa(\Theta)`, so rounding errors stay below
:math:`10\,N\,\kappa(\Theta)\,\varepsilon\,\max|L|`.
"""

from __future__ import annotations

import numpy as np

from refimpl.oracle.case import Case, Invariant, LazyModule, Tolerance, register

vecchia = LazyModule("refimpl.vecchia")

EPS = np.finfo(float).eps
ORDER_CONVENTION = (
    "reverse p-maximin order, built coarse to fine and then reversed: order[0] is the finest "
    "point, order[-1] the first one chosen. The first point chosen is the input `initial`. "
    "With C the set chosen so far (t = |C| points) and dist_k(x, C) the distance from x to "
    "its k-th nearest point of C, the next point is argmax over unchosen i of "
    "dist_min(t, p)(x_i, C) — so while fewer than p points are chosen it is the point "
    "farthest from its farthest chosen point, and afterwards the one farthest from its p-th "
    "nearest — with exact ties broken towards the lowest index. Distances are Euclidean. "
    "lengths[k] belongs to the point order[k] (the same position, not the point's index) and "
    "is dist_p(x_order[k], points chosen before it); the first min(p, N) points chosen have "
    "fewer than p predecessors, so their length is infinite, written as the sentinel -1. "
    "Grids have exact ties that rounding may break either way, so cases with ties check "
    "the maximin property (invariant maximin_order) instead of the order"
)
KERNEL_CONVENTION = (
    "the kernel is Matérn with unit variance: k(r) = 2^(1−ν)/Γ(ν) s^ν K_ν(s) with "
    "s = sqrt(2ν) r / l, r the Euclidean distance, ν = input `nu`, l = input `length_scale` "
    "(ν = 3/2: k = (1 + s) e^(−s)); Θ = K(x, x) + nugget·I for the ordered points "
    "x = points[order]"
)
PATTERN_CONVENTION = (
    "the ρ-ball pattern in the elimination order: column j holds the rows "
    "s_j = {i ≥ j : |x_i − x_j| ≤ ρ·l_j} (x = points[order], l_j = lengths[j], input `rho`); "
    "ρ = inf (stored as inf) means every i ≥ j (the full lower triangle); in the input "
    "`lengths`, 1e300 stands for an infinite length and 0 for a repeated point"
)
FACTOR_CONVENTION = (
    "L is lower triangular with a positive diagonal in the elimination order "
    "points[order]; inv(Θ) ≈ L Lᵀ; column j has rows s_j (the pattern, ascending, j first) and "
    "L[s_j, j] = Θ_{s_j s_j}⁻¹ e₁ / sqrt(e₁ᵀ Θ_{s_j s_j}⁻¹ e₁) (the KL-optimal column); "
    "compared as a matrix, with entries outside the pattern 0; "
    + KERNEL_CONVENTION
    + "; "
    + PATTERN_CONVENTION
)
SUPERNODE_CONVENTION = (
    "supernodes: walk the columns j = 0, 1, … in the elimination order; an unassigned "
    "column j becomes a leader and its supernode is {k ∈ s_j : k unassigned, l_k ≤ λ·l_j} "
    "(λ = input `lam`, l the input `lengths`); the supernode's row set R is the union of "
    "its members' s_k, and each member column k gets the rows R ∩ {i ≥ k} (an enlarged "
    "pattern); L is the KL-optimal factor on that pattern, column by column as above"
)
LENGTH_SENTINELS = {
    1e300: "an infinite length: the first point chosen, whose ball holds every later point",
    0.0: "a repeated point (a second measurement at the same coordinates), placed finest",
}
EXACT = Tolerance(0.0, 0.0, "integers: exact")


def _points(n, d=2, seed=0):
    return np.random.default_rng(seed).random((n, d))


def _grid(m):
    g = (np.arange(m) + 0.5) / m
    return np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)


def _maximin_error(candidate, reference, inputs):
    """How far ``candidate`` is from a greedy reverse maximin order of ``inputs['points']``.

    Each point chosen must be (one of) the farthest from those chosen before it;
    the error is the largest shortfall, relative to the domain's diameter.
    """
    points = np.asarray(inputs["points"])
    order = np.asarray(candidate)
    if order.dtype.kind not in "iu":
        return np.inf, 0.0
    order = order.astype(np.int64)
    n = len(points)
    if sorted(order.tolist()) != list(range(n)):
        return np.inf, 0.0
    chosen = order[::-1]
    if chosen[0] != int(inputs["initial"]):
        return np.inf, 0.0
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)  # to the chosen set
    shortfall = 0.0
    for k in range(1, n):
        remaining_best = distance.max()
        shortfall = max(shortfall, remaining_best - distance[chosen[k]])
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[k]], axis=1))
    diameter = np.ptp(points, axis=0).max()
    return shortfall / diameter, 1e-14


MAXIMIN_ORDER = Invariant(
    "maximin_order",
    "order is a permutation whose reversal is a greedy maximin sequence started at `initial`: "
    "every point is at maximal distance from the points chosen before it (ties may be broken "
    "either way); shortfall ≤ 1e-14 of the diameter",
    _maximin_error,
)


def _ordering(points, p=1, initial=0):
    return {"points": points, "p": np.int64(p), "initial": np.int64(initial)}


def _compute_ordering(inputs):
    order, lengths = vecchia.maximin_ordering(
        inputs["points"], p=int(inputs["p"]), initial=int(inputs["initial"])
    )
    lengths = np.where(np.isinf(lengths), -1.0, lengths)  # inf is not portable in every reader
    return {"order": order.astype(np.int64), "lengths": lengths}


LENGTHS = Tolerance(
    0.0,
    1e-11,
    "distances in [0, 1]²: computed as |x|² + |y|² − 2xᵀy (a GEMM, as GPUs do) they lose "
    "up to ~10ε·max|x|²/l² relative for the smallest lengths l ≈ 0.02 here; 1e-11 covers it",
)

for _name, _inputs, _order_check in (
    ("maximin_p1_random", lambda: _ordering(_points(80)), EXACT),
    ("maximin_p3_random", lambda: _ordering(_points(80), p=3), EXACT),
    ("maximin_p1_grid_ties", lambda: _ordering(_grid(7), initial=24), MAXIMIN_ORDER),
):
    register(
        Case(
            name=f"vecchia.{_name}",
            function="refimpl.vecchia.maximin_ordering",
            description="reverse p-maximin ordering and its length scales (inf written as -1)",
            conventions=ORDER_CONVENTION,
            make_inputs=_inputs,
            compute=_compute_ordering,
            checks={"order": _order_check, "lengths": LENGTHS},
            kinds={"order": "ordering"},
            sentinels={"lengths": {-1.0: "an infinite length: fewer than p points before it"}},
        )
    )


def factor_inputs(rho, n=100, nugget=0.0, repeat=False):
    def make():
        points = _points(n, seed=1)
        if repeat:  # two measurements at each of the first ten points
            points = np.concatenate([points, points[:10]])
        order, lengths = vecchia.maximin_ordering(points[:n])
        if repeat:
            order = np.concatenate([np.arange(n, n + 10), order])
            lengths = np.concatenate([np.zeros(10), lengths])
        return {
            "points": points,
            "order": order.astype(np.int64),
            "lengths": np.where(np.isinf(lengths), 1e300, lengths),
            "nu": 1.5,
            "length_scale": 0.2,
            "rho": rho,
            "nugget": nugget,
        }

    return make


def kernel_of(inputs):
    return vecchia.Matern(float(inputs["nu"]), float(inputs["length_scale"]))


def ordered_points(inputs):
    return np.asarray(inputs["points"])[np.asarray(inputs["order"])]


def pattern_of(inputs):
    rho = float(inputs["rho"])
    x = ordered_points(inputs)
    return (
        vecchia.full_pattern(len(x))
        if rho > 1e6
        else vecchia.ball_pattern(x, inputs["lengths"], rho)
    )


def _factor_tolerance(inputs, reference_max=None):
    x = ordered_points(inputs)
    theta = kernel_of(inputs)(x, x) + float(inputs["nugget"]) * np.eye(len(x))
    kappa = np.linalg.cond(theta)
    return Tolerance(
        10 * len(x) * kappa * EPS * (reference_max or 1.0),
        0.0,
        f"10·N·κ(Θ)·ε·max|L| with N = {len(x)}, κ = {kappa:.3g}: local Cholesky rounding",
    )


def _register_factor(name, description, inputs, compute, function=None, conventions=None):
    def checks():
        made = inputs()
        return {"L": _factor_tolerance(made, abs(compute(made)["L"]).max())}

    register(
        Case(
            name=f"vecchia.{name}",
            function=function or "refimpl.vecchia.kl_factor",
            description=description,
            conventions=conventions or FACTOR_CONVENTION,
            make_inputs=inputs,
            compute=compute,
            checks=checks,
            kinds={"L": "factor"},
            sentinels={"lengths": LENGTH_SENTINELS},
        )
    )


def _kl_factor(inputs):
    x = ordered_points(inputs)
    return {
        "L": vecchia.kl_factor(x, kernel_of(inputs), pattern_of(inputs), float(inputs["nugget"]))
    }


def _supernodal(inputs):
    x = ordered_points(inputs)
    groups = vecchia.supernodes(pattern_of(inputs), inputs["lengths"], lam=float(inputs["lam"]))
    return {
        "L": vecchia.supernodal_kl_factor(x, kernel_of(inputs), groups, float(inputs["nugget"]))
    }


_register_factor(
    "kl_factor_rho3",
    "column-wise KL-optimal factor on the ρ = 3 ball pattern",
    factor_inputs(3.0),
    _kl_factor,
)
_register_factor(
    "kl_factor_dense",
    "ρ = ∞: the exact inverse Cholesky factor",
    factor_inputs(np.inf),
    _kl_factor,
)


def _supernodal_inputs():
    return {**factor_inputs(3.0)(), "lam": 1.5}


_register_factor(
    "supernodal_factor_rho3",
    "supernodal factor (λ = input lam = 1.5) on the ρ = 3 pattern enlarged by supernodes",
    _supernodal_inputs,
    _supernodal,
    function="refimpl.vecchia.supernodes + refimpl.vecchia.supernodal_kl_factor",
    conventions=FACTOR_CONVENTION + "; " + SUPERNODE_CONVENTION,
)
_register_factor(
    "kl_factor_repeated_nugget",
    "ρ = ∞ with ten repeated coordinates placed finest, nugget 1e-2",
    factor_inputs(np.inf, nugget=1e-2, repeat=True),
    _kl_factor,
)


def _pattern_case(inputs):
    pattern = vecchia.ball_pattern(ordered_points(inputs), inputs["lengths"], float(inputs["rho"]))
    return {
        "indptr": np.asarray(pattern.indptr, dtype=np.int64),
        "indices": np.asarray(pattern.indices, dtype=np.int64),
    }


register(
    Case(
        name="vecchia.ball_pattern_rho3",
        function="refimpl.vecchia.ball_pattern",
        description="the ρ-ball sparsity pattern {(i, j): i ≥ j, |x_i − x_j| ≤ ρ l_j}, ρ = 3, "
        "as CSC indptr/indices (rows ascending within a column, the diagonal first)",
        conventions=PATTERN_CONVENTION
        + "; the pattern is a set: exact. indptr[j]:indptr[j+1] are column j's rows in indices",
        make_inputs=factor_inputs(3.0),
        compute=_pattern_case,
        checks={"indptr": EXACT, "indices": EXACT},
        sentinels={"lengths": LENGTH_SENTINELS},
    )
)
