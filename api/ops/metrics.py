"""Prometheus metrics: counters from routing decisions, gauges read from the live state
at scrape time, and the time each engine call takes. Served at GET /metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from api.ops.gc_pauses import GENERATIONS, PAUSE_BUCKETS
from api.ops.intake_timing import INTAKE_BUCKETS
from api.ops.loop_lag import LAG_BUCKETS
from api.ops.loop_metrics import LoopCounter, LoopHistogram
from router.decisions import (
    Abandoned,
    Assigned,
    Completed,
    Decisions,
    Offered,
    OfferEnded,
    Queued,
    Transferred,
)
from router.kpis import is_short_abandon, within_sla
from router.outbox.delivery import Deliveries
from router.runtime import RouterRuntime
from router.states import ContactState, Presence
from router.views import reason_limit
from skills.vocabulary import Channel

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
# ms on arrival with agents free (issue 12's target: p99 10 ms), minutes for a contact that waited
OFFER_SENT_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    *(2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)


class LiveState(Collector):
    """Queue lengths, oldest waits and agents by presence, computed when scraped."""

    def __init__(self, runtime: RouterRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = self.runtime.engine
        now = self.runtime.clock()
        waiting = GaugeMetricFamily(
            "centralino_queue_waiting", "contacts waiting", labels=["queue", "channel"]
        )
        oldest = GaugeMetricFamily(
            "centralino_queue_oldest_wait_seconds",
            "wait of the longest-waiting contact",
            labels=["queue", "channel"],
        )
        counts: dict[tuple[str, str], int] = {}
        first: dict[tuple[str, str], float] = {}
        for contact in engine.contacts.values():
            if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
                key = (contact.policy.queue, contact.channel.value)
                counts[key] = counts.get(key, 0) + 1
                first[key] = min(first.get(key, now), contact.arrival)
        for queue in engine.config.queues:
            for channel in engine.config.channels:
                key = (queue, channel.value)
                waiting.add_metric(list(key), counts.get(key, 0))
                oldest.add_metric(list(key), max(0.0, now - first.get(key, now)))
        agents = GaugeMetricFamily("centralino_agents", "agents by presence", labels=["presence"])
        presence: dict[str, int] = {}
        for agent in engine.agents.values():
            presence[agent.presence.value] = presence.get(agent.presence.value, 0) + 1
        for state, count in sorted(presence.items()):
            agents.add_metric([state], count)
        away = GaugeMetricFamily(
            "centralino_agents_away",
            "agents away, by reason code (none: no code), and how many are over its limit",
            labels=["code", "over_limit"],
        )
        by_code: dict[tuple[str, str], int] = {}
        for agent in engine.agents.values():
            if agent.presence is Presence.AWAY:
                limit = reason_limit(engine, agent)
                over = limit is not None and now - agent.presence_since > limit
                key = (agent.presence_code or "none", str(over).lower())
                by_code[key] = by_code.get(key, 0) + 1
        for key, count in sorted(by_code.items()):
            away.add_metric(list(key), count)
        yield waiting
        yield oldest
        yield agents
        yield away


class JournalQueue(Collector):
    """Writes waiting for the journal's next commit, and units that could not be written."""

    def __init__(self, runtime: RouterRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        journal = self.runtime.store.journal
        yield GaugeMetricFamily(
            "centralino_journal_queue_depth", "units waiting to be committed", journal.pending
        )
        yield GaugeMetricFamily(
            "centralino_journal_failed_units",
            "units the database refused (each answered with its error)",
            journal.stats.failed_units,
        )
        yield CounterMetricFamily(
            "centralino_state_reloads",
            "times the routing state was rebuilt from the database after a write it refused",
            self.runtime.reloads,
        )


class EventDeliveries(Collector):
    """Gateway events delivered and given up, and those waiting for a retry, per
    subscription (since this router started)."""

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        sent = CounterMetricFamily(
            "centralino_event_deliveries",
            "gateway events delivered (ok) or given up (dropped)",
            labels=["subscription", "result"],
        )
        retrying = GaugeMetricFamily(
            "centralino_event_retrying",
            "gateway events waiting for a retry",
            labels=["subscription"],
        )
        for name, worker in sorted(self.deliveries.workers.items()):
            sent.add_metric([name, "ok"], worker.state.sent)
            sent.add_metric([name, "dropped"], worker.state.dropped)
            retrying.add_metric([name], worker.state.retrying)
        yield sent
        yield retrying


class ReplayBuffers(Collector):
    """What the desktops' replay buffers hold on this node, summed over the agents."""

    def __init__(self, buffered: Callable[[], tuple[int, int]]) -> None:
        self.buffered = buffered

    def collect(self) -> Iterator[GaugeMetricFamily]:
        events, size = self.buffered()
        yield GaugeMetricFamily(
            "centralino_replay_buffer_events", "desktop events kept for resume", events
        )
        yield GaugeMetricFamily(
            "centralino_replay_buffer_bytes",
            "memory the desktop events kept for resume take (their JSON text)",
            size,
        )


class RuleErrors(Collector):
    """Run-time errors of rule conditions, per rule (the planner counts them; a reload
    starts a new planner, so the counters restart, as Prometheus counters may)."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "centralino_rule_errors",
            "rule conditions that failed at run time (counted as no match)",
            labels=["rule"],
        )
        for rule, count in sorted(self.counts().items()):
            family.add_metric([rule], count)
        yield family


class Metrics:
    def __init__(self, runtime: RouterRuntime) -> None:
        self.runtime = runtime
        self.registry = CollectorRegistry()
        labels = ["queue", "channel"]
        self.arrivals = LoopCounter(
            "centralino_contacts",
            "contacts routed (first time queued or offered)",
            labels,
            registry=self.registry,
        )
        self.offers = LoopCounter(
            "centralino_offers", "offers made", labels, registry=self.registry
        )
        self.offer_outcomes = LoopCounter(
            "centralino_offer_outcomes",
            "offers by outcome",
            [*labels, "outcome"],
            registry=self.registry,
        )
        self.answered = LoopCounter(
            "centralino_answered",
            "contacts answered, within the SLA threshold or not",
            [*labels, "within_sla"],
            registry=self.registry,
        )
        self.abandoned = LoopCounter(
            "centralino_abandoned",
            "contacts abandoned before an answer",
            labels,
            registry=self.registry,
        )
        self.short_abandoned = LoopCounter(
            "centralino_short_abandoned",
            "abandoned within reports.short_abandon (not counted against service level)",
            labels,
            registry=self.registry,
        )
        self.transfers = LoopCounter(
            "centralino_transfers", "transfers, by the queue left", labels, registry=self.registry
        )
        self.completed = LoopCounter(
            "centralino_completed", "contacts completed", labels, registry=self.registry
        )
        self.replies = LoopCounter(
            "centralino_replies",
            "replies sent from desktops through the outbox, by how they ended",
            ["platform", "status"],
            registry=self.registry,
        )
        # observed on the event loop, a dozen times a contact: api/ops/loop_metrics.py
        self.latency = LoopHistogram(
            "centralino_routing_latency_seconds",
            "time of one engine call (routing decisions)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commit_seconds = LoopHistogram(
            "centralino_journal_commit_seconds",
            "time of one group commit of the journal (all writes of one batch), by lane "
            "(PostgreSQL: intake, new contacts, and decisions, the rest; SQLite: all, one lane)",
            ["lane"],
            buckets=(*LATENCY_BUCKETS, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self.batch_size = LoopHistogram(
            "centralino_journal_batch_units",
            "units of work (requests, decisions) committed together, by lane",
            ["lane"],
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=self.registry,
        )
        self.intake_seconds = LoopHistogram(
            "centralino_intake_seconds",
            "POST /v1/contacts: from the request reaching the app to its answer written, by "
            "HTTP status (api/ops/intake_timing.py)",
            ["status"],
            buckets=INTAKE_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = LoopHistogram(
            "centralino_event_loop_lag_seconds",
            "how much later than due the event loop ran a wake-up (api/ops/loop_lag.py)",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        gc_pauses = Histogram(  # (a collection may run in any thread)
            "centralino_gc_pause_seconds",
            "how long one garbage collection stopped the process, by generation "
            "(api/ops/gc_pauses.py)",
            ["generation"],
            buckets=PAUSE_BUCKETS,
            registry=self.registry,
        )
        self._gc_pauses = [gc_pauses.labels(str(generation)) for generation in GENERATIONS]
        self.offers_sent = LoopHistogram(
            "centralino_offer_sent_seconds",
            "from a contact's arrival (the server's stamp, before triage) to an offer of it "
            "written to a desktop's socket: the server's part of ingest-to-offer for a contact "
            "offered on arrival; a contact that waited, or was offered again, counts its wait",
            buckets=OFFER_SENT_BUCKETS,
            registry=self.registry,
        )
        self.desktop_acks = LoopHistogram(
            "centralino_desktop_ack_seconds",
            "from a desktop's message to its ack or error, by the message's type "
            "(an accept, wrap-up, transfer or presence change waits for its commit)",
            ["action"],
            buckets=(*LATENCY_BUCKETS, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.registry.register(LiveState(runtime))
        self.registry.register(JournalQueue(runtime))
        runtime.store.journal.stats.observe = self._observe_commit
        self._where: dict[str, tuple[str, str]] = {}
        runtime.listen(self.on_decisions)
        runtime.observe_latency = self.latency.labels().observe
        runtime.observe_ack = self.observe_ack
        runtime.observe_offer_sent = self.offers_sent.labels().observe

    def observe_ack(self, action: str, seconds: float) -> None:
        self.desktop_acks.labels(action).observe(seconds)

    def observe_intake(self, status: int, seconds: float) -> None:
        self.intake_seconds.labels(str(status)).observe(seconds)

    def observe_gc_pause(self, generation: int, seconds: float) -> None:
        self._gc_pauses[generation].observe(seconds)

    def watch_deliveries(self, deliveries: Deliveries) -> None:
        self.registry.register(EventDeliveries(deliveries))

    def watch_replay(self, buffered: Callable[[], tuple[int, int]]) -> None:
        """Expose the replay buffers' size (``buffered``: events and bytes, all agents)."""
        self.registry.register(ReplayBuffers(buffered))

    def watch_rules(self, counts: Callable[[], dict[str, int]]) -> None:
        """Expose the planner's run-time rule errors (``counts`` reads the current one)."""
        self.registry.register(RuleErrors(counts))

    def on_decisions(self, now: float, decisions: Decisions) -> None:
        engine = self.runtime.engine
        for decision in decisions:
            contact_id = getattr(decision, "contact_id", "")
            if isinstance(decision, Queued | Offered) and contact_id not in self._where:
                contact = engine.contacts[contact_id]
                self._where[contact_id] = (contact.policy.queue, contact.channel.value)
                self.arrivals.labels(*self._where[contact_id]).inc()
            where = self._where.get(contact_id)
            if where is None:
                continue
            if isinstance(decision, Offered):
                self.offers.labels(*where).inc()
            elif isinstance(decision, OfferEnded):
                self.offer_outcomes.labels(*where, decision.outcome.value).inc()
            elif isinstance(decision, Assigned):
                threshold = engine.config.sla_for(where[0], Channel(where[1])).threshold
                within = within_sla(decision.waited, threshold)
                self.answered.labels(*where, str(within).lower()).inc()
            elif isinstance(decision, Transferred):
                self.transfers.labels(*where).inc()
                contact = engine.contacts[contact_id]
                self._where[contact_id] = (contact.policy.queue, contact.channel.value)
            elif isinstance(decision, Abandoned):
                where = self._where.pop(contact_id)
                self.abandoned.labels(*where).inc()
                if is_short_abandon(decision.waited, engine.config.reports.short_abandon):
                    self.short_abandoned.labels(*where).inc()
            elif isinstance(decision, Completed):
                self.completed.labels(*self._where.pop(contact_id)).inc()

    def on_reply(self, _agent_id: str, view: dict[str, Any]) -> None:
        """A reply's status moved: count the final ones (sent, failed, unknown)."""
        if view["status"] in ("sent", "failed", "unknown"):
            self.replies.labels(view["platform"], view["status"]).inc()

    def _observe_commit(self, seconds: float, units: int, lane: str) -> None:
        self.commit_seconds.labels(lane).observe(seconds)
        self.batch_size.labels(lane).observe(units)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
