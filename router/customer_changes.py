"""Customer changes that in-memory caches must hear about: merges, unmerges, erasures,
identities added or removed.

The caches (the intake's identity -> customer map and recent gateway message ids, the
desktop hub's replay buffers) are a fast path only; the database is the record. Whoever
changes a customer publishes a ``CustomerChange``; every listener in this process drops
what it holds about those customers and contacts. With several nodes the change also goes
to every node through Redis (``forward``, set by api/cluster/backend.py). A change carries
only opaque ids, never personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("centralino.customers")

MERGED = "merged"
UNMERGED = "unmerged"
ERASED = "erased"
CHANGED = "changed"  # identities added or removed
KINDS = frozenset({MERGED, UNMERGED, ERASED, CHANGED})


@dataclass(frozen=True, slots=True)
class CustomerChange:
    kind: str
    customer_ids: tuple[str, ...]
    contact_ids: tuple[str, ...] = ()
    chat_sessions: tuple[str, ...] = ()  # erased web chats (their Redis streams go too)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "customer_ids": list(self.customer_ids),
            "contact_ids": list(self.contact_ids),
            "chat_sessions": list(self.chat_sessions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CustomerChange:
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown customer change {kind!r}")
        return cls(
            kind,
            tuple(str(cid) for cid in data.get("customer_ids", ())),
            tuple(str(cid) for cid in data.get("contact_ids", ())),
            tuple(str(session) for session in data.get("chat_sessions", ())),
        )


def about_contact(event: dict[str, Any]) -> str | None:
    """The contact a desktop event is about, if any (to take an erased one out)."""
    contact = event.get("contact")
    found = contact.get("contact_id") if isinstance(contact, dict) else event.get("contact_id")
    return str(found) if found else None


Listener = Callable[[CustomerChange], None]
Forward = Callable[[CustomerChange], Awaitable[None]]


class CustomerChanges:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.forward: Forward | None = None

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def apply(self, change: CustomerChange) -> None:
        """Tell this process' caches (a change made here, or heard from another node)."""
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one broken cache must not keep the others stale
                log.exception("customer change listener failed")

    async def publish(self, change: CustomerChange) -> None:
        """A change made here: this process first, then every other node."""
        self.apply(change)
        if self.forward is not None:
            await self.forward(change)
