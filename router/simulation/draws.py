"""Common random numbers: every draw is keyed by (seed, contact, purpose, n).

A draw is a pure function of its key, not of how many draws came before it. Two runs with
the same seed therefore see the same contacts (arrival times, handle times, patience,
emotion, redials...) whatever the routing does in between: a config change changes the
routing, never the traffic. A contact's key is stable across runs (``a3.17`` is the 17th
arrival of stream 3, ``a3.17r`` its repeat contact, ``a3.17d`` its redial, ``t42`` row 42
of a trace).
"""

from __future__ import annotations

import hashlib
import math

_SCALE = 2.0**-53
_HALF = 2.0**-54


class Draws:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._key = seed.to_bytes(16, "little", signed=True)

    def uniform(self, key: str, purpose: str, n: int = 0) -> float:
        """A uniform number in (0, 1), the same for the same (seed, key, purpose, n)."""
        digest = hashlib.blake2b(
            f"{key}|{purpose}|{n}".encode(), digest_size=8, key=self._key
        ).digest()
        return (int.from_bytes(digest, "little") >> 11) * _SCALE + _HALF

    def exponential(self, mean: float, key: str, purpose: str, n: int = 0) -> float:
        if mean <= 0:
            return 0.0
        return -mean * math.log(self.uniform(key, purpose, n))

    def chance(self, probability: float, key: str, purpose: str, n: int = 0) -> bool:
        return probability > 0 and self.uniform(key, purpose, n) < probability

    def between(self, low: float, high: float, key: str, purpose: str, n: int = 0) -> float:
        return low + (high - low) * self.uniform(key, purpose, n)
