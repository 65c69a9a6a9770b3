"""Reception: the first half of intake, which needs no routing state.

A normalized inbound contact is triaged (language, emotion, intent) and its customer found
or created from its identities. This half runs on whichever node received the request;
the second half (history, rules, the engine: router/intake.py) runs where the decisions
are. Either way this half stores the contact as ``received`` with its customer in one
commit (what a 202 waits for), and the plan is written later with the decisions that
route it. With one process both halves run in one call; with several nodes on PostgreSQL
the receiving node runs this one and the active router the other
(api/cluster/node_intake.py, docs/cluster.md).

``Received`` travels between the two halves inside the contact row (``triage.received``),
so the router can plan a contact from its row alone: from the node's command, at take-over,
or when a command was lost with a node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from channels.contact import CustomerRef, InboundContact
from router.customer_changes import ERASED, MERGED, CustomerChange
from router.rules.model import RoutingConfig
from router.states import RECEIVED
from router.store.received import ReceivedContacts
from router.store.schema import ContactRow
from router.store.take_batch import Taken
from skills.emotion import EmotionScore
from skills.identity import Identity
from skills.triage import Triager, TriageResult
from skills.vocabulary import Channel

RECENT_MESSAGE_IDS = 100_000
KNOWN_IDENTITIES = 100_000

Publish = Callable[[CustomerChange], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Received:
    inbound: InboundContact
    triage: TriageResult
    identities: list[Identity]
    customer_id: str | None
    known_customer: bool  # the customer existed before (so history may exist)
    linked: tuple[str, ...] = ()  # customers merged into this one by this contact
    prefer_agent: str | None = None  # offer it first to this agent (a reply to their email)

    def as_dict(self) -> dict[str, Any]:
        """What the router needs beyond the row's own columns (kept in ``triage``)."""
        triage, emotion = self.triage, self.triage.emotion
        return {
            "language_source": triage.language_source,
            "emotion": {
                "urgency": emotion.urgency,
                "label": emotion.label,
                "negative": emotion.negative,
                "positive": emotion.positive,
                "signals": list(emotion.signals),
                "source": emotion.source,
            },
            "intent_source": triage.intent_source,
            "intent_phrase": triage.intent_phrase,
            "moment_of_truth": triage.moment_of_truth,
            "intent_urgency": triage.intent_urgency,
            "extra_skills": triage.extra_skills,
            "identities": [[identity.kind, identity.value] for identity in self.identities],
            "known_customer": self.known_customer,
            "linked": list(self.linked),
            "prefer_agent": self.prefer_agent,
        }


def received_from_row(row: ContactRow) -> Received:
    """The reception of a contact a node stored (state ``received``)."""
    data: dict[str, Any] = (row.triage or {}).get(RECEIVED) or {}
    emotion = data.get("emotion") or {}
    customer = dict(row.customer or {})
    inbound = InboundContact(
        gateway=row.gateway,
        external_id=row.external_id,
        channel=Channel(row.channel),
        customer=CustomerRef(
            id=customer.get("id"),
            name=str(customer.get("name") or ""),
            email=customer.get("email"),
            phone=customer.get("phone"),
            handles=dict(customer.get("handles") or {}),
            verified=bool(customer.get("verified", True)),
        ),
        language=row.language,
        intent=row.intent,
        subject=row.subject,
        text=row.text,
        attributes=dict(row.attributes or {}),
        customer_id=row.customer_id,
    )
    triage = TriageResult(
        row.language,
        str(data.get("language_source", "stored")),
        EmotionScore(
            float(emotion.get("urgency", row.urgency)),
            str(emotion.get("label", "neutral")),
            float(emotion.get("negative", 0.0)),
            float(emotion.get("positive", 0.0)),
            tuple(emotion.get("signals", ())),
            str(emotion.get("source", "text")),
        ),
        row.intent,
        str(data.get("intent_source", "stored")),
        data.get("intent_phrase"),
        bool(data.get("moment_of_truth", False)),
        float(data.get("intent_urgency", 0.0)),
        {str(k): int(v) for k, v in (data.get("extra_skills") or {}).items()},
    )
    return Received(
        inbound,
        triage,
        [Identity(str(kind), str(value)) for kind, value in data.get("identities", [])],
        row.customer_id,
        bool(data.get("known_customer", row.customer_id is not None)),
        tuple(str(cid) for cid in data.get("linked", [])),
        data.get("prefer_agent"),
    )


def received_values(received: Received, contact_id: str, domain: str, now: float) -> dict[str, Any]:
    """The row a node stores for a contact the router will plan (queue and policy empty)."""
    inbound, triage = received.inbound, received.triage
    return {
        "id": contact_id,
        "domain": domain,
        "gateway": inbound.gateway,
        "external_id": inbound.external_id,
        "channel": inbound.channel.value,
        "customer_id": received.customer_id,
        "customer": inbound.customer.as_dict(),
        "language": triage.language,
        "intent": triage.intent,
        "subject": inbound.subject,
        "text": inbound.text,
        "attributes": inbound.attributes,
        "urgency": float(triage.urgency),
        "history_boost": 0.0,
        "preferred_agent": None,
        "queue": "",
        "rule": "",
        "policy": {},
        "triage": {RECEIVED: received.as_dict()},
        "state": RECEIVED,
        "arrival": now,
        "updated_at": now,
    }


