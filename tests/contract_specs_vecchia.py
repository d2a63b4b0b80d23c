"""Contract specs for ``refimpl.vecchia``: every public function, the kernels' calls and
methods, the ``Pattern``/``Supernodes`` constructors and methods, with misbehaving kernels.

The valid calls are tiny (a dozen points), so the whole sweep stays within seconds.
"""

import numpy as np
from contract import Spec

from refimpl import vecchia

POINTS = np.random.default_rng(0).uniform(size=(12, 2))
KERNEL = vecchia.Matern(1.5, 0.3)
ORDER, LENGTHS = vecchia.maximin_ordering(POINTS)
ORDERED = POINTS[ORDER]
PATTERN = vecchia.ball_pattern(ORDERED, LENGTHS, 2.0)
GROUPS = vecchia.supernodes(PATTERN, LENGTHS, 1.5)
THETA = KERNEL(ORDERED, ORDERED)
FACTOR = vecchia.kl_factor(ORDERED, KERNEL, PATTERN)
NEW_POINTS = np.random.default_rng(1).uniform(size=(3, 2))


def nan_kernel(X, Y):
    """Returns NaN blocks of the right shape."""
    return np.full(X.shape[:-1] + (Y.shape[-2],), np.nan)


def complex_kernel(X, Y):
    """Returns complex blocks."""
    return KERNEL(X, Y) + 1j


def wrong_shape_kernel(X, Y):
    """Returns one column too many."""
    return np.ones(X.shape[:-1] + (Y.shape[-2] + 1,))


def two_d_only_kernel(X, Y):
    """Accepts (n, d) arrays only, no batch axes."""
    return np.exp(-np.linalg.norm(X[:, None] - Y[None], axis=-1))


def type_error_kernel(X, Y):
    """Raises an error of the wrong type."""
    raise TypeError("unsupported operand")


def indefinite_kernel(X, Y):
    """Symmetric but indefinite: every entry is 2, the diagonal 1."""
    return 2.0 - (vecchia.pairwise_distances(X, Y) == 0.0)


def without_inf_lengths(ordering):
    """Check the documented infinite lengths (the p coarsest points), return the finite rest.

    The coarsest ``min(p, N)`` points have no p coarser points, so their length is
    ``inf`` by definition; every other length must be finite.
    """

    def call(points, p, initial):
        order, lengths = ordering(points, p=p, initial=initial)
        coarsest = min(p, len(order))
        assert np.all(np.isinf(lengths[-coarsest:])), "the p coarsest lengths must be inf"
        return order, lengths[:-coarsest]

    return call


BAD_KERNELS = [
    ("kernel", nan_kernel),
    ("kernel", complex_kernel),
    ("kernel", wrong_shape_kernel),
    ("kernel", two_d_only_kernel),
    ("kernel", type_error_kernel),
    ("kernel", indefinite_kernel),
    ("kernel", np.exp),
    ("kernel", "matern"),
]
KERNEL_NAMES = {"kernel": ("kernel",)}
# Legal inputs among the mutations: point sets of any size, batch axes, Y defaulting
# to X; a factor scaled by 1e±300 is a valid (extreme) factor; ρ = ∞ and infinite
# lengths (the coarsest points) are part of the definitions.
POINT_PAIRS = {"X": {"extra axis", "one row short"}, "Y": {"None", "extra axis", "one row short"}}
SCALED_FACTOR = {"L": {"dense huge", "dense tiny"}}
# a profile takes scaled distances of any shape (a scalar, a batch of blocks, none)
DISTANCES = {"r": {"extra axis", "one row short", "0-d", "empty"}}


def _kernel_call(cls, **args):
    return Spec(
        f"vecchia.{cls.__name__}.__call__",
        lambda X, Y: cls(**args)(X, Y),
        lambda: {"X": POINTS[:4], "Y": POINTS[2:7]},
        accepts=POINT_PAIRS,
    )


