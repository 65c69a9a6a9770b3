"""The simulator's event queue entries, and what each contact brought with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Kind(IntEnum):
    SHIFT_START = 0
    BREAK_END = 1
    READY = 2
    ARRIVAL = 3
    CALLER = 4
    RING = 5
    DONE = 6
    WRAPPED = 7
    ABANDON = 8
    BREAK_START = 9
    SHIFT_END = 10


@dataclass
class Drawn:
    handle_time: float | None = None  # of its first assignment
    patience: float | None = None
    resolved: bool | None = None


@dataclass(order=True)
class Event:
    at: float
    seq: int
    kind: Kind = field(compare=False)
    subject: Any = field(compare=False)
