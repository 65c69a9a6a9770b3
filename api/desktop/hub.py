"""Delivery to agent desktops: one sequenced stream per agent, with a replay buffer.

The hub listens to engine decisions and turns those that concern an agent into events on
that agent's stream. A desktop that reconnects (same process) sends the stream id and the
last seq it saw and receives what it missed; if the buffer no longer reaches back that far
it gets a full state snapshot instead.

An event is serialized once, when it enters the stream: the replay buffer keeps its JSON
text (api/desktop/replay.py, bounded by events and by bytes) and the session sends that
text. Kept as trees of dicts and lists, the buffered offers were most of what a router
with 2,000 desktops added to its heap per contact (about 7 dicts and 5 lists:
bench/offer_latency.py on 2026-12-04, counted with ``gc.get_objects``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from functools import cache
from typing import Any, NamedTuple

import orjson

from api.desktop.protocol import (
    AssignedEvent,
    CompletedEvent,
    ContactUpdateEvent,
    MessageEvent,
    OfferEndedEvent,
    OfferEvent,
    PresenceEvent,
    ReassignedEvent,
    ReplyStatusEvent,
    ServerEvent,
    StateLimitEvent,
    SupervisorMessageEvent,
    TransferredEvent,
    WrapUpEvent,
)
from api.desktop.replay import DEFAULT_BYTES, DEFAULT_EVENTS, ReplayBuffer
from router.customer_changes import ERASED, CustomerChange, about_contact
from router.decisions import (
    Assigned,
    Completed,
    Decisions,
    Offered,
    OfferEnded,
    PresenceChanged,
    Rescored,
    StateLimitExceeded,
    Supervised,
    Transferred,
    WrapUpStarted,
)
from router.runtime import RouterRuntime


class Delivery(NamedTuple):
    """A message for a session to send: its JSON text. An event of an offer has ``offer``
    set and its contact's arrival (for /metrics' ``centralino_offer_sent_seconds``); a
    session's own reply has ``sent``, resolved once it is written."""

    text: str
    offer: bool = False
    arrival: float | None = None
    sent: asyncio.Future[None] | None = None


Outbox = asyncio.Queue[Delivery | None]  # None: a newer connection replaced this one
RELOADED = Delivery('{"type":"reloaded"}')  # told to a session, never sent
MAX_REPLIES_SHOWN = 20  # per live contact, in the state snapshot
REDACTED_KEEP = (
    "type",
    "seq",
    "offer_id",
    "contact_id",
    "channel",
    "expires_at",
    "outcome",
    "reason",
    "until",
    "ended_by",
    "resolved",
    "kind",
    "at",
    "target",
)


def redacted(message: dict[str, Any]) -> dict[str, Any]:
    """The event with the customer's data taken out (an erased customer)."""
    kept = {key: message[key] for key in REDACTED_KEEP if key in message}
    contact_id = about_contact(message)
    if "contact" in message:
        kept["contact"] = {"contact_id": contact_id, "erased": True}
    if "text" in message:
        kept["text"] = ""
    if "explanation" in message:
        kept["explanation"] = {}
    return {**kept, "erased": True}


@cache
def _type_of(kind: type[ServerEvent]) -> str:
    """The ``type`` an event model writes (its field's default)."""
    return str(kind.model_fields["type"].default)


def event_contact(event: ServerEvent) -> str | None:
    """The contact an event is about, if any: ``about_contact``'s rule, read from the
    event's fields instead of its JSON. (From the model's ``__dict__``, where pydantic
    keeps them: ``getattr`` with a default costs a pydantic ``__getattr__`` and an
    exception for an event without such a field, 3-7 µs against 0.4 µs an event.)"""
    return _contact_of(event.__dict__)


def _contact_of(fields: dict[str, Any]) -> str | None:
    return about_contact({"contact": fields.get("contact"), "contact_id": fields.get("contact_id")})


