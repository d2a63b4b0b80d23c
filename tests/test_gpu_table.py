"""The GPU table of the contract (``docs/contract/gpu_table.md``): measured, and fresh.

For every public function with a contract spec (``tests/contract_specs_*.py``), the spec's
valid call is run with its NumPy array arguments (and lists of them) moved to the strict
CuPy stand-in of ``tests/standin``, counting the explicit device-to-host copies
(``.get()``, which ``refimpl.backend.to_numpy`` and ``asnumpy`` use). Its row says what
came out: device arrays (``device``), device arrays after a host stage, host arrays, or
scalars; a call that cannot run on device arguments as the spec builds them (a game or
layer holding host arrays beside device vectors) names the device test that runs the
function on device arrays instead (:data:`DEVICE_TESTS`). Every row with a host stage
or host results carries the reason (:data:`HOST_REASONS`, by name prefix).

``REFIMPL_WRITE_GPU_TABLE=1 python -m pytest tests/test_gpu_table.py`` writes the table;
otherwise the test fails when the committed table differs from the measured one.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import standin
from test_contract import SPECS

from refimpl import backend

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "contract" / "gpu_table.md"

#: Functions whose spec's valid call mixes host objects with device arrays (so the sweep
#: cannot run it), or whose device behaviour a device test states: the test named runs
#: them on device arrays (``xfail`` where it documents host results).
DEVICE_TESTS = {
    **{
        f"cgd.{name}": "tests/test_device_cgd.py::"
        "test_every_step_method_keeps_its_arrays_on_the_device"
        for name in (
            "gda_step altgda_step ogda_step extragradient_step conopt_step sga_step "
            "lcgd_step cgd_step acgd_step neumann_step"
        ).split()
    },
    "cgd.run": "tests/test_device_cgd.py::test_run_every_method_on_the_device",
    "cgd.conjugate_gradient": "tests/test_device_cgd.py::"
    "test_krylov_solvers_keep_the_products_on_the_device",
    "cgd.gmres": "tests/test_device_cgd.py::test_krylov_solvers_keep_the_products_on_the_device",
    **{
        f"cgd.gan.GANGame.{name}": "tests/test_device_cgd.py::"
        "test_gan_gradients_and_products_on_the_device"
        for name in ("f", "grad_x_f", "grad_y_g", "dxy_f", "dyx_g", "dxx_f", "dyy_g")
    },
    "cgd.gan.train_gan": "tests/test_device_cgd.py::test_train_gan_a_few_steps_on_the_device",
    **{
        f"inrank.transformer.Transformer.{name}": "tests/test_device_inrank.py::"
        "test_transformer_forward_and_backward_on_the_device"
        for name in ("logits", "loss", "loss_and_gradients")
    },
    "inrank.transformer_train.train_transformer": "tests/test_device_inrank.py::"
    "test_transformer_training_steps_on_the_device",
    "inrank.train": "tests/test_device_inrank.py::test_front_doors_on_the_device",
    "inrank.algorithm.inrank": "tests/test_device_inrank.py::test_front_doors_on_the_device",
    "inrank.inrank_efficient": "tests/test_device_inrank.py::test_front_doors_on_the_device",
    "inrank.algorithm.full_rank_train": "tests/test_device_inrank.py::"
    "test_front_doors_on_the_device",
    "oracle.check": "tests/test_device_oracle.py::test_check_passes_outputs_computed_on_the_device",
    "pde.solve": "tests/test_device_pde.py::test_solve_front_door_keeps_the_device",
    "pde.gauss_newton": "tests/test_device_pde.py::test_gauss_newton_on_the_device",
    **{
        f"pde.{solver}.{method}": "tests/test_device_pde.py::test_solvers_keep_device_arrays"
        for solver in ("DenseSolver", "SparseSolver")
        for method in ("solve", "state", "evaluate")
    },
    **{
        f"pde.{name}": "tests/test_device_pde.py::test_system_and_measurement_methods_on_the_device"
        for name in (
            "CollocationSystem.check_weights CollocationSystem.combined "
            "CollocationSystem.weight_matrix Measurements.scaled Measurements.take "
            "SparseSolver.apply_big"
        ).split()
    },
    **{
        f"vecchia.{name}": "tests/test_device_vecchia.py::"
        "test_kl_cholesky_and_its_stages_on_the_device"
        for name in "kl_cholesky maximin_ordering kl_factor supernodal_kl_factor".split()
    },
    **{
        f"vecchia.{name}": "tests/test_device_vecchia.py::"
        "test_solves_and_likelihood_with_a_device_factor"
        for name in "solve apply_covariance log_likelihood logdet sample".split()
    },
    **{
        f"vecchia.{name}": "tests/test_device_noise.py::test_the_noise_path_stays_on_the_device"
        for name in "noisy_kl_cholesky noisy_posterior_mean".split()
    },
    **{
        f"vecchia.{name}": "tests/test_device_vecchia.py::test_prediction_on_the_device"
        for name in ("predict", "predict_variant")
    },
    **{
        f"vecchia.{name}": "tests/test_device_vecchia.py::"
        "test_dense_noise_measures_take_device_factors"
        for name in (
            "noisy_covariance woodbury_precision noisy_kl_divergences noisy_precision "
            "incomplete_cholesky"
        ).split()
    },
    **{
        f"cgd.{game}.{method}": "tests/test_device_cgd.py::"
        "test_game_methods_on_a_game_built_from_device_arrays"
        for game in ("BilinearGame", "QuadraticGame", "GeneralSumQuadraticGame")
        for method in (
            "f g grad_x_f grad_y_g dxy_f dyx_g dxx_f dyy_g dxy_f_matrix dyx_g_matrix".split()
        )
    },
    "cgd.Game.dxy_f_matrix": "tests/test_device_cgd.py::"
    "test_game_methods_on_a_game_built_from_device_arrays",
    "cgd.Game.dyx_g_matrix": "tests/test_device_cgd.py::"
    "test_game_methods_on_a_game_built_from_device_arrays",
    "vecchia.dense_inverse_cholesky": "tests/test_device_vecchia.py::"
    "test_dense_factor_and_divergence_on_the_device",
    "vecchia.Matern.__call__": "tests/test_device_vecchia.py::"
    "test_kernel_blocks_and_distances_on_the_device",
}

#: Why a stage runs on the host, by the longest matching name prefix.
HOST_REASONS = {
    "pde.CollocationSystem": "the check that the points are distinct and apart uses SciPy's "
    "KD-tree: one explicit copy of the points to the host; the system keeps the device "
    "arrays",
    "pde.measurement_ordering": "the maximin ordering runs on the host (SciPy's KD-tree); "
    "the order returns to the inputs' device",
    "pde.multiset_maximin_ordering": "the maximin ordering runs on the host (SciPy's "
    "KD-tree); the order and lengths return to the inputs' device",
    "pde.Measurements.take": "the spec's measurements are host arrays (a device index is "
    "checked on the host and applied where the measurements are); device measurements "
    "give device rows (the device test)",
    "pde.Solution.__call__": "the spec's solution is on the host, so device points are "
    "moved there; a solution computed on a device returns device values (the device test)",
    "vecchia.": "the integer structure (maximin ordering by SciPy's KD-tree, pattern, "
    "supernodes) is found on the host from one explicit copy of the points; the factor's "
    "kernel blocks, Cholesky factors and triangular solves run on the device, which the "
    "factor (a `cupyx.scipy.sparse` CSC matrix for CuPy) and the order return to",
    "vecchia.maximin_ordering": "the ordering runs on the host (SciPy's KD-tree); the order "
    "and lengths return to the points' device",
    "vecchia.maximin_ordering_brute_force": "checked and ordered on the host, like the fast "
    "ordering it defines; the order and lengths return to the points' device",
    "vecchia.conditional_maximin_ordering": "the ordering runs on the host (SciPy's "
    "KD-tree); the order and lengths return to the points' device",
    "vecchia.check_points": "returns the checked points on the host: they feed the KD-tree "
    "of the orderings and patterns",
    "vecchia.Pattern": "a pattern is integer structure, built and kept on the host (SciPy's "
    "KD-tree)",
    "vecchia.ball_pattern": "a pattern is integer structure, built and kept on the host "
    "(SciPy's KD-tree)",
    "vecchia.knn_pattern": "a pattern is integer structure, built and kept on the host "
    "(SciPy's KD-tree)",
    "vecchia.lower_triangle_pattern": "a pattern is integer structure, kept on the host: a "
    "device matrix's sparsity is copied there",
    "vecchia.Supernodes": "supernodes are integer structure, kept on the host",
    "vecchia.supernodes": "supernodes are integer structure, kept on the host",
    "vecchia.incomplete_cholesky": "the zero fill-in elimination is sequential sparse "
    "bookkeeping on SciPy structures: A is copied to the host and C returns to its device",
    "vecchia.noise_factor": "A = L Lᵀ + R⁻¹ is formed on the device; its incomplete "
    "Cholesky runs on the host (`incomplete_cholesky`) and C returns to the device",
    "vecchia.noisy_kl_cholesky": "L is factored on the device (`kl_cholesky`); the incomplete "
    "Cholesky of A runs on the host and C returns to the device",
    "vecchia.noisy_precision": "the noise variances are checked on the host (O(N)) and moved "
    "back; the product L Lᵀ + R⁻¹ is formed on the device",
    "vecchia.noisy_posterior_mean": "the noise variances and data are checked on the host "
    "(O(N)) and moved back; the triangular solves and CG run on the device",
    "vecchia.naive_kl_cholesky": "the baseline runs on the host (its noisy kernel looks up "
    "host noise by a tagged index); the factor and order return to the points' device",
    "vecchia.predict": "the orderings run on the host (SciPy's KD-tree); the factor and the "
    "triangular solves on the device, to which the mean and variance return",
    "vecchia.predict_variant": "a comparison of placements, computed on the host (P last "
    "needs SciPy's `cho_solve`, which cupyx lacks); the mean and variance return to the "
    "device",
    "vecchia.noisy_covariance": "a dense N × N diagnostic (LAPACK's triangular inverse) on "
    "host copies of the factors; the matrix returns to the device",
    "vecchia.woodbury_precision": "a dense N × N diagnostic (LAPACK's triangular inverse) on "
    "host copies of the factor; the matrix returns to the device",
    "vecchia.noisy_kl_divergences": "dense KL divergences (LAPACK's Cholesky and "
    "eigenvalues) on host copies of Θ and the factors",
    "vecchia.woodbury_kl_divergence": "dense KL divergences (LAPACK's Cholesky and "
    "eigenvalues) on host copies of Θ and the factors",
    "vecchia.expected_log_likelihood_error": "a dense score (LAPACK's Cholesky) on host "
    "copies of Θ and the factors",
    "vecchia.fit_hyperparameters": "the optimizer (SciPy's L-BFGS-B) and the likelihood it "
    "calls run on the host: the data are copied there; the fitted kernel and values are "
    "host objects",
    "vecchia.Kernel.__call__": "a user kernel's profile may be any host function: its "
    "distances are copied to the host and the block returns to the device",
    "vecchia.Matern.profile": "the Bessel route (ν not a half-integer) calls "
    "`scipy.special.kv`, which cupyx lacks: the distances go to the host and the values "
    "come back",
    "inrank.algorithm.inrank": "each rank check reads the update's singular values to the "
    "host (an integer decision); loss and rank histories are host records",
    "inrank.inrank_efficient": "each rank check reads the update's singular values to the "
    "host (an integer decision); loss and rank histories are host records",
    "inrank.algorithm.full_rank_train": "the loss history is a host record",
    "inrank.mlp.train_mlp": "the loss history is a host record",
    "inrank.train": "the loss history and the recorded steps are host records",
    "inrank.rank.select_rank": "the rank is an integer decision: the explained ratios are "
    "read to the host",
    "inrank.teacher": "the teacher's singular values and vectors are drawn on the host and "
    "returned there",
    "inrank.teacher_data": "the inputs are drawn on the host (the seed's stream), then "
    "moved to the target's device",
    "inrank.corpus.": "token ids are host data: checked and sampled on the host",
    "inrank.transformer_experiments.": "token ids and orders are host data",
    "inrank.transformer_train.": "the batches are cut on the host from host token ids, "
    "then moved to the parameters' device; loss histories are host records",
    **{
        f"cgd.{game}.{method}": "the game's own matrix: a game built from host arrays "
        "(as the spec builds it) returns it on the host; one built from device arrays "
        "returns device arrays (the device test)"
        for game in ("BilinearGame", "QuadraticGame", "GeneralSumQuadraticGame")
        for method in ("dxy_f_matrix", "dyx_g_matrix")
    },
    "cgd.check_step_arguments": "returns the game's parameters as given beside the checked "
    "device vectors",
    "backend.to_numpy": "the explicit copy to the host, by definition",
    "cgd.gan.train_gan": "the loss and norm histories are host records",
    "inrank.layers.LowRankUpdateLayer.with_factors": "the spec's layer holds host arrays; "
    "the factors given are kept on their device",
    "vecchia.VecchiaLikelihood": "the likelihood of the fitting loop (SciPy's L-BFGS-B) "
    "keeps its ordering, data and factors on the host",
}

#: Why a function's spec call does not run on device arguments, where no device test does.
NOT_RUN_REASONS = {
    "inrank.layers.": "the spec builds the layer from host arrays; a layer built from device "
    "arrays is exercised through `inrank.train` and the transformer's device tests",
    "inrank.backprop.": "the spec builds the layers from host arrays (see `inrank.layers`)",
    "inrank.attention.": "the spec's cached forward values are host arrays; the backward "
    "passes run on the device inside the transformer's device tests",
    "nn.Trace.backward": "the spec's trace holds host activations; the GAN's device tests "
    "run it on device arrays",
    "cgd.compare_methods": "the spec's game holds host arrays; it runs `cgd.run` per "
    "method, whose device test runs every method on a device game",
    "cgd.gan.GANGame.sample": "the spec's game holds host networks and data; the GAN's "
    "device tests sample on the device",
}

HEADER = "| function | on a device | host stage and why | device test |"


def _leaves(result, depth=0):
    """Arrays and scalars of a result: tuples, lists, dicts, dataclasses and objects walked."""
    if depth > 4:
        return []
    if isinstance(result, dict):
        return [leaf for value in result.values() for leaf in _leaves(value, depth + 1)]
    if isinstance(result, list | tuple):
        return [leaf for value in result for leaf in _leaves(value, depth + 1)]
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return [
            leaf
            for field in dataclasses.fields(result)
            for leaf in _leaves(getattr(result, field.name), depth + 1)
        ]
    if type(result).__module__.startswith("refimpl") and hasattr(result, "__dict__"):
        return [leaf for value in vars(result).values() for leaf in _leaves(value, depth + 1)]
    return [result]


def _to_device(value):
    """NumPy arrays, SciPy sparse matrices and lists of arrays on the stand-in; objects stay
    as the spec built them."""
    if isinstance(value, np.ndarray) and value.ndim > 0 and value.dtype.kind in "biuf":
        return standin.namespace.asarray(value)
    if scipy.sparse.issparse(value):
        return backend.to_device(value, like=standin.namespace.ones(1))
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return [_to_device(v) for v in value]
    return value


def _probe(spec, transfers) -> str:
    """What the spec's valid call does on device arguments (see the module docstring)."""
    valid = spec.valid()
    device = {key: _to_device(value) for key, value in valid.items()}
    if all(device[key] is valid[key] for key in valid):
        return "no array argument"
    transfers.clear()
    try:
        result = spec.call(**device)
    except Exception as exc:  # noqa: BLE001 - the row records what happened
        return f"not run: {type(exc).__name__}"
    leaves = _leaves(result)
    on_device = any(backend.is_device_array(leaf) for leaf in leaves)
    on_host = any(
        (isinstance(leaf, np.ndarray) and leaf.ndim > 0) or scipy.sparse.issparse(leaf)
        for leaf in leaves
    )
    stage = ", host stage" if transfers else ""
    if on_device and on_host:
        return "device and host arrays out" + stage
    if on_host:
        return "host arrays out"
    if on_device:
        return "device" + stage
    return "scalars out" + stage


