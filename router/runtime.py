"""The live adapter around the pure engine: real clock, timers, persistence, listeners.

One writer: every engine call happens synchronously on the event loop through ``submit``,
so calls never interleave. A timer task sleeps until the engine's next deadline (or until
a call may have set an earlier one) and fires it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from router.customer_changes import CustomerChanges
from router.decisions import Abandoned, Completed, Decisions
from router.engine import Engine
from router.gathered_reads import GatheredReads
from router.models import NewContact, RoutePolicy
from router.outbox.events import EventBuilder
from router.recorder import Recorder
from router.states import FINISHED_STATES, RECEIVED, ContactState
from router.store.changes import Change
from router.store.errors import StoreError
from router.store.repository import Store
from router.store.schema import AgentRow, ContactRow
from skills.vocabulary import AgentProfile, Channel

log = logging.getLogger("centralino.runtime")

Listener = Callable[[float, Decisions], None]
Clock = Callable[[], float]


def profile_from_row(row: AgentRow) -> AgentProfile:
    return AgentProfile(
        agent_id=row.id,
        name=row.name,
        skills={str(k): int(v) for k, v in (row.skills or {}).items()},
        languages=frozenset(str(code) for code in (row.languages or [])),
        capacity={Channel(k): int(v) for k, v in (row.capacity or {}).items()},
    )


def new_contact_from_row(row: ContactRow) -> NewContact:
    return NewContact(
        contact_id=row.id,
        channel=Channel(row.channel),
        arrival=row.arrival,
        policy=RoutePolicy.from_dict(row.policy),
        customer_id=row.customer_id,
        language=row.language,
        urgency=row.urgency,
        history_boost=row.history_boost,
        preferred_agent=row.preferred_agent,
        transfers=row.transfers,
        excluded_agents=tuple(row.excluded_agents or ()),
    )


class RouterRuntime:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        clock: Clock = time.time,
        domain: str = "default",
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.domain = domain  # routing domain: the contacts this router loads and routes
        self.contexts: dict[str, dict[str, Any]] = {}  # live contact id -> offer context
        # agent id -> where gateways connect their calls ({"kind", "value"}), for events
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.events = EventBuilder(self.contexts.get, self.agent_card)
        self.recorder = Recorder(store, self.events.build)
        self.recorder.diverged_hook = self._realign_soon
        self.reloads = 0  # times the engine was rebuilt from the record after a failed write
        self._reloaded: list[Callable[[], None]] = []
        self._realigning: asyncio.Task[None] | None = None
        self.customer_changes = CustomerChanges()  # caches listen: merges, erasures...
        # desktop logins' token reads, gathered (router/gathered_reads.py)
        self.token_reads: GatheredReads[str, str | None] = GatheredReads(
            lambda tokens: self.store.agent_ids_by_tokens(tokens), "desktop tokens"
        )
        self._listeners: list[Listener] = []
        self.observe_latency: Callable[[float], None] | None = None
        # a desktop's action (its type) and the seconds until its ack or error was ready
        self.observe_ack: Callable[[str, float], None] | None = None
        # from a contact's arrival to an offer of it written to a desktop's socket, seconds
        self.observe_offer_sent: Callable[[float], None] | None = None
        self._wake = asyncio.Event()
        self._armed: float | None = None  # the deadline the timer loop's timer is set for
        self._timer_task: asyncio.Task[None] | None = None

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def on_reloaded(self, callback: Callable[[], None]) -> None:
        """Told after the engine was rebuilt from the record (desktops must log in again)."""
        self._reloaded.append(callback)

    async def _load(self) -> int:
        """The roster and every unfinished contact, from the record, into the engine."""
        now = self.clock()
        for row in await self.store.agents():
            self.engine.upsert_agent(profile_from_row(row), now)
            self.set_endpoint(row.id, row.endpoint)
        restored = 0
        for contact in await self.store.unfinished_contacts(self.domain):
            try:
                restored += self.adopt(contact)
            except (KeyError, ValueError, TypeError) as exc:  # one bad row must not stop it
                log.error("contact %s not restored, its row is incomplete: %r", contact.id, exc)
        return restored

    def _realign_soon(self) -> None:
        if self._realigning is None or self._realigning.done():
            self._realigning = asyncio.create_task(self._realign(), name="centralino-realign")

    async def _realign(self) -> None:
        """A decision the engine applied could not be committed, so the engine no longer
        matches the record: stop acknowledging (the recorder refuses) and rebuild the
        engine from the database, retrying while the database is away."""
        delay = 0.5
        while True:
            try:
                await self.recorder.flush()  # what was decided before is in or out for good
                await self.reload_from_store()
                return
            except StoreError as exc:
                log.error("cannot reload the routing state yet: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def reload_from_store(self) -> None:
        """Replace the engine with one rebuilt from the record (same rules)."""
        old = self.engine
        self.engine = Engine(old.config, id_prefix=f"o{uuid.uuid4().hex[:8]}")
        self.contexts.clear()
        restored = await self._load()
        self.reloads += 1
        self.recorder.realigned()
        log.warning("routing state reloaded from the database: %d live contacts", restored)
        for callback in self._reloaded:
            try:
                callback()
            except Exception:
                log.exception("reload listener failed")
        self._wake.set()

    async def start(self) -> None:
        """Load the roster and every unfinished contact, then start timers (the store's journal
        records what is decided)."""
        restored = await self._load()
        if restored:
            log.info("restored %d unfinished contacts", restored)
        self._timer_task = asyncio.create_task(self._timers(), name="centralino-timers")

    def adopt(self, contact: ContactRow) -> bool:
        """Route a stored, unfinished contact the engine does not know (at start, or one
        stored by a router that lost its lease before routing it); False if nothing to do."""
        if contact.state == RECEIVED:  # not planned yet: the intake plans it (route_received)
            return False
        if contact.id in self.engine.contacts or ContactState(contact.state) in FINISHED_STATES:
            return False
        if contact.domain != self.domain:  # another routing domain's router routes it
            return False
        self.contexts[contact.id] = offer_context(contact)
        state, agent_id = ContactState(contact.state), contact.agent_id
        self.submit(
            lambda now: self.engine.restore_contact(
                new_contact_from_row(contact), state, agent_id, now
            )
        )
        return True

    def set_endpoint(self, agent_id: str, endpoint: dict[str, Any] | None) -> None:
        if endpoint:
            self.endpoints[agent_id] = dict(endpoint)
        else:
            self.endpoints.pop(agent_id, None)

    def agent_card(self, agent_id: str) -> dict[str, Any]:
        """What a gateway is told of an agent: name and routing endpoint."""
        agent = self.engine.agents.get(agent_id)
        return {
            "name": agent.profile.name if agent is not None else "",
            "endpoint": self.endpoints.get(agent_id),
        }

    async def stop(self) -> None:
        if self._realigning is not None:
            self._realigning.cancel()
            await asyncio.gather(self._realigning, return_exceptions=True)
        if self._timer_task is not None:
            self._timer_task.cancel()
            await asyncio.gather(self._timer_task, return_exceptions=True)
            self._timer_task = None
        await self.token_reads.aclose()
        await self.recorder.stop()

    async def stored_contact(self, contact_id: str) -> ContactRow | None:
        """The contact's row including every decision made so far (read-your-writes)."""
        await self.recorder.flush()
        return await self.store.contact(contact_id)

    def submit(
        self, call: Callable[[float], Decisions], *, first: Sequence[Change] = ()
    ) -> Decisions:
        """Run one engine call at the current time and publish what it decided.
        ``first``: row changes recorded before the decisions, in the same unit (a
        contact's plan with the decisions that route it: both or neither)."""
        now = self.clock()
        started = time.perf_counter()
        decisions = call(now)
        if self.observe_latency is not None:
            self.observe_latency(time.perf_counter() - started)
        self._publish(now, decisions, first)
        return decisions

    def _publish(self, now: float, decisions: Decisions, first: Sequence[Change] = ()) -> None:
        if not decisions:
            self.recorder.write(list(first))
            self._timers_may_move()
            return
        self.recorder.record(now, decisions, first)
        for listener in self._listeners:
            try:
                listener(now, decisions)
            except Exception:  # a broken listener must not stop routing
                log.exception("decision listener failed")
        for decision in decisions:
            if isinstance(decision, Completed | Abandoned):
                self.contexts.pop(decision.contact_id, None)
        self._timers_may_move()

    def _timers_may_move(self) -> None:
        """After an engine call: wake the timer loop if the engine's next deadline is no
        longer the one the loop's timer is set for. The engine never cancels a timer, so
        only a call that sets an earlier one (or fires the first) moves it; most calls do
        not, and waking the loop after each of them cost a task switch."""
        if self.engine.next_deadline() != self._armed:
            self._wake.set()

    async def _timers(self) -> None:
        """Run the engine's timers (offer expiries, overflows...) when they fall due. One
        timer of the loop wakes this at the engine's next deadline (``_armed``), set again
        only when that deadline changes; an engine call that moves it wakes this too
        (``_timers_may_move``). ``asyncio.wait_for`` around the wait made a task and a
        timer at every engine call, three a contact."""
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def fire() -> None:
            self._armed = None  # (set again if the clock has not reached the deadline yet)
            self._wake.set()

        try:
            while True:
                deadline = self.engine.next_deadline()
                self._wake.clear()
                now = self.clock()
                if deadline is not None and deadline <= now:
                    self.submit(self.engine.advance)
                    continue
                if deadline != self._armed:
                    if timer is not None:
                        timer.cancel()
                    timer = None if deadline is None else loop.call_later(deadline - now, fire)
                    self._armed = deadline
                await self._wake.wait()
        finally:
            if timer is not None:
                timer.cancel()
            self._armed = None