class Reception:
    """Triage and customer identification, with this process' fast-path caches."""

    def __init__(self, store: ReceivedContacts, config: RoutingConfig, publish: Publish):
        self.store = store
        self.publish = publish  # a merge made here: every cache on every node must hear it
        self.use_config(config)
        self._recent: dict[tuple[str, str], str] = {}
        # (kind, value) -> customer, a fast path only. Keyed by a tuple of two strings, not
        # the Identity: the collector stops tracking such a tuple the first time it sees
        # it, while each of 100,000 Identity objects would be walked by every collection
        self._owners: dict[tuple[str, str], str] = {}
        self._forgotten = 0  # customer changes heard so far (a resolve racing one is not cached)

    def use_config(self, config: RoutingConfig) -> None:
        self.config = config
        self.triager = Triager(config)

    def triage(self, inbound: InboundContact) -> tuple[TriageResult, list[Identity]]:
        """Language, emotion and intent; the contact's identities (IntakeError if bad)."""
        identities = inbound.customer.identities(inbound.gateway, self.config.triage.default_region)
        triage = self.triager.triage(
            text=inbound.text,
            subject=inbound.subject,
            language=inbound.language,
            language_hint=inbound.language_hint,
            intent=inbound.intent,
            sentiment=inbound.sentiment,
            urgency=inbound.urgency,
        )
        return triage, identities

    async def take(
        self,
        inbound: InboundContact,
        contact_id: str,
        domain: str,
        now: float,
        prefer_agent: str | None = None,
        threads: Sequence[str] = (),
    ) -> tuple[Received, Taken]:
        """Triage the contact, then store it as ``received`` with its customer (found or
        created) and its ``threads`` keys pointed at it, in the same commit.
        ``Taken.created`` False: the message id was stored before; nothing was written.
        Raises IntakeError for a bad identity, StoreError."""
        triage, identities = self.triage(inbound)
        customer_id, known = inbound.customer_id, inbound.customer_id is not None
        if customer_id is None and identities:
            customer_id = self._owner(identities)  # all known, all one customer: no lookup
            known = customer_id is not None
        received = Received(inbound, triage, identities, customer_id, known, (), prefer_agent)
        values = received_values(received, contact_id, domain, now)
        resolve = identities if customer_id is None else []
        heard = self._forgotten
        taken = await self.store.take(values, resolve, inbound.customer.name, now, threads)
        resolved = taken.customer
        if resolved is None:
            return received, taken
        linked = resolved.merged
        if linked:  # other nodes' caches still map the merged customers' identities
            await self.publish(CustomerChange(MERGED, (resolved.customer_id, *linked)))
        if heard == self._forgotten:  # no change heard meanwhile that could make it stale
            self._own(identities, resolved.customer_id)
        received = Received(
            inbound, triage, identities, resolved.customer_id, resolved.known, linked, prefer_agent
        )
        return received, taken

    def recent(self, gateway: str, external_id: str) -> str | None:
        """The contact a recent gateway message id made here, if this process remembers."""
        return self._recent.get((gateway, external_id))

    def remember(self, gateway: str, external_id: str, contact_id: str) -> None:
        """Recent gateway message ids -> contact: a retry is answered without an insert.
        A fast path only: the unique constraint decides what is a duplicate."""
        self._recent[(gateway, external_id)] = contact_id
        if len(self._recent) > RECENT_MESSAGE_IDS:
            del self._recent[next(iter(self._recent))]

    def _owner(self, identities: list[Identity]) -> str | None:
        owners = {self._owners.get((identity.kind, identity.value)) for identity in identities}
        if len(owners) != 1:
            return None
        (owner,) = owners
        return owner

    def _own(self, identities: list[Identity], customer_id: str) -> None:
        for identity in identities:
            key = (identity.kind, identity.value)
            self._owners.pop(key, None)  # re-inserted last: the newest are kept
            self._owners[key] = customer_id
        while len(self._owners) > KNOWN_IDENTITIES:
            del self._owners[next(iter(self._owners))]

    def forget_customers(self, change: CustomerChange) -> None:
        """A customer merged, unmerged, changed or erased (here or on another node): drop
        what the caches hold about them; the next contact asks the database."""
        self._forgotten += 1
        customers = set(change.customer_ids)
        for key in [k for k, owner in self._owners.items() if owner in customers]:
            del self._owners[key]
        if change.kind == ERASED:
            contacts = set(change.contact_ids)
            for key in [k for k, contact_id in self._recent.items() if contact_id in contacts]:
                del self._recent[key]
