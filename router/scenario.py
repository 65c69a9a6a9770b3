"""Simulator scenarios (kept as an import path): see router/simulation/scenario.py."""

from router.simulation.scenario import (
    AgentGroup,
    Arrivals,
    Profile,
    Scenario,
    Shift,
    load_scenario,
)

__all__ = ["AgentGroup", "Arrivals", "Profile", "Scenario", "Shift", "load_scenario"]
