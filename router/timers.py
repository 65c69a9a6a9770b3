"""The engine's own timer heap: pure data, fired by ``Engine.advance(now)``.

Timers are never cancelled; each carries what it is about, and the engine checks at firing
time whether it still applies (the offer still pending, the contact still waiting...).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import StrEnum


class TimerKind(StrEnum):
    OFFER_EXPIRY = "offer_expiry"  # subject: offer id
    STEP = "step"  # subject: contact id; detail: step index
    PREFERRED_WAIT = "preferred_wait"  # subject: contact id
    SKIP_EXPIRY = "skip_expiry"  # subject: contact id; detail: agent id
    WRAP_UP = "wrap_up"  # subject: contact id
    DISCONNECT = "disconnect"  # subject: agent id; detail: connection epoch
    STATE_LIMIT = "state_limit"  # subject: agent id; detail: state epoch
    HOLD = "hold"  # subject: contact id (a held contact routes again)
    OVERFLOW = "overflow"  # subject: contact id; detail: index of the queue's overflow rule


@dataclass(frozen=True, slots=True, order=True)
class Timer:
    when: float
    seq: int
    kind: TimerKind
    subject: str
    detail: str = ""


class Timers:
    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0

    def set(self, when: float, kind: TimerKind, subject: str, detail: str = "") -> None:
        self._seq += 1
        heapq.heappush(self._heap, Timer(when, self._seq, kind, subject, detail))

    def next_deadline(self) -> float | None:
        return self._heap[0].when if self._heap else None

    def pop_due(self, now: float) -> Timer | None:
        if self._heap and self._heap[0].when <= now:
            return heapq.heappop(self._heap)
        return None

    def __len__(self) -> int:
        return len(self._heap)