def _reason(name: str, reasons: dict) -> str:
    prefixes = [p for p in reasons if name == p or (p.endswith(".") and name.startswith(p))]
    return reasons[max(prefixes, key=len)] if prefixes else ""


def measure(monkeypatch) -> list[tuple[str, str, str, str]]:
    """One row per spec: name, what runs on a device, the host reason, the device test."""
    transfers = []
    for cls in (standin.StandinArray, standin.StandinSparse):
        original = cls.get

        def counting(self, *args, _original=original, **kwargs):
            transfers.append(1)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "get", counting)
    rows = []
    for name in sorted(SPECS):
        verdict = _probe(SPECS[name], transfers)
        test = DEVICE_TESTS.get(name, "")
        if "host" in verdict:
            reason = _reason(name, HOST_REASONS)
        elif verdict.startswith("not run") and not test:
            reason = _reason(name, NOT_RUN_REASONS)
        else:
            reason = ""
        rows.append((name, verdict, reason, test))
    return rows


def render(rows) -> str:
    lines = [
        "# What runs where: the GPU table",
        "",
        "Generated by `tests/test_gpu_table.py` (`REFIMPL_WRITE_GPU_TABLE=1 python -m pytest "
        "tests/test_gpu_table.py`; the test fails when this file is stale). Each public "
        "function's contract-spec call is run with its NumPy array arguments on the strict "
        "CuPy stand-in (`tests/standin`), counting explicit copies to the host:",
        "",
        "- **device**: device arrays in give device arrays out, no copy to the host;",
        "- **device, host stage**: device arrays out, after a stage copied to the host and back;",
        "- **host arrays out**: device inputs are copied to the host at entry and the results "
        "are NumPy/SciPy arrays;",
        "- **scalars out**: the function returns numbers (or nothing), read from the device;",
        "- **no array argument**: nothing to move (arrays made from nothing follow the "
        "default backend);",
        "- **not run**: the spec's call raised on device arguments: where it builds host objects "
        "(games, layers, models) beside device vectors, the device test named runs the "
        "function on device arrays; otherwise the reason says what is not device-ready.",
        "",
        HEADER,
        "| --- | --- | --- | --- |",
    ]
    for name, verdict, reason, test in rows:
        test_cell = f"`{test}`" if test else ""
        lines.append(f"| `{name}` | {verdict} | {reason} | {test_cell} |")
    return "\n".join(lines) + "\n"