class AgentStream:
    def __init__(
        self, stream_id: str, buffer_size: int = DEFAULT_EVENTS, buffer_bytes: int = DEFAULT_BYTES
    ) -> None:
        self.stream_id = stream_id
        self.seq = 0
        self.buffer = ReplayBuffer(buffer_size, buffer_bytes)
        self.outbox: Outbox | None = None

    def push(self, event: ServerEvent) -> None:
        self.seq += 1
        event.seq = self.seq
        fields = event.__dict__
        self._enter(event.model_dump_json(), fields, isinstance(event, OfferEvent))

    def push_fields(self, kind: type[ServerEvent], fields: dict[str, Any]) -> None:
        """An event of ``kind`` from ``fields`` (its fields but ``seq`` and ``type``, in the
        model's order), its JSON written by orjson, not through a model validated only to
        be dumped (an offer about 1.5 against 9 µs; four events a contact). For the events
        made from the router's own decisions, whose fields are plain JSON: what orjson
        will not write goes through the model (tests/api/desktop/test_hub.py holds the two
        to the same text)."""
        try:
            text = orjson.dumps({"seq": self.seq + 1, "type": _type_of(kind), **fields})
        except TypeError:
            self.push(kind(**fields))
            return
        self.seq += 1
        self._enter(text.decode(), fields, kind is OfferEvent)

    def _enter(self, text: str, fields: dict[str, Any], offer: bool) -> None:
        """The event's text into the replay buffer (with the contact it is about) and,
        when a desktop is attached, its outbox (an offer with its contact's arrival, for
        /metrics' offer-sent time)."""
        self.buffer.append(self.seq, _contact_of(fields), text)
        if self.outbox is None:
            return
        if offer:
            arrival = fields["contact"].get("arrival")
            arrival = arrival if isinstance(arrival, float) else None
            self.outbox.put_nowait(Delivery(text, offer=True, arrival=arrival))
        else:
            self.outbox.put_nowait(Delivery(text))

    def missed_since(self, after_seq: int) -> list[str] | None:
        """The events after ``after_seq``, as JSON; None when some of them are no longer
        buffered."""
        if after_seq > self.seq:
            return None
        if after_seq == self.seq:
            return []
        return self.buffer.since(after_seq)

    def redact(self, contacts: set[str]) -> None:
        """Take these contacts' customer data out of the buffered events, in place (a
        desktop resuming still gets every seq)."""
        self.buffer.rewrite(
            contacts, lambda text: json.dumps(redacted(json.loads(text)), separators=(",", ":"))
        )