SPECS = [
    Spec(
        "vecchia.Kernel",
        vecchia.Kernel,
        lambda: {"length_scale": 0.3, "variance": 2.0},
        extra=[("length_scale", np.array([0.1, -1.0])), ("length_scale", [0.1, 0.2])],
        accepts={"length_scale": {"array"}},
    ),
    Spec(
        "vecchia.Matern",
        vecchia.Matern,
        lambda: {"nu": 1.5, "length_scale": 0.3, "variance": 2.0},
        extra=[("nu", 1e6), ("length_scale", np.array([0.2, np.inf]))],
        accepts={"length_scale": {"array"}},
    ),
    Spec(
        "vecchia.Gaussian",
        vecchia.Gaussian,
        lambda: {"length_scale": 0.3, "variance": 2.0},
        accepts={"length_scale": {"array"}},  # one length scale per coordinate
    ),
    _kernel_call(vecchia.Matern, nu=1.5, length_scale=0.3),
    _kernel_call(vecchia.Gaussian, length_scale=0.3),
    Spec(
        "vecchia.Kernel.__call__",
        lambda X, Y: vecchia.Matern(0.7, np.array([0.2, 0.4]))(X, Y),
        lambda: {"X": POINTS[:4], "Y": POINTS[2:7]},
        accepts=POINT_PAIRS,
    ),
    Spec(
        "vecchia.Matern.profile",
        # a closed form, the Bessel form and the closed form with s² (which overflows first)
        lambda r: [vecchia.Matern(nu, 0.3).profile(r) for nu in (1.5, 2.7, 3.5)],
        lambda: {"r": np.array([0.0, 0.3, 2.0, 900.0])},
        accepts=DISTANCES,
    ),
    Spec(
        "vecchia.Gaussian.profile",
        lambda r: vecchia.Gaussian(0.3).profile(r),
        lambda: {"r": np.array([0.0, 0.3, 2.0, 900.0])},
        accepts=DISTANCES,
    ),
    Spec(
        "vecchia.Kernel.check_dimension",
        # an ARD kernel (d must match) and an isotropic one (any d >= 1)
        lambda d, name: [
            vecchia.Matern(1.5, np.array([0.2, 0.4])).check_dimension(d, name),
            vecchia.Gaussian(0.3).check_dimension(d, name),
        ],
        lambda: {"d": 2, "name": "points"},
        kinds={"name": "text"},
        extra=[("d", 3), ("d", np.int64(2)), ("d", 2.0)],
        names={"d": ("points",)},  # a mismatch names the points, as the caller's `name` says
    ),
    Spec(
        "vecchia.pairwise_distances",
        vecchia.pairwise_distances,
        lambda: {"X": POINTS[:4], "Y": POINTS[2:7]},
        extra=[("Y", np.ones((3, 5)))],
        accepts=POINT_PAIRS,
    ),
    Spec(
        "vecchia.check_points",
        vecchia.check_points,
        lambda: {"points": POINTS, "name": "points", "distinct": True},
        skip={"name": "the argument's name, any string is accepted"},
        extra=[("points", np.concatenate([POINTS, POINTS[:1]]))],
        accepts={"points": {"one row short"}},
    ),
    Spec(
        "vecchia.maximin_ordering",
        without_inf_lengths(vecchia.maximin_ordering),
        lambda: {"points": POINTS, "p": 2, "initial": 3},
        extra=[("points", np.concatenate([POINTS, POINTS[:1]])), ("p", 10**13)],
        accepts={"points": {"one row short"}},
    ),
    Spec(
        "vecchia.maximin_ordering_brute_force",
        without_inf_lengths(vecchia.maximin_ordering_brute_force),
        lambda: {"points": POINTS, "p": 2, "initial": 3},
        extra=[("p", 10**13)],
        accepts={"points": {"one row short"}},
    ),
    Spec(
        "vecchia.conditional_maximin_ordering",
        vecchia.conditional_maximin_ordering,
        lambda: {"points": NEW_POINTS, "reference": POINTS, "p": 2},
        extra=[("points", POINTS[:2]), ("p", 10**13)],
        accepts={"points": {"one row short"}, "reference": {"one row short"}},
    ),
    Spec(
        "vecchia.Pattern",
        vecchia.Pattern,
        lambda: {"indptr": PATTERN.indptr.copy(), "indices": PATTERN.indices.copy()},
        extra=[
            ("indices", PATTERN.indices[::-1].copy()),  # not ascending within columns
            ("indices", PATTERN.indices + 1),  # not starting at the diagonal
            ("indptr", PATTERN.indptr[::-1].copy()),
        ],
    ),
    Spec(
        "vecchia.Pattern.column",
        lambda j: PATTERN.column(j),
        lambda: {"j": 3},
        extra=[("j", 12)],
    ),
    Spec(
        "vecchia.Pattern.contains",
        lambda other: PATTERN.contains(other),
        lambda: {"other": vecchia.full_pattern(12)},
        extra=[("other", vecchia.full_pattern(5))],
    ),
    Spec(
        "vecchia.Supernodes.member_columns",
        lambda s: GROUPS.member_columns(s),
        lambda: {"s": 1},
        extra=[("s", GROUPS.count), ("s", np.int64(1)), ("s", 1.0)],
    ),
    Spec(
        "vecchia.Supernodes.row_set",
        lambda s: GROUPS.row_set(s),
        lambda: {"s": 1},
        extra=[("s", GROUPS.count), ("s", np.int64(1)), ("s", 1.0)],
    ),
    Spec(
        "vecchia.Supernodes.column_pointers",
        lambda n: GROUPS.first(2).column_pointers(n),
        lambda: {"n": 12},
        kinds={"n": "size"},
        # fewer columns than the supernodes' members and rows
        extra=[("n", int(GROUPS.first(2).rows.max())), ("n", 12.0)],
        accepts={"n": {"None"}},  # None: as many columns as members
    ),
    Spec(
        "vecchia.ball_pattern",
        vecchia.ball_pattern,
        lambda: {"points": ORDERED, "lengths": LENGTHS, "rho": 2.0},
        accepts={"lengths": {"inf entry"}, "rho": {"inf"}},
    ),
    Spec(
        "vecchia.knn_pattern",
        vecchia.knn_pattern,
        lambda: {"points": ORDERED, "m": 3},
        kinds={"m": "size"},
        accepts={"points": {"one row short"}},
    ),
    Spec("vecchia.full_pattern", vecchia.full_pattern, lambda: {"n": 5}, kinds={"n": "size"}),
    Spec(
        "vecchia.Supernodes",
        vecchia.Supernodes,
        lambda: {
            "member_ptr": GROUPS.member_ptr.copy(),
            "members": GROUPS.members.copy(),
            "row_ptr": GROUPS.row_ptr.copy(),
            "rows": GROUPS.rows.copy(),
        },
        extra=[("rows", GROUPS.rows[::-1].copy()), ("members", GROUPS.members[::-1].copy())],
    ),
    Spec(
        "vecchia.Supernodes.first",
        lambda count: GROUPS.first(count),
        lambda: {"count": 2},
        extra=[("count", GROUPS.count + 1)],
    ),
    Spec(
        "vecchia.supernodes",
        vecchia.supernodes,
        lambda: {"pattern": PATTERN, "lengths": LENGTHS, "lam": 1.5},
        extra=[("pattern", PATTERN.indices), ("pattern", vecchia.full_pattern(5))],
        accepts={"lengths": {"inf entry"}},
    ),
    Spec(
        "vecchia.kl_factor",
        vecchia.kl_factor,
        lambda: {"points": ORDERED, "kernel": KERNEL, "pattern": PATTERN, "nugget": 0.0},
        extra=BAD_KERNELS + [("pattern", GROUPS), ("pattern", vecchia.full_pattern(5))],
        names=KERNEL_NAMES,
    ),
    Spec(
        "vecchia.supernodal_kl_factor",
        vecchia.supernodal_kl_factor,
        lambda: {"points": ORDERED, "kernel": KERNEL, "groups": GROUPS, "nugget": 0.0},
        extra=BAD_KERNELS + [("groups", PATTERN), ("groups", GROUPS.first(2))],
        names=KERNEL_NAMES,
    ),
    Spec("vecchia.supernodal_flops", vecchia.supernodal_flops, lambda: {"groups": GROUPS}),
    Spec(
        "vecchia.dense_inverse_cholesky",
        vecchia.dense_inverse_cholesky,
        lambda: {"theta": THETA},
        extra=[("theta", THETA + np.triu(np.ones_like(THETA), 1))],  # not symmetric
    ),
    Spec(
        "vecchia.kl_cholesky",
        vecchia.kl_cholesky,
        lambda: {"points": POINTS, "kernel": KERNEL, "rho": 2.0, "lam": 1.5, "p": 2, "nugget": 0.0},
        extra=BAD_KERNELS + [("p", 10**13)],
        names=KERNEL_NAMES,
        accepts={"points": {"one row short"}, "rho": {"inf"}},
    ),
    Spec(
        "vecchia.kl_divergence",
        vecchia.kl_divergence,
        lambda: {"theta": THETA, "L": FACTOR},
        extra=[("L", FACTOR.T.tocsc()), ("theta", THETA + np.triu(np.ones_like(THETA), 1))],
        accepts=SCALED_FACTOR,
    ),
    Spec(
        "vecchia.kl_divergence_from_variances",
        vecchia.kl_divergence_from_variances,
        lambda: {"theta": THETA, "L": FACTOR},
        accepts=SCALED_FACTOR,
    ),
    Spec("vecchia.logdet", vecchia.logdet, lambda: {"L": FACTOR}, accepts=SCALED_FACTOR),
    Spec(
        "vecchia.solve",
        vecchia.solve,
        lambda: {"L": FACTOR, "b": np.arange(12.0)},
        accepts=SCALED_FACTOR,
    ),
    Spec(
        "vecchia.apply_covariance",
        vecchia.apply_covariance,
        lambda: {"L": FACTOR, "b": np.arange(12.0)},
        accepts=SCALED_FACTOR,
    ),
    Spec(
        "vecchia.log_likelihood",
        vecchia.log_likelihood,
        lambda: {"L": FACTOR, "y": np.arange(12.0)},
        accepts=SCALED_FACTOR,
    ),
    Spec(
        "vecchia.predict",
        vecchia.predict,
        lambda: {
            "points": POINTS,
            "y": np.sin(POINTS[:, 0]),
            "new_points": NEW_POINTS,
            "kernel": KERNEL,
            "rho": 2.0,
            "lam": 1.5,
            "p": 2,
            "nugget": 0.01,
        },
        extra=BAD_KERNELS + [("new_points", POINTS[:2]), ("p", 10**13)],
        names=KERNEL_NAMES,
        accepts={"new_points": {"one row short"}, "rho": {"inf"}},
    ),
    Spec(
        "vecchia.sample",
        vecchia.sample,
        lambda: {"L": FACTOR, "size": 2, "rng": 5},
        kinds={"size": "size"},
        accepts={"L": {"dense huge", "dense tiny"}, "size": {"None"}},
    ),
]

EXEMPT = {
    "vecchia.Kernel.profile": (
        "abstract: the base class has no profile (it raises NotImplementedError, the hook "
        "a subclass fills in); the profiles refimpl ships, Matern.profile and "
        "Gaussian.profile, have specs"
    ),
    "vecchia.Pattern.counts": "takes no argument; the frozen Pattern was checked when built",
    "vecchia.Pattern.to_sparse": "takes no argument; the frozen Pattern was checked when built",
    "vecchia.Supernodes.positions": "takes no argument; the frozen Supernodes were checked",
    "vecchia.Supernodes.sizes": "takes no argument; the frozen Supernodes were checked",
    "vecchia.Supernodes.pattern": "takes no argument; the frozen Supernodes were checked",
}
