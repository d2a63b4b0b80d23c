"""Contract specs for ``refimpl.pde``: every public name and the methods taking user input.

Sizes are tiny (h = 0.25: 16 boundary and 9 interior points) so that the sweep of the
whole subpackage stays within seconds.
"""

import numpy as np
from contract import Spec, UnknownOption

from refimpl import pde
from refimpl.vecchia import Gaussian, Matern

KERNEL = Matern(3.5, 0.3)
MK = pde.MeasurementKernel(KERNEL)
ELLIPTIC = pde.NonlinearElliptic(terms=20)
BOUNDARY, INTERIOR = pde.unit_square_grid(0.25)
X = np.array([[0.1, 0.2], [0.4, 0.3], [0.7, 0.9]])
POINT_SETS = {"one row short"}  # a point set of any size is valid
# length scales whose derivative variances σ²c⁴ under- or overflow
EXTREME_KERNELS = [
    ("kernel", Matern(3.5, 1e300)),
    ("kernel", Matern(3.5, 1e-300)),
    ("kernel", Gaussian(1e300)),
    ("kernel", Gaussian(1e-300)),
]


def _system():
    return pde.CollocationSystem(BOUNDARY, INTERIOR, ELLIPTIC.basis)


def _weights():
    return np.tile([0.5, -1.0], (len(INTERIOR), 1))


def _rhs():
    return np.linspace(0.0, 1.0, len(BOUNDARY) + len(INTERIOR))


def nan_kernel(X, Y=None):
    return np.full(np.shape(X)[:-1] + (np.shape(Y if Y is not None else X)[-2],), np.nan)


class NotAProblem:
    basis = ("value",)


def without_inf_lengths(ordering, count):
    """Check the documented inf lengths (the coarsest ``count``) and return the finite rest."""

    def call(**kwargs):
        order, lengths = ordering(**kwargs)
        k = count(kwargs)
        assert np.all(np.isinf(lengths[len(lengths) - k :])), "the coarsest lengths must be inf"
        return order, lengths[: len(lengths) - k]

    return call


DENSE = pde.DenseSolver(MK, _system(), 1e-10)
SPARSE = pde.SparseSolver(MK, _system(), 1e-10, rho=2.0)
ALPHA = DENSE.solve(_weights(), _rhs())[0]
SOLUTION = pde.solve(ELLIPTIC, 0.25, method="dense")
KERNEL_OBJECTS = [("kernel", Matern(1.5, 0.3)), ("kernel", nan_kernel)]
SPARSE_ALPHA = SPARSE.solve(_weights(), _rhs())[0]
RADIAL = pde.RadialDerivatives(KERNEL)
R = np.array([0.0, 0.05, 0.3, 2.0])
MONGE = pde.MongeAmpere()
BURGERS = pde.Burgers(nu=0.05, T=0.1, dt=0.05, length_scale=0.2)
BURGERS_POINTS = BURGERS.collocation(0.25)
ANY_SHAPE = {"extra axis", "one row short", "0-d", "empty"}  # distances of any shape


def _big_vector():
    return np.linspace(-1.0, 1.0, len(_system().big_measurements()))


def _burgers_system():
    return pde.CollocationSystem(*BURGERS_POINTS, BURGERS.basis)


def _burgers_run_arguments(system):
    return {
        "solver": pde.DenseSolver(MK, system, 1e-10),
        "system": system,  # the solver's own
        "steps": 1,
        "method": "dense",
    }


def _burgers_run(**kwargs):
    return BURGERS.run(**kwargs)


def _problem_specs(label, problem, state, points, **valid_points):
    """Specs of the methods every problem has: collocation, truth, rhs, initial state,
    linearize and residual (``points`` the valid points, ``state`` a valid state there)."""
    n = len(state)
    rhs = np.linspace(0.5, 1.5, n)
    data = "b" if label == "Burgers" else "f"  # the right-hand side's name
    return [
        Spec(f"pde.{label}.collocation", problem.collocation, lambda: {"h": 0.25}),
        Spec(
            f"pde.{label}.truth",
            problem.truth,
            lambda: {"x": points.copy(), **valid_points},
            accepts={"x": POINT_SETS, "t": {"None"}},  # t = None: the final time T
        ),
        Spec(
            f"pde.{label}.initial_state",
            problem.initial_state,
            lambda: {"x": points.copy()} if label == "Burgers" else {"n": n},
            kinds={"n": "size"},
            accepts={"x": POINT_SETS},
        ),
        *(
            Spec(
                f"pde.{label}.{method}",
                getattr(problem, method),
                lambda: {"state": state.copy(), data: rhs.copy()},
            )
            for method in ("linearize", "residual")
        ),
    ]


