"""Bad input and numerical failure in refimpl.pde: named ValueErrors, reported steps."""

import numpy as np
import pytest

from refimpl.pde import (
    Burgers,
    CollocationSystem,
    DenseSolver,
    MeasurementKernel,
    NonlinearElliptic,
    SparseSolver,
    multiset_maximin_ordering,
    solve,
)
from refimpl.validation import DivergenceError
from refimpl.vecchia import Matern

P = NonlinearElliptic()


@pytest.mark.parametrize("h", [0.0, -0.1, 0.3, float("nan")])
def test_bad_h_is_refused(h):
    with pytest.raises(ValueError, match="h"):
        solve(P, h)


def test_negative_nugget_is_refused():
    with pytest.raises(ValueError, match="nugget"):
        solve(P, 0.25, nugget=-1e-3)


def test_unknown_method_and_option_are_refused():
    with pytest.raises(ValueError, match="method"):
        solve(P, 0.25, method="cholesky")
    with pytest.raises(ValueError, match="bogus"):
        solve(P, 0.25, bogus=1)


def test_kernel_without_the_needed_derivatives_is_refused():
    with pytest.raises(ValueError, match="kernel"):
        solve(P, 0.25, kernel=Matern(1.5, 0.3))


def test_duplicated_or_boundary_interior_points_are_refused():
    """Found by the outside sweep (issue 23): the system took an interior point equal to a
    boundary point, as its docstring says it does not, and the dense solver then returned
    numbers; only the sparse solver's ordering refused it. Now both paths refuse it with
    the same check, at the system and at the ordering."""
    boundary = np.array([[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="interior"):
        CollocationSystem(boundary, np.array([[0.5, 0.5], [0.5, 0.5]]), P.basis)
    interior = np.array([[0.5, 0.5], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"^interior: .*interior\[1\] == boundary\[1\]"):
        CollocationSystem(boundary, interior, P.basis)
    with pytest.raises(ValueError, match=r"^interior: .*interior\[1\] == boundary\[1\]"):
        multiset_maximin_ordering(boundary, interior)
    with pytest.raises(ValueError, match="^interior"):
        solve(_OnePointOnTheBoundary(), 0.25, method="dense")


class _OnePointOnTheBoundary(NonlinearElliptic):
    """The elliptic problem with a boundary corner among its interior points."""

    def collocation(self, h):
        boundary, interior = super().collocation(h)
        return boundary, np.vstack([interior, boundary[:1]])


def test_points_outside_the_domain_are_refused():
    sol = solve(P, 0.25, method="dense")
    with pytest.raises(ValueError, match="x"):
        sol(np.array([[1.5, 0.5]]))


def test_nan_right_hand_side_is_refused():
    boundary, interior = P.collocation(0.25)
    system = CollocationSystem(boundary, interior, P.basis)
    rhs = np.zeros(len(boundary) + len(interior))
    rhs[3] = np.nan
    weights = np.tile([0.0, -1.0], (len(interior), 1))
    for solver in (
        DenseSolver(MeasurementKernel(P.kernel), system),
        SparseSolver(MeasurementKernel(P.kernel), system),
    ):
        with pytest.raises(ValueError, match="rhs"):
            solver.solve(weights, rhs)


def test_cg_out_of_budget_is_reported_with_the_step():
    with pytest.raises(DivergenceError) as info:
        solve(P, 0.125, rho=1.0, cg_maxiter=1, cg_rtol=1e-14)
    assert info.value.step == 1
    assert "conjugate gradients" in str(info.value)


def test_callables_refuse_booleans_and_misshaped_points():
    """Found by review: Burgers' callable flattened (m, 2) points into 2m values, and
    booleans passed as points, weights or α were read as 0 and 1."""
    sol = solve(Burgers(nu=0.05, T=0.1, dt=0.05, length_scale=0.2), 0.1, method="dense")
    for bad in (np.full((3, 2), 0.1), np.zeros((0, 1)), np.array([True, False])):
        with pytest.raises(ValueError, match="^x"):
            sol(bad)
    elliptic = solve(NonlinearElliptic(), 0.25, method="dense")
    with pytest.raises(ValueError, match="^x"):
        elliptic(np.ones((2, 2), dtype=bool))