class DesktopHub:
    def __init__(
        self,
        runtime: RouterRuntime,
        buffer_size: int = DEFAULT_EVENTS,
        buffer_bytes: int = DEFAULT_BYTES,
    ) -> None:
        self.runtime = runtime
        self.boot_id = uuid.uuid4().hex[:12]
        self.buffer_size = buffer_size
        self.buffer_bytes = buffer_bytes
        self.streams: dict[str, AgentStream] = {}
        self.replies: dict[str, dict[str, dict[str, Any]]] = {}  # live contact -> replies
        runtime.listen(self.on_decisions)
        runtime.customer_changes.listen(self.forget_customers)
        runtime.on_reloaded(self.restart_sessions)

    def buffered(self) -> tuple[int, int]:
        """Events and bytes the agents' replay buffers hold now (for /metrics)."""
        buffers = [stream.buffer for stream in self.streams.values()]
        return sum(map(len, buffers)), sum(buffer.size for buffer in buffers)

    def forget_customers(self, change: CustomerChange) -> None:
        """An erased customer's contacts leave the replay buffers (redacted in place, so
        a desktop resuming still gets every seq)."""
        if change.kind != ERASED:
            return
        contacts = set(change.contact_ids)
        for stream in self.streams.values():
            stream.redact(contacts)

    async def prepare(self, agent_ids: list[str]) -> None:
        """Get ready to number the events of these agents (before the first decision)."""

    def stream(self, agent_id: str) -> AgentStream:
        stream = self.streams.get(agent_id)
        if stream is None:
            stream = self.streams[agent_id] = self._new_stream(agent_id)
        return stream

    def _new_stream(self, agent_id: str) -> AgentStream:
        return AgentStream(f"{self.boot_id}:{agent_id}", self.buffer_size, self.buffer_bytes)

    def attach(self, agent_id: str, outbox: Outbox) -> tuple[AgentStream, Outbox | None]:
        """Route the agent's events to this outbox; returns the outbox it replaced, if any."""
        stream = self.stream(agent_id)
        previous, stream.outbox = stream.outbox, outbox
        return stream, previous

    def detach(self, agent_id: str, outbox: Outbox) -> bool:
        """Stop delivering to this outbox; False if a newer connection had replaced it."""
        stream = self.streams.get(agent_id)
        if stream is None or stream.outbox is not outbox:
            return False
        stream.outbox = None
        return True

    def restart_sessions(self) -> None:
        """The engine was rebuilt from the record: every desktop logs in again, to a new
        stream (nothing of the old one can be resumed)."""
        self.boot_id = uuid.uuid4().hex[:12]
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if stream.outbox is not None:
                stream.outbox.put_nowait(RELOADED)

    def on_decisions(self, now: float, decisions: Decisions) -> None:
        contexts = self.runtime.contexts
        for decision in decisions:
            # the five events of every contact: fields in their models' order (push_fields)
            if isinstance(decision, Offered):
                context = contexts.get(decision.contact_id, {"contact_id": decision.contact_id})
                self.stream(decision.agent_id).push_fields(
                    OfferEvent,
                    {
                        "offer_id": decision.offer_id,
                        "contact": context,
                        "channel": decision.channel.value,
                        "expires_at": float(decision.expires_at),
                        "explanation": decision.explanation,
                    },
                )
            elif isinstance(decision, OfferEnded):
                self.stream(decision.agent_id).push_fields(
                    OfferEndedEvent,
                    {
                        "offer_id": decision.offer_id,
                        "contact_id": decision.contact_id,
                        "outcome": decision.outcome.value,
                        "reason": decision.reason,
                    },
                )
            elif isinstance(decision, Assigned):
                self.stream(decision.agent_id).push_fields(
                    AssignedEvent,
                    {"contact_id": decision.contact_id, "offer_id": decision.offer_id},
                )
            elif isinstance(decision, WrapUpStarted):
                self.stream(decision.agent_id).push_fields(
                    WrapUpEvent,
                    {
                        "contact_id": decision.contact_id,
                        "until": float(decision.until),
                        "ended_by": decision.ended_by,
                    },
                )
            elif isinstance(decision, Completed):
                self.replies.pop(decision.contact_id, None)
                self.stream(decision.agent_id).push_fields(
                    CompletedEvent,
                    {
                        "contact_id": decision.contact_id,
                        "outcome": decision.outcome,
                        "resolved": decision.resolved,
                    },
                )
            elif isinstance(decision, Transferred):
                self.stream(decision.from_agent).push(
                    TransferredEvent(contact_id=decision.contact_id, target=decision.target)
                )
            elif isinstance(decision, Rescored) and decision.agent_id is not None:
                context = contexts.get(decision.contact_id, {"contact_id": decision.contact_id})
                self.stream(decision.agent_id).push(ContactUpdateEvent(contact=context))
            elif isinstance(decision, PresenceChanged):
                self.stream(decision.agent_id).push(
                    PresenceEvent(
                        presence=decision.presence.value,
                        reason=decision.reason,
                        code=decision.code,
                        since=decision.since,
                        forced_by=decision.forced_by,
                    )
                )
            elif isinstance(decision, Supervised) and decision.was_assigned:
                self.stream(decision.from_agent or "").push(
                    ReassignedEvent(
                        contact_id=decision.contact_id,
                        to=decision.to_agent or "queue",
                        by=decision.by,
                        reason=decision.reason,
                    )
                )
            elif isinstance(decision, StateLimitExceeded):
                self.stream(decision.agent_id).push(
                    StateLimitEvent(code=decision.code, since=decision.since, limit=decision.limit)
                )

    def supervisor_message(self, agent_id: str, text: str, sender: str) -> None:
        """A supervisor's message onto the agent's stream (replayed on resume like any event)."""
        self.stream(agent_id).push(
            SupervisorMessageEvent(text=text, sender=sender, at=self.runtime.clock())
        )

    def reply_status(self, agent_id: str, view: dict[str, Any]) -> None:
        """Tell the agent what came of a reply it sent through the outbox (and keep it for
        the state snapshot while the contact is live)."""
        if view["contact_id"] in self.runtime.engine.contacts:
            replies = self.replies.setdefault(view["contact_id"], {})
            replies[view["reply_id"]] = view
            while len(replies) > MAX_REPLIES_SHOWN:
                del replies[next(iter(replies))]
        self.stream(agent_id).push(ReplyStatusEvent(**view))

    def notify_message(
        self,
        contact_id: str,
        text: str,
        kind: str,
        attachments: list[dict[str, Any]] | None = None,
    ) -> None:
        """Pass a customer's new message to the agent offered or holding the contact."""
        engine = self.runtime.engine
        contact = engine.contacts.get(contact_id)
        if contact is None:
            return
        offer = engine.offers.get(contact.offer_id or "")
        holder = offer.agent_id if offer is not None else contact.agent_id
        if holder is not None:
            self.stream(holder).push(
                MessageEvent(
                    contact_id=contact_id,
                    text=text,
                    kind=kind,
                    at=self.runtime.clock(),
                    attachments=attachments or [],
                )
            )

    def agent_state(self, agent_id: str) -> dict[str, Any]:
        """Everything the desktop must show now: presence, pending offers, contacts held."""
        engine = self.runtime.engine
        agent = engine.agents[agent_id]
        contexts = self.runtime.contexts
        offers = [
            {
                "offer_id": offer.offer_id,
                "channel": offer.channel.value,
                "expires_at": offer.expires_at,
                "contact": contexts.get(offer.contact_id, {"contact_id": offer.contact_id}),
            }
            for offer in agent.offers.values()
        ]
        held = []
        for contact_ids in agent.load.values():
            for contact_id in sorted(contact_ids):
                contact = engine.contacts.get(contact_id)
                if contact is not None and contact.agent_id == agent_id:
                    held.append(
                        {
                            "state": contact.state.value,
                            "contact": contexts.get(contact_id, {"contact_id": contact_id}),
                            "replies": list(self.replies.get(contact_id, {}).values()),
                        }
                    )
        return {
            "presence": agent.presence.value,
            "reason": agent.presence_reason,
            "code": agent.presence_code,
            "since": agent.presence_since,
            "forced_by": agent.forced_by,
            "reasons": {
                code: spec.label or code
                for code, spec in engine.config.agent_states.reasons.items()
            },
            "offers": offers,
            "contacts": held,
        }
