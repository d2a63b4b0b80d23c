"""Each cgd figure's numbers (its JSON, written in quick mode) against closed forms.

The closed forms are derived in docs/derivations/cgd.md, Section 7: on f = αxy CGD
contracts ‖z‖ by exactly 1/√(1 + η²α²) per step and GDA grows it by √(1 + η²α²); on
α(x² − y²) GDA multiplies z by 1 − 2ηα; on the ICR game x² + 10xy + y² the spectral
radii are √0.9264, √1.24 (GDA) and √0.792 (CGD, η_x = η_y = 0.05).
"""

import json

import numpy as np
import pytest

from refimpl import figures as registry

NAMES = ("cgd_bilinear", "cgd_spectral_radius", "cgd_quadratic_games")
FIGURES = {f.name: f for f in registry.discover() if f.name in NAMES}


def test_the_three_figures_are_registered():
    assert sorted(FIGURES) == sorted(NAMES)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path_factory.mktemp("cgd_figures")
    loaded = {}
    for name, figure in FIGURES.items():
        registry.load(figure)(out, quick=True)
        loaded[name] = json.loads((out / f"{name}.json").read_text())
    return loaded


def test_bilinear_distances_follow_the_closed_form(data):
    d = data["cgd_bilinear"]
    eta, steps = d["eta"], d["steps"]
    k = np.arange(steps + 1)
    for alpha in d["alphas"]:
        runs = d[f"alpha={alpha:g}"]
        z0 = np.hypot(*d["start"])
        factor = 1 + (eta * alpha) ** 2
        # Each step is a scaled rotation: only rounding, a few ulps per step.
        np.testing.assert_allclose(runs["cgd"]["distance"], z0 * factor ** (-k / 2), rtol=1e-12)
        np.testing.assert_allclose(runs["gda"]["distance"], z0 * factor ** (k / 2), rtol=1e-12)


def test_spectral_radius_lines_and_markers_match_the_closed_form(data):
    d = data["cgd_spectral_radius"]
    eta_alpha = np.array(d["eta_alpha"])
    np.testing.assert_allclose(
        d["closed_form"]["cgd"], 1 / np.sqrt(1 + eta_alpha**2), rtol=4 * np.finfo(float).eps
    )
    np.testing.assert_allclose(d["closed_form"]["gda"], np.sqrt(1 + eta_alpha**2), rtol=1e-15)
    markers = np.array(d["marker_eta_alpha"])
    # measured over K/2 steps of an exact scaled rotation: rounding only
    np.testing.assert_allclose(d["measured"]["cgd"], 1 / np.sqrt(1 + markers**2), rtol=1e-12)
    np.testing.assert_allclose(d["measured"]["gda"], np.sqrt(1 + markers**2), rtol=1e-12)
    # every marker has a measurement, overflowing runs included (on their finite part)
    for method, values in d["measured"].items():
        assert all(isinstance(v, float) and np.isfinite(v) for v in values), method
        assert min(d["measured_steps"][method]) >= 2, method


def test_quadratic_games_follow_the_closed_forms(data):
    d = data["cgd_quadratic_games"]
    icr = d["icr"]
    assert icr["gda_0.09_0.01"]["spectral_radius"] == pytest.approx(0.9264**0.5, rel=1e-12)
    assert icr["gda_0.05_0.05"]["spectral_radius"] == pytest.approx(1.24**0.5, rel=1e-12)
    assert icr["cgd_0.05_0.05"]["spectral_radius"] == pytest.approx(0.792**0.5, rel=1e-12)
    # On α(x² − y²) GDA multiplies z by 1 − 2ηα (no mixed term).
    k = np.arange(d["steps"] + 1)
    factor = abs(1 - 2 * d["eta"] * d["alpha"])
    np.testing.assert_allclose(d["plus"]["gda"], np.hypot(0.5, 0.5) * factor**k, rtol=1e-12)