SPECS = [
    Spec(
        "pde.RadialDerivatives",
        pde.RadialDerivatives,
        lambda: {"kernel": KERNEL},
        extra=[
            ("kernel", Matern(1.3, 0.3)),
            ("kernel", Matern(2.5, [0.3, 0.2])),
            *EXTREME_KERNELS,
        ],
    ),
    Spec(
        "pde.Measurements",
        pde.Measurements,
        lambda: {
            "points": X.copy(),
            "value": np.ones(3),
            "gradient": np.zeros((3, 2)),
            "hessian": np.tile(np.eye(2), (3, 1, 1)),
        },
        accepts={w: {"None", "0-d"} for w in ("value", "gradient", "hessian")},  # 0 or broadcast
    ),
    Spec(
        "pde.point_values",
        pde.point_values,
        lambda: {"points": X.copy(), "weight": 2.0},
        accepts={"points": POINT_SETS},
    ),
    Spec(
        "pde.laplacians",
        pde.laplacians,
        lambda: {"points": X.copy(), "weight": -1.0},
        accepts={"points": POINT_SETS},
    ),
    Spec(
        "pde.first_derivatives",
        pde.first_derivatives,
        lambda: {"points": X.copy(), "i": 1, "weight": np.ones(3)},
        accepts={"weight": {"0-d"}},  # one weight for every point
    ),
    Spec(
        "pde.second_derivatives",
        pde.second_derivatives,
        lambda: {"points": X.copy(), "i": 0, "j": 1, "weight": 1.5},
        accepts={"points": POINT_SETS},
    ),
    Spec(
        "pde.concatenate",
        pde.concatenate,
        lambda: {"parts": [pde.point_values(X), pde.laplacians(X)]},
        extra=[("parts", [pde.point_values(X), pde.point_values(X[:, :1])]), ("parts", [1, 2])],
    ),
    Spec(
        "pde.MeasurementKernel",
        pde.MeasurementKernel,
        lambda: {"kernel": KERNEL},
        extra=[("kernel", Matern(1.3, 0.3)), ("kernel", nan_kernel)],
    ),
    Spec(
        "pde.MeasurementKernel.__call__",
        MK.__call__,
        lambda: {"X": pde.laplacians(X).rows(), "Y": pde.point_values(X[:2]).rows()},
        names={"X": ("X, Y",), "Y": ("X, Y",)},
        accepts={
            "X": {"extra axis", "one row short"},  # batch axes, any number of rows
            "Y": {"None", "extra axis", "one row short"},  # None: Y = X
        },
    ),
    Spec(
        "pde.MeasurementKernel.gram",
        MK.gram,
        lambda: {"measurements": pde.laplacians(X), "others": pde.point_values(X)},
        extra=[("measurements", X), ("others", pde.point_values(X[:, :1]))],
        accepts={"others": {"None"}},  # None: the Gram matrix of measurements
    ),
    Spec(
        "pde.multiset_maximin_ordering",
        without_inf_lengths(
            pde.multiset_maximin_ordering, lambda a: min(a["p"], len(a["boundary"]))
        ),
        lambda: {"boundary": BOUNDARY.copy(), "interior": INTERIOR.copy(), "p": 2},
        extra=[("interior", BOUNDARY[:3].copy()), ("interior", np.ones((3, 3)))],
        accepts={"boundary": POINT_SETS, "interior": POINT_SETS},
    ),
    Spec(
        "pde.measurement_ordering",
        without_inf_lengths(
            pde.measurement_ordering, lambda a: int(np.sum(np.isinf(a["point_lengths"])))
        ),
        lambda: {
            "point_order": np.array([2, 1, 0]),
            "point_lengths": np.array([0.25, 0.5, np.inf]),
            "n_boundary": 1,
            "n_types": 2,
            "placement": "last",
        },
        extra=[("point_order", np.array([0, 0, 1])), ("point_lengths", np.array([1.0, -1, 2]))],
    ),
    Spec(
        "pde.CollocationSystem",
        pde.CollocationSystem,
        lambda: {
            "boundary": BOUNDARY.copy(),
            "interior": INTERIOR.copy(),
            "basis": ("value", "d00"),
        },
        extra=[
            ("basis", ("laplacian",)),
            ("basis", ("value", "d7x")),
            ("basis", []),
            ("interior", np.vstack([INTERIOR, BOUNDARY[3]])),  # a boundary point again
        ],
        accepts={"boundary": POINT_SETS, "interior": POINT_SETS},
    ),
    Spec(
        "pde.basis_measurements",
        pde.basis_measurements,
        lambda: {"name": "d01", "points": X.copy()},
        extra=[("name", "d05"), ("name", "laplacian2")],
        accepts={"points": POINT_SETS},
        names={"name": ("i", "j")},
    ),
    Spec(
        "pde.DenseSolver",
        pde.DenseSolver,
        lambda: {"kernel": MK, "system": _system(), "nugget": 1e-10},
        extra=[("kernel", KERNEL), ("system", BOUNDARY)],
    ),
    Spec(
        "pde.DenseSolver.solve",
        DENSE.solve,
        lambda: {"weights": _weights(), "rhs": _rhs(), "step": 1},
        skip={"step": "a label for messages"},
    ),
    Spec(
        "pde.kernel_matvec",
        pde.kernel_matvec,
        lambda: {
            "kernel": MK,
            "rows": pde.point_values(X).rows(),
            "others": pde.laplacians(X).rows(),
            "vector": np.ones(3),
        },
        names={"rows": ("X, Y", "X"), "others": ("X, Y", "vector"), "vector": ("X, Y",)},
        accepts={"rows": POINT_SETS},
    ),
    Spec(
        "pde.SparseSolver",
        pde.SparseSolver,
        lambda: {
            "kernel": MK,
            "system": _system(),
            "nugget": 1e-10,
            "rho": 2.0,
            "lam": 1.5,
            "p": 2,
            "placement": "follow",
            "cg_rtol": 1e-8,
            "cg_maxiter": 50,
            "precondition": True,
            "rho_system": 2.5,
        },
        extra=[("kernel", KERNEL), ("system", BOUNDARY)],
        accepts={"rho": {"inf"}, "rho_system": {"inf", "None"}},  # ρ = ∞: dense; None: rho
        timeout=10,
    ),
    Spec(
        "pde.SparseSolver.solve",
        SPARSE.solve,
        lambda: {"weights": _weights(), "rhs": _rhs(), "step": 1},
        skip={"step": "a label for messages"},
    ),
    Spec(
        "pde.gauss_newton",
        pde.gauss_newton,
        lambda: {
            "solver": DENSE,
            "linearize": lambda state: (_weights(), np.ones(len(INTERIOR))),
            "boundary_values": np.zeros(len(BOUNDARY)),
            "state": np.zeros((len(INTERIOR), 2)),
            "steps": 2,
        },
        extra=[("linearize", lambda state: (_weights(), np.full(len(INTERIOR), np.nan)))],
    ),
    Spec(
        "pde.Solution.__call__",
        SOLUTION.__call__,
        lambda: {"x": X.copy()},
        accepts={"x": POINT_SETS},
    ),
    Spec(
        "pde.NonlinearElliptic",
        pde.NonlinearElliptic,
        lambda: {"alpha": 1.0, "m": 3, "terms": 50},
    ),
    Spec("pde.MongeAmpere", pde.MongeAmpere, lambda: {}),
    Spec("pde.unit_square_grid", pde.unit_square_grid, lambda: {"h": 0.25}),
    Spec(
        "pde.solve",
        pde.solve,
        lambda: {
            "problem": ELLIPTIC,
            "h": 0.25,
            "method": "sparse",
            "kernel": KERNEL,
            "nugget": 1e-10,
            "steps": 2,
        },
        extra=[
            ("problem", NotAProblem()),
            ("kernel", Matern(1.5, 0.3)),
            *EXTREME_KERNELS,
            ("**", UnknownOption("bogus")),
        ],
        accepts={"kernel": {"None"}, "nugget": {"None"}, "steps": {"None"}},  # the defaults
        timeout=10,
    ),
    Spec(
        "pde.Burgers",
        pde.Burgers,
        lambda: {"nu": 0.01, "T": 0.1, "dt": 0.05, "length_scale": 0.1},
    ),
    Spec(
        "pde.cole_hopf",
        pde.cole_hopf,
        lambda: {"x": np.linspace(-1, 1, 5), "t": 0.5, "nu": 0.01, "nodes": 20},
        accepts={"x": POINT_SETS},
    ),
]