def test_gpu_table_is_fresh(monkeypatch):
    text = render(measure(monkeypatch))
    if os.environ.get("REFIMPL_WRITE_GPU_TABLE") == "1":
        TABLE.write_text(text, encoding="utf-8")
    committed = TABLE.read_text(encoding="utf-8") if TABLE.is_file() else ""
    assert committed == text, (
        "docs/contract/gpu_table.md is stale: regenerate it with "
        "REFIMPL_WRITE_GPU_TABLE=1 python -m pytest tests/test_gpu_table.py"
    )


def test_every_host_row_has_a_reason_and_every_failed_probe_a_device_test(monkeypatch):
    rows = measure(monkeypatch)
    missing = [name for name, verdict, reason, _ in rows if "host" in verdict and not reason]
    assert not missing, (
        f"rows with a host stage or host results need a HOST_REASONS entry: {missing}"
    )
    untested = [
        name
        for name, verdict, reason, test in rows
        if verdict.startswith("not run") and not (test or reason)
    ]
    assert not untested, (
        f"rows the sweep cannot run need a DEVICE_TESTS or NOT_RUN_REASONS entry: {untested}"
    )


@pytest.mark.parametrize("name", sorted(DEVICE_TESTS))
def test_device_tests_named_by_the_table_exist(name):
    assert name in SPECS, f"{name}: not a public name with a contract spec"
    reference = DEVICE_TESTS[name].removesuffix(" (xfail)")
    path, test = reference.split("::")
    source = (ROOT / path).read_text(encoding="utf-8")
    assert re.search(rf"^def {test}\(", source, re.M), f"{reference}: no such test"
    if DEVICE_TESTS[name].endswith("(xfail)"):
        before = source.split(f"def {test}(")[0].rsplit("\n\n", 1)[-1]
        assert "xfail(" in before and "strict=True" in before, f"{reference}: not xfail(strict)"
