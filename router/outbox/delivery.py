"""Delivering the outbox: one worker per active subscription, at least once, in order per
contact.

A worker reads the committed events after its cursor (a batch of up to ``BATCH``), sends
each contact's events one after another (contacts in parallel, up to ``PARALLEL``), and
moves its cursor past the batch only when every event in it is delivered or given up on.
A crash in between re-sends part of a batch: receivers dedupe by the event id. An event
that fails for a passing reason (no answer, 5xx, 429) is retried with backoff (doubling,
capped) while other contacts' events go on; a permanent refusal (other 4xx) is recorded as
the subscription's last error and the event is skipped; 410 Gone disables the
subscription. Workers wake when the recorder commits, and poll once a second anyway.

Waits with a deadline use ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11
``wait_for`` returns the awaited result when its task is cancelled as that result
arrives, and the cancel is lost. A worker told to stop as a commit woke it went on
delivering, and ``stop`` waited for it forever (tests/router/outbox/test_delivery.py). The
sockets' first-message waits (desktop, wallboard, web chat) and the wallboards' refresh
waits use it for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.outbox.sinks import DeliveryFailed, Sink, SinkFactory
from router.outbox.store import OutboxStore, StoredEvent
from router.store.errors import StoreError
from router.store.schema import SubscriptionRow

log = logging.getLogger("centralino.outbox")

BATCH = 100
PARALLEL = 8
POLL = 1.0


@dataclass(frozen=True, slots=True)
class Backoff:
    first: float = 0.5
    most: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.most, self.first * 2 ** max(0, attempt - 1)))


@dataclass
class WorkerState:
    retrying: int = 0  # events waiting for a retry right now
    last_error: str = ""
    dropped: int = 0
    sent: int = 0
    attempts: dict[str, int] = field(default_factory=dict)


class Worker:
    def __init__(
        self, outbox: OutboxStore, row: SubscriptionRow, sink: Sink, backoff: Backoff
    ) -> None:
        self.outbox = outbox
        self.id = row.id
        self.types = frozenset(str(t) for t in row.types or ())
        self.cursor = row.cursor
        self.sink = sink
        self.backoff = backoff
        self.wake = asyncio.Event()
        self.state = WorkerState()
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"centralino-outbox-{self.id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.sink.aclose()

    async def _run(self) -> None:
        while True:
            try:
                if not await self._one_batch():
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(POLL):  # not wait_for (module docstring)
                            await self.wake.wait()
            except StoreError as exc:  # the database is away: try again shortly
                log.warning("outbox %s cannot read or move its cursor: %s", self.id, exc)
                await asyncio.sleep(self.backoff.first)
            except _Gone as exc:
                log.error("subscription %s disabled: %s", self.id, exc)
                with contextlib.suppress(StoreError):
                    await self.outbox.change(self.id, status="disabled", last_error=str(exc))
                return

    async def _one_batch(self) -> bool:
        """Deliver the next batch; False if there was nothing to deliver."""
        events = await self.outbox.events_after(self.cursor, BATCH)
        if not events:
            return False
        wanted = [event for event in events if not self.types or event.type in self.types]
        lanes: dict[str, list[StoredEvent]] = {}
        for event in wanted:
            lanes.setdefault(event.contact_id, []).append(event)
        gate = asyncio.Semaphore(PARALLEL)

        async def lane(events_of_contact: list[StoredEvent]) -> None:
            async with gate:
                for event in events_of_contact:
                    await self._deliver(event)

        try:
            async with asyncio.TaskGroup() as group:
                for events_of_contact in lanes.values():
                    group.create_task(lane(events_of_contact))
        except* _Gone as gone:
            raise gone.exceptions[0] from None
        self.cursor = events[-1].seq
        await self.outbox.advance(self.id, self.cursor, len(wanted), time.time())
        if self._failing and not self.state.retrying:
            self._failing = False
        return True

    async def _deliver(self, event: StoredEvent) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                try:
                    await self.sink.deliver(event.payload)
                except DeliveryFailed:
                    raise
                except Exception as exc:  # a bug in a sink: keep the event, show the error
                    log.exception("outbox %s: the sink failed on %s", self.id, event.payload["id"])
                    raise DeliveryFailed(f"internal error: {exc!r}", retry=True) from exc
            except DeliveryFailed as exc:
                if exc.gone:
                    raise _Gone(exc.message) from exc
                await self._note_failure(event, exc)
                if not exc.retry:
                    self.state.dropped += 1
                    log.error("outbox %s gave up event %s: %s", self.id, event.payload["id"], exc)
                    return
                self.state.retrying += 1
                try:
                    await asyncio.sleep(self.backoff.delay(attempt))
                finally:
                    self.state.retrying -= 1
                continue
            self.state.sent += 1
            return

    async def _note_failure(self, event: StoredEvent, exc: DeliveryFailed) -> None:
        message = f"event {event.payload['id']} ({event.type}): {exc.message}"
        self.state.last_error = message
        first = not self._failing
        self._failing = True
        if first or not exc.retry:  # once per failing spell, and every give-up
            with contextlib.suppress(StoreError):
                await self.outbox.change(
                    self.id, last_error=message[:2000], failing_since=time.time()
                )


class _Gone(Exception):
    pass


class Deliveries:
    """The workers of every active subscription (runs where the router runs)."""

    def __init__(
        self, outbox: OutboxStore, sinks: Mapping[str, SinkFactory], backoff: Backoff
    ) -> None:
        self.outbox = outbox
        self.sinks = dict(sinks)
        self.backoff = backoff
        self.workers: dict[str, Worker] = {}

    async def start(self) -> None:
        for row in await self.outbox.subscriptions():
            self._start(row)

    def _start(self, row: SubscriptionRow) -> None:
        if row.status != "active":
            return
        factory = self.sinks.get(row.kind)
        if factory is None:
            log.error("subscription %s: no sink for kind %r on this node", row.id, row.kind)
            return
        worker = Worker(self.outbox, row, factory(row), self.backoff)
        self.workers[row.id] = worker
        worker.start()

    def wake(self) -> None:
        for worker in self.workers.values():
            worker.wake.set()

    async def halt(self, subscription_id: str) -> None:
        worker = self.workers.pop(subscription_id, None)
        if worker is not None:
            await worker.stop()

    async def refresh(self, subscription_id: str) -> None:
        """Pick up a changed, replayed or removed subscription."""
        await self.halt(subscription_id)
        row = await self.outbox.subscription(subscription_id)
        if row is not None:
            self._start(row)

    async def purge_old(self, retention_days: float, every: float = 3600.0) -> None:
        """Forever: forget delivered events older than the retention (0: keep them all)."""
        if retention_days <= 0:
            return
        while True:
            try:
                gone = await self.outbox.purge(time.time() - retention_days * 86400)
                if gone:
                    log.info("forgot %d delivered events older than %g days", gone, retention_days)
            except StoreError as exc:
                log.warning("cannot purge old events: %s", exc)
            await asyncio.sleep(every)

    async def stop(self) -> None:
        workers, self.workers = list(self.workers.values()), {}
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
