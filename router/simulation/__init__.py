"""The simulator: the real engine on a virtual clock (docs/simulator.md)."""
