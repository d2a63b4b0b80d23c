"""The numbers behind the inrank figures, checked against independent computations.

Each figure runs in quick mode into a temporary folder; its JSON is then compared with
a computation that does not go through the code that produced it: SciPy integration of
the mode ODE for the closed-form curves, NumPy energy ratios for the closed-form ranks,
and parameter counts written out by hand for the MLP comparison.
"""

import json

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from refimpl import figures as registry

FIGURES = {f.name: f for f in registry.discover() if f.topic == "inrank"}


@pytest.fixture(scope="module")
def figure_data(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path_factory.mktemp("inrank_figures")
    data = {}
    for name, figure in FIGURES.items():
        registry.load(figure)(out, quick=True)
        data[name] = json.loads((out / f"{name}.json").read_text())
    return data


def _aligned_spectrum(s, sigma, lr, steps):
    """|u_i(t) − σ³| from a SciPy integration of τ ȧ = a²(s − a³), τ = 1/lr (null modes too)."""
    out = []
    for si in s:
        sol = solve_ivp(
            lambda t, a, si=si: lr * a**2 * (si - a**3),
            (0.0, float(steps[-1])),
            [sigma],
            t_eval=np.asarray(steps, dtype=float),
            rtol=1e-12,
            atol=1e-15,
            method="LSODA",
        )
        out.append(np.abs(sol.y[0] ** 3 - sigma**3))
    return np.sort(np.array(out).T, axis=1)[:, ::-1]  # (R, n), descending


def test_staircase_closed_form_matches_ode_integration(figure_data):
    data = figure_data["inrank_staircase"]
    s = np.array(data["target_singular_values"])
    for run in data["runs"]:
        closed = np.array(run["closed_form_sv"])  # (R, n)
        n = closed.shape[1]
        s_all = np.concatenate([s, np.zeros(n - s.size)])
        reference = _aligned_spectrum(s_all, run["sigma"], data["lr"], run["steps"])
        # LSODA at rtol 1e-12; near a mode's fast rise the bisection's relative 1e-16
        # becomes an absolute error of ~|u̇| · δt: 1e-7 leaves room for both.
        np.testing.assert_allclose(closed, reference, rtol=1e-7, atol=1e-7)


def test_staircase_predicted_learning_steps_match_the_definition(figure_data):
    data = figure_data["inrank_staircase"]
    s = np.array(data["target_singular_values"])
    lr = data["lr"]
    for run in data["runs"]:
        sigma = run["sigma"]
        for si, predicted in zip(s, run["predicted_learning_steps"], strict=True):
            if predicted < 0:
                assert sigma**3 >= si / 2  # no prediction only where u0 ≥ s/2 already
                continue
            # integrate until u = a³ reaches s/2: the event time is the learning step
            event = lambda t, a, si=si: a[0] ** 3 - si / 2  # noqa: E731
            event.terminal = True
            sol = solve_ivp(
                lambda t, a, si=si: lr * a**2 * (si - a**3),
                (0.0, 10 * predicted + 10),
                [sigma],
                events=event,
                rtol=1e-12,
                atol=1e-15,
            )
            assert predicted == pytest.approx(sol.t_events[0][0], rel=1e-7)


def test_effective_rank_closed_form_ranks_match_numpy_energy_ratios(figure_data):
    data = figure_data["inrank_effective_rank"]
    staircase = figure_data["inrank_staircase"]  # the same runs (same seed and sizes)
    by_sigma = {run["sigma"]: run for run in staircase["runs"]}
    checked = 0
    for entry in data["ranks"]:
        run = by_sigma[entry["sigma"]]
        assert entry["steps"] == run["steps"]
        spectrum = np.array(run["closed_form_sv"])  # (R, n)
        energy = np.cumsum(spectrum**2, axis=1)
        total = energy[:, -1:]
        ratio = np.where(total > 0, energy / np.where(total > 0, total, 1.0), 1.0)
        # rank = smallest k ≥ 0 with ratio(k) > threshold, ratio(0) = 0 unless all zero
        ratio = np.concatenate([np.where(total > 0, 0.0, 1.0), ratio], axis=1)
        expected = np.argmax(ratio > entry["threshold"], axis=1)
        np.testing.assert_array_equal(entry["closed_energy"], expected)
        checked += 1
    assert checked == 2 * len(by_sigma)


def test_algorithm_counts_and_ranks(figure_data):
    data = figure_data["inrank_algorithm"]
    # W1: 64 × 32, W2: 8 × 64 (the MLP 32 → 64 → 8 of the figure)
    assert data["full"]["counts_full"]["trainable"] == 64 * 32 + 8 * 64
    efficient = data["efficient"]
    r1, r2 = efficient["ranks"][-1]
    assert efficient["counts_final"]["trainable"] == (64 + 32) * r1 + (8 + 64) * r2
    assert 1 <= r1 <= 16 and 1 <= r2 <= 4  # caps min(m, n) // 2
    before, after = efficient["truncation_loss"]
    assert np.isfinite(before) and np.isfinite(after)
    for key in ("inrank_variance", "inrank_energy"):
        ranks = np.array(data[key]["ranks"])
        assert np.all(np.diff(ranks, axis=0) >= 0)  # InRank's rank never decreases
