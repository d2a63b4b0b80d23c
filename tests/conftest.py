"""Shared test configuration: Hypothesis profiles and the ``gpu`` marker.

Profiles
--------
ci
    Derandomized, no example database, no deadline; chosen automatically when
    the environment variable ``CI`` is set.
dev
    The default: random examples, no deadline.
thorough
    Many examples, for deep runs: ``pytest --hypothesis-profile=thorough``.
"""

import os

import numpy as np
import pytest
import standin  # registers the strict CuPy stand-in as the device backend "standin"
from hypothesis import HealthCheck, settings

from refimpl import backend

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.register_profile(
    "thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu``-marked tests, with the reason, when CuPy has no GPU."""
    if not any("gpu" in item.keywords for item in items):
        return
    available, reason = backend.gpu_available()
    if available:
        return
    skip = pytest.mark.skip(reason=f"gpu test skipped: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(
    params=[
        pytest.param("numpy", id="numpy"),
        pytest.param("standin", id="standin"),
        pytest.param("cupy", id="cupy", marks=pytest.mark.gpu),
    ]
)
def xp(request):
    """The array module under test: NumPy and the strict CuPy stand-in always (see
    ``tests/standin``), CuPy on a GPU machine."""
    if request.param == "numpy":
        return np
    if request.param == "standin":
        return standin.namespace
    import cupy

    return cupy


@pytest.fixture
def rng():
    """A seeded generator, so every test is reproducible."""
    return np.random.default_rng(20261123)


def pytest_configure(config):
    """When CI tests the built wheel, make sure the installed package is the one under test."""
    if os.environ.get("REFIMPL_TEST_INSTALLED"):
        from pathlib import Path

        import refimpl

        package = Path(refimpl.__file__).resolve()
        if Path(config.rootpath).resolve() in package.parents:
            raise pytest.UsageError(
                f"REFIMPL_TEST_INSTALLED is set, but refimpl was imported from the source tree "
                f"({package}), not from the installed wheel"
            )
