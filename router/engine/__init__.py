"""The routing engine (see router/engine/core.py)."""

from router.engine.core import Engine

__all__ = ["Engine"]
