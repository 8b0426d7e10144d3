"""Shared fixtures: the upstream simulator process (see tests/upstream_sim/README.md)."""

import pytest

from agent import o200k
from tests.upstream_sim.fixtures import sim, sim_server

__all__ = ["sim", "sim_server"]


@pytest.fixture(scope="session", autouse=True)
def _vocabulary_loaded() -> None:
    """Load the o200k vocabulary once, before any test counts tokens: its 0.4 s would
    otherwise fall into the first timed example of a property test."""
    o200k.encoding()
