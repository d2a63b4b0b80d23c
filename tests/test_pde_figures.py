"""The numbers in the pde figures' JSON against independent computations."""

import json

import numpy as np

from refimpl import figures as registry
from refimpl.pde import NonlinearElliptic, cole_hopf


def _make(name, tmp_path):
    figure = next(f for f in registry.discover() if f.name == name)
    registry.load(figure)(tmp_path, quick=True)
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_solution_figure_numbers_match_the_exact_solutions(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    data = _make("pde_solution", tmp_path)
    burgers = data["burgers"]
    truth = cole_hopf(np.array(burgers["x"]), burgers["T"], burgers["nu"])
    np.testing.assert_allclose(burgers["truth"], truth, rtol=0, atol=1e-13)
    gap = np.abs(np.array(burgers["values"]) - truth).max()
    assert gap <= burgers["max"] + 1e-15
    elliptic = data["elliptic"]
    exact = NonlinearElliptic().truth(np.array(elliptic["sample_points"]))
    assert np.abs(np.array(elliptic["sample_values"]) - exact).max() <= elliptic["max"] + 1e-15
