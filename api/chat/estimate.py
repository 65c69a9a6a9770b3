"""The customer's estimated wait: the median wait of the last chats answered in the same
queue (at least ``MIN_SAMPLES`` of them, else no estimate), less what this customer has
already waited, rounded up to half a minute. Sent as ``{"type": "wait", "seconds": N}``
once known: when the chat starts and when it goes back to a queue."""

from __future__ import annotations

import math
import statistics
from collections import deque

SAMPLES = 20
MIN_SAMPLES = 3
STEP = 30.0


class WaitEstimates:
    def __init__(self) -> None:
        self.recent: dict[str, deque[float]] = {}

    def answered(self, queue: str, waited: float) -> None:
        self.recent.setdefault(queue, deque(maxlen=SAMPLES)).append(max(0.0, waited))

    def estimate(self, queue: str, waited_so_far: float) -> float | None:
        samples = self.recent.get(queue)
        if samples is None or len(samples) < MIN_SAMPLES:
            return None
        left = statistics.median(samples) - waited_so_far
        return max(STEP, math.ceil(left / STEP) * STEP)
