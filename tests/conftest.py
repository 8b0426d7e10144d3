"""Shared fixtures: the upstream simulator process (see tests/upstream_sim/README.md)."""

from tests.upstream_sim.fixtures import sim, sim_server

__all__ = ["sim", "sim_server"]