SPECS += [
    *_problem_specs("NonlinearElliptic", ELLIPTIC, np.tile([0.2, -1.0], (9, 1)), X),
    Spec(
        "pde.NonlinearElliptic.rhs",
        ELLIPTIC.rhs,
        lambda: {"x": X.copy()},
        accepts={"x": POINT_SETS},
    ),
    *_problem_specs("MongeAmpere", MONGE, np.tile([0.0, 1.0, 0.1, 1.0], (9, 1)), X),
    Spec("pde.MongeAmpere.rhs", MONGE.rhs, lambda: {"x": X.copy()}, accepts={"x": POINT_SETS}),
    *_problem_specs(
        "Burgers", BURGERS, np.tile([0.3, -1.0, 2.0], (7, 1)), BURGERS_POINTS[1], t=0.05
    ),
    Spec(
        "pde.Burgers.run",
        _burgers_run,
        lambda: _burgers_run_arguments(_burgers_system()),
        extra=[("solver", DENSE), ("system", _system())],
    ),
    Spec("pde.CollocationSystem.big_measurements", _system().big_measurements, lambda: {}),
    Spec(
        "pde.CollocationSystem.check_weights",
        _system().check_weights,
        lambda: {"weights": _weights()},
    ),
    Spec("pde.CollocationSystem.combined", _system().combined, lambda: {"weights": _weights()}),
    Spec(
        "pde.CollocationSystem.weight_matrix",
        _system().weight_matrix,
        lambda: {"weights": _weights()},
    ),
    Spec("pde.DenseSolver.state", DENSE.state, lambda: {"weights": _weights(), "alpha": ALPHA}),
    Spec(
        "pde.DenseSolver.evaluate",
        DENSE.evaluate,
        lambda: {"weights": _weights(), "alpha": ALPHA.copy(), "points": X.copy()},
        accepts={"points": POINT_SETS},
    ),
    Spec(
        "pde.SparseSolver.state",
        SPARSE.state,
        lambda: {"weights": _weights(), "alpha": SPARSE_ALPHA.copy()},
    ),
    Spec(
        "pde.SparseSolver.evaluate",
        SPARSE.evaluate,
        lambda: {"weights": _weights(), "alpha": SPARSE_ALPHA.copy(), "points": X.copy()},
        accepts={"points": POINT_SETS},
    ),
    Spec("pde.SparseSolver.apply_big", SPARSE.apply_big, lambda: {"y": _big_vector()}),
    Spec(
        "pde.MeasurementKernel.check_measurements",
        MK.check_measurements,
        lambda: {"measurements": pde.laplacians(X)},
        extra=[("measurements", X)],
    ),
    Spec(
        "pde.MeasurementKernel.variances",
        MK.variances,
        lambda: {"measurements": pde.laplacians(X)},
        extra=[("measurements", X)],
    ),
    Spec("pde.Measurements.rows", pde.laplacians(X).rows, lambda: {}),
    Spec(
        "pde.Measurements.scaled",
        pde.laplacians(X).scaled,
        lambda: {"factors": np.array([1.0, 2.0, 0.5])},
    ),
    Spec(
        "pde.Measurements.take",
        pde.laplacians(X).take,
        lambda: {"index": np.array([0, 2])},
        extra=[("index", 5), ("index", [0, 3]), ("index", np.array([[0], [1]]))],
        accepts={"index": {"one row short"}},  # any number of positions
    ),
    Spec(
        "pde.RadialDerivatives.__call__",
        RADIAL.__call__,
        lambda: {"k": 1, "m": 0, "r": R.copy()},
        extra=[("r", np.array([np.nan, 0.5])), ("r", np.array([-0.5])), ("k", 9)],
        accepts={"r": ANY_SHAPE},
        names={"k": ("k, m",), "m": ("k, m",)},
    ),
    Spec(
        "pde.RadialDerivatives.evaluate",
        RADIAL.evaluate,
        lambda: {"pairs": [(0, 0), (2, 2), (1, 0)], "r": R.copy()},
        extra=[("pairs", [(9, 0)]), ("pairs", [(1,)]), ("pairs", [(1.5, 0)]), ("pairs", [])],
        accepts={"r": ANY_SHAPE},
    ),
    Spec(
        "pde.RadialDerivatives.laplacian_forms",
        RADIAL.laplacian_forms,
        lambda: {"d": 2, "r": R.copy()},
        extra=[("d", 10**9)],
        accepts={"r": ANY_SHAPE},
    ),
]

EXEMPT = {
    "pde.Solution": "a result container built by solve; its callable has its own spec",
}