def offer_context(row: ContactRow) -> dict[str, Any]:
    """What an agent sees with an offer, so the customer need not repeat themselves."""
    context = _context(row)
    if row.channel == Channel.VOICE.value:  # a call is answered on the phone: its details
        attributes, customer = row.attributes or {}, row.customer or {}
        context["call"] = {
            "call_id": row.external_id,
            "from": customer.get("phone") or attributes.get("caller"),
            "to": attributes.get("to"),
            "direction": attributes.get("direction"),
            "country": attributes.get("callercountry"),
        }
        context["transcript"] = []  # segments are added as they arrive (router/intake.py)
    return context


def _context(row: ContactRow) -> dict[str, Any]:
    return {
        "contact_id": row.id,
        "gateway": row.gateway,
        "external_id": row.external_id,
        "channel": row.channel,
        "arrival": row.arrival,
        "queue": row.queue,
        "rule": row.rule,
        "language": row.language,
        "intent": row.intent,
        "subject": row.subject,
        "text": row.text[:2000],
        "urgency": row.urgency,
        "transfers": row.transfers,
        "attributes": row.attributes,
        "customer": row.customer,
        "history": (row.triage or {}).get("history", []),
        "emotion": (row.triage or {}).get("emotion"),
        "moment_of_truth": bool((row.triage or {}).get("moment_of_truth")),
        "open_case": (row.triage or {}).get("open_case"),
        "profile": (row.triage or {}).get("profile"),
        "proposed_identities": (row.triage or {}).get("proposed_identities", []),
    }
