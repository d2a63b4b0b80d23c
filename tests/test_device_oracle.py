"""The oracle on a device: ``oracle.check`` judges device outputs, after one explicit copy.

Every test takes the ``xp`` fixture (NumPy, the strict CuPy stand-in of ``tests/standin``
and, on a GPU machine, CuPy). ``numpy.asarray`` refuses a device array, so the check
copies a device candidate to the host with ``backend.to_numpy`` in one named place
(``refimpl.oracle.report._on_host``) and judges the copy under the case's own tolerance:
no tolerance here is new. Cases whose computation runs on the device are computed from
device inputs; for every case, the device copy of refimpl's own outputs must pass.
"""

import numpy as np
import pytest
import scipy.sparse

from refimpl import backend, oracle

#: Cases whose ``compute`` keeps device inputs on the device (measured on the stand-in:
#: every output is a device array or a scalar). The others run on the host (the sparse
#: vecchia path, pde's public path, the rank rule's front door): see the GPU table.
DEVICE_CASES = sorted(
    {f"cgd.{m}_quadratic" for m in ("acgd", "altgda", "cgd", "conopt", "extragradient")}
    | {f"cgd.{m}_quadratic" for m in ("gda", "lcgd", "ogda", "sga")}
    | {"cgd.cgd_ill_conditioned", "cgd.cgd_step_bilinear", "cgd.gan_step_products"}
    | {"inrank.gradients", "inrank.inrank_step", "inrank.mode_strength_depth3"}
)


def _to(xp, value):
    """``value`` on ``xp``'s device when it is a non-scalar NumPy array."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return xp.asarray(value)
    return value


@pytest.mark.parametrize("name", DEVICE_CASES)
def test_check_passes_outputs_computed_on_the_device(xp, name):
    case = oracle.get_case(name)
    inputs = {key: _to(xp, value) for key, value in case.make_inputs().items()}
    outputs = case.compute(inputs)
    for key, value in outputs.items():
        if getattr(value, "ndim", 0) > 0:
            assert backend.array_namespace(value) is xp, (key, type(value))
    report = oracle.check(case, outputs)  # raises AssertionError naming the output on failure
    assert report.passed and len(report.rows) == len(case.checks)


@pytest.mark.parametrize("name", sorted(c.name for c in oracle.cases()))
def test_check_passes_device_copies_of_the_reference(xp, name):
    """Every case: refimpl's outputs, moved to the device, pass; one wrong entry fails
    with the case's own report (so the device copy is compared, not skipped)."""
    case = oracle.get_case(name)
    outputs = case.compute(case.make_inputs())
    device = {key: _to(xp, value) for key, value in outputs.items()}
    assert oracle.check(case, device).passed
    dense = [
        key
        for key, value in outputs.items()
        if isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
        and value.size
        and not scipy.sparse.issparse(value)
    ]
    if not dense:
        return
    key = dense[0]
    wrong = outputs[key].copy()
    wrong.flat[0] += 1.0 + abs(wrong.flat[0])  # beyond any tolerance of a case (≤ 1e-4 rel)
    device[key] = _to(xp, wrong)
    report = oracle.check(case, device, raise_on_failure=False)
    failing = [row for row in report.rows if not row.passed]
    assert [row.output for row in failing] == [key], report.table()
    assert "unreadable" not in failing[0].detail
