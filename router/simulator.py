"""The simulator (kept as an import path): see router/simulation/."""

from router.simulation.loop import Simulation, simulate
from router.simulation.metrics import Report

__all__ = ["Report", "Simulation", "simulate"]
