"""The router stack: everything that lives where the engine lives (store, engine, runtime,
intake, desktop hub, chat, wallboard, metrics, reload, background tasks).

In the embedded mode it opens when the app starts. With Redis it opens on the node that
takes the router lease and closes when that node loses it (api/cluster/backend.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI

from api.base.settings import Settings
from api.chat.session import ChatHub
from api.desktop.hub import DesktopHub
from api.gateways.decisions_out import open_deliveries
from api.gateways.senders import build_senders, retry_delays
from api.gateways.smtp import SmtpHandler, start_smtp
from api.gateways.webhooks import build_adapters
from api.ops.gc_pauses import GcPauses
from api.ops.loop_lag import watch_lag
from api.ops.loop_stalls import StallWatch
from api.ops.metrics import Metrics
from api.ops.reload import Reloader
from api.ops.wallboard import Wallboard
from router import followups, retention
from router.dispatch import Dispatcher
from router.engine import Engine
from router.intake import Intake
from router.outbox.delivery import Deliveries
from router.replies import ReplyOutbox
from router.reports.figures import figures_for
from router.reports.job import Reporter
from router.rules.loader import RuleSet
from router.rules.planner import Planner
from router.runtime import RouterRuntime
from router.store.pg_statistics import StatisticsKeeper
from router.store.repository import Store

log = logging.getLogger("centralino")

HubFactory = Callable[[RouterRuntime], DesktopHub]
STACK_ATTRIBUTES = (
    "hub",
    "metrics",
    "wallboard",
    "runtime",
    "intake",
    "dispatcher",
    "chat",
    "channels",
    "reloader",
    "deliveries",
    "replies",
    "reporter",
)


@dataclass
class RouterStack:
    store: Store
    runtime: RouterRuntime
    deliveries: Deliveries
    background: list[asyncio.Task[None]] = field(default_factory=list)
    smtp: asyncio.Server | None = None
    replies: ReplyOutbox | None = None
    gc_pauses: GcPauses | None = None
    stall_watch: StallWatch | None = None


async def open_stack(
    app: FastAPI,
    settings: Settings,
    ruleset: RuleSet,
    *,
    hub_factory: HubFactory | None = None,
    fence: tuple[str, int] | None = None,
    smtp: bool = True,
    only_process: bool = False,
) -> RouterStack:
    """Open the store, load roster and unfinished contacts, start routing; the parts are
    put on ``app.state`` for the endpoints. ``fence``: (domain, epoch) to claim first.
    ``only_process``: refuse a SQLite file another process serves."""
    store = await Store.open(
        settings.database_url,
        only_process=only_process,
        linger=None if settings.decision_linger_ms is None else settings.decision_linger_ms / 1000,
    )
    runtime: RouterRuntime | None = None
    deliveries: Deliveries | None = None
    try:
        if fence is not None:
            await store.claim_fence(*fence)
        engine = Engine(ruleset.config, id_prefix=f"o{uuid.uuid4().hex[:8]}")
        runtime = RouterRuntime(engine, store, domain=settings.routing_domain)
        hub = (
            hub_factory(runtime)
            if hub_factory
            else DesktopHub(runtime, settings.replay_buffer, settings.replay_buffer_bytes)
        )
        await hub.prepare([row.id for row in await store.agents()])
        app.state.hub = hub
        app.state.metrics = Metrics(runtime)
        app.state.wallboard = Wallboard(runtime)
        app.state.runtime = runtime
        intake = app.state.intake = Intake(runtime, Planner(ruleset))
        intake.hours.restore(await store.switches.closed())  # queues closed by hand
        app.state.metrics.watch_rules(lambda: intake.planner.rule_errors)
        app.state.metrics.watch_replay(hub.buffered)
        app.state.dispatcher = Dispatcher(app.state.intake, hub.notify_message)
        app.state.chat = ChatHub(runtime)
        app.state.channels = build_adapters(settings)
        app.state.reloader = Reloader(ruleset.source, runtime, app.state.intake)
        replies = ReplyOutbox(
            runtime,
            build_senders(settings),
            email_from=settings.reply_email_from,
            retry_delays=retry_delays(settings),
            on_status=hub.reply_status,
        )
        replies.listen(app.state.metrics.on_reply)
        app.state.replies = replies
        app.state.reporter = Reporter(
            store.reports,
            lambda: runtime.engine.config,
            figures=figures_for(settings.database_url, store.reports),
        )
        # nobody is logged in to a router that starts: close states left open by a crash
        await store.reports.close_open_states(runtime.clock(), "router started")
        await runtime.start()
        deliveries = await open_deliveries(settings, store)
        runtime.recorder.committed = deliveries.wake
        app.state.metrics.watch_deliveries(deliveries)
        app.state.deliveries = deliveries
        await replies.recover()  # replies a stopped server left pending or sending
        await intake.callbacks.restore()  # callbacks asked for, from the explain log
        await intake.route_backlog()  # contacts nodes stored that no router planned yet
    except BaseException:  # whatever was started stops again (FencedOut passes through)
        if deliveries is not None:
            await deliveries.stop()
        if runtime is not None:
            await runtime.stop()
        await store.close()
        raise
    stack = RouterStack(store, runtime, deliveries, replies=replies)
    stack.background.append(
        asyncio.create_task(followups.run(app.state.intake, settings.followup_interval))
    )
    stack.background.append(asyncio.create_task(retention.run(app.state.intake)))
    stack.background.append(
        asyncio.create_task(deliveries.purge_old(settings.event_retention_days))
    )
    stack.background.append(asyncio.create_task(app.state.reporter.run()))
    stack.background.append(asyncio.create_task(watch_lag(app.state.metrics.loop_lag.observe)))
    if store.engine.dialect.name == "postgresql":  # planner statistics follow the tables' growth
        stack.background.append(asyncio.create_task(StatisticsKeeper(store.engine).run()))
    stack.gc_pauses = GcPauses(app.state.metrics.observe_gc_pause)
    stack.gc_pauses.install()
    if settings.reload_interval > 0:
        stack.background.append(
            asyncio.create_task(app.state.reloader.watch(settings.reload_interval))
        )
    if smtp and settings.smtp_port:
        stack.smtp = await start_smtp(
            SmtpHandler(app.state.dispatcher, authserv_ids=settings.email_authserv_ids),
            settings.smtp_host,
            settings.smtp_port,
            settings.max_body_bytes * 40,
        )
    if settings.stall_log_ms > 0:  # last: nothing after it can fail and leave it running
        stack.stall_watch = StallWatch(settings.stall_log_ms / 1000)
        stack.stall_watch.start()
    log.info(
        "router ready: %d queues, %d rules, %d agents, %d live contacts",
        len(ruleset.config.queues),
        len(ruleset.rules),
        len(engine.agents),
        len(engine.contacts),
    )
    return stack


async def close_stack(app: FastAPI, stack: RouterStack) -> None:
    if stack.gc_pauses is not None:
        stack.gc_pauses.remove()
    if stack.stall_watch is not None:
        stack.stall_watch.stop()
    for task in stack.background:
        task.cancel()
    await asyncio.gather(*stack.background, return_exceptions=True)
    if stack.smtp is not None:
        stack.smtp.close()
        await stack.smtp.wait_closed()
    await stack.deliveries.stop()
    if stack.replies is not None:
        await stack.replies.close()
    await app.state.intake.history_reads.aclose()
    await stack.runtime.stop()
    await stack.store.close()
    if hasattr(app.state, "reporter"):
        app.state.reporter.close()
    for name in STACK_ATTRIBUTES:
        if hasattr(app.state, name):
            delattr(app.state, name)
