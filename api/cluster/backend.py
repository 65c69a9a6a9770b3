"""The ``redis`` state backend: several nodes, one active router per routing domain.

Every node serves HTTP, desktops and SMTP (api/cluster/edge.py) and is also a standby router: a
loop tries to take the router lease (router/cluster/lease.py). The node that holds it
opens the router stack (claiming the database fence with the lease's epoch), announces
itself, and applies the command stream until it stops or loses the lease; then it closes
the stack and goes back to standby. When the active node dies, its lease lapses after
``lease_ttl`` seconds and a standby takes over, reloading every unfinished contact from
the database and re-applying commands the dead router had not acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.base.sessions import Principal
from api.cluster.chat import RouterChat, serve_chat
from api.cluster.commands import RouterCommands
from api.cluster.edge import (
    Edge,
    ForwardingSmtpHandler,
    ForwardToRouter,
    serve_desktop,
    serve_wallboard,
)
from api.cluster.hub import RedisDesktopHub
from api.cluster.local_commands import LocalCommands
from api.cluster.node_intake import NodeIntake, routes_on_every_node, sweep
from api.gateways.smtp import start_smtp
from api.node.backend import SettingsError, StateBackend
from api.node.stack import RouterStack, close_stack, open_stack
from router.cluster.chat import ChatWriter
from router.cluster.commands import CommandServer, RouterUnavailable
from router.cluster.customers import CustomerFeed
from router.cluster.desk import DeskWriter, desk_generation
from router.cluster.keys import Keys
from router.cluster.lease import Fenced, Lease, RouterLease
from router.customer_changes import ERASED, CustomerChange
from router.intake import Intake
from router.rules.loader import ConfigError, load_rules
from router.runtime import RouterRuntime
from router.store.errors import FencedOut, StoreError

log = logging.getLogger("centralino.cluster")
SWEEP_EVERY = 10.0  # seconds between sweeps for received contacts whose command never came
SWEEP_AFTER = 30.0  # a received contact this old had its command lost (its node died)


class RedisBackend(StateBackend):
    name = "redis"

    @classmethod
    def install(cls, app: FastAPI) -> None:
        app.add_middleware(ForwardToRouter)

    async def start(self) -> None:
        settings = self.settings
        if not settings.redis_url:
            raise SettingsError("state backend 'redis' needs CENTRALINO_REDIS_URL")
        self.redis = Redis.from_url(settings.redis_url)
        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            await self.redis.aclose()
            raise SettingsError(f"cannot reach Redis at {settings.redis_url}: {exc}") from exc
        self.keys = Keys(settings.routing_domain)
        self.node = settings.node_name or f"{socket.gethostname()}:{os.getpid()}"
        self.edge = Edge(self.redis, self.keys, settings.command_timeout)
        self.app.state.edge = self.edge
        self.role = RouterRole(self)
        self.edge.local_router = self.role.local_commands
        self.customers = CustomerFeed(self.redis, self.keys, self.node)
        self.node_intake: NodeIntake | None = None
        if settings.node_intake and routes_on_every_node(settings.database_url):
            try:
                self.node_intake = await NodeIntake.open(
                    settings.database_url,
                    self.rules.config,
                    self.edge.client,
                    settings.routing_domain,
                    self.publish_customer_change,
                )
            except StoreError as exc:
                await self.redis.aclose()
                raise SettingsError(f"cannot open the database for intake: {exc}") from exc
            self.node_intake.local_router = self.role.local_intake
            self.app.state.node_intake = self.node_intake
        self.tasks = [
            asyncio.create_task(self.edge.watch_takeovers(), name="centralino-takeovers"),
            asyncio.create_task(self.role.run(), name="centralino-router-role"),
            asyncio.create_task(
                self.customers.run(self.customer_changed), name="centralino-customer-changes"
            ),
        ]
        self.smtp: asyncio.Server | None = None
        if settings.smtp_port:
            self.smtp = await start_smtp(
                ForwardingSmtpHandler(self.edge),
                settings.smtp_host,
                settings.smtp_port,
                settings.max_body_bytes * 40,
            )
        log.info("node %s up (routing domain %r)", self.node, settings.routing_domain)

    async def stop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            await self.smtp.wait_closed()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.node_intake is not None:
            await self.node_intake.close()
        await self.redis.aclose()

    async def customer_changed(self, change: CustomerChange) -> None:
        """A customer merged, unmerged, changed or erased on some node: this node's caches
        forget them; an erasure also leaves this domain's desktop streams."""
        if self.node_intake is not None:
            self.node_intake.forget_customers(change)
        runtime: RouterRuntime | None = getattr(self.app.state, "runtime", None)
        if runtime is None:
            return  # no router stack here: nothing cached
        runtime.customer_changes.apply(change)
        if change.kind == ERASED and self.role.lease is not None:
            try:
                removed = await self.customers.scrub_desks(
                    list(runtime.engine.agents), change.contact_ids
                )
                chats = await self.customers.forget_chats(change.chat_sessions)
                commands = await self.customers.trim_commands()
            except RedisError as exc:
                log.error("erased data not removed from Redis streams: %s", exc)
                return
            log.info(
                "erasure: %d desktop events, %d chat streams, %d applied commands removed",
                removed,
                chats,
                commands,
            )

    async def publish_customer_change(self, change: CustomerChange) -> None:
        """To every node; retried, since a node left uninformed keeps a stale cache."""
        for attempt in range(3):
            try:
                await self.customers.publish(change)
                return
            except RedisError as exc:
                log.warning("customer change not published (%s), attempt %d", exc, attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
        log.error("customer change %s not published: other nodes' caches may be stale", change.kind)

    def health(self) -> dict[str, Any]:
        active = self.role.lease is not None
        health: dict[str, Any] = {
            "status": "ok",
            "backend": self.name,
            "node": self.node,
            "role": "active" if active else "standby",
            # the active router takes its own node's commands in its process (once it
            # started what the stream held before it; not while fenced or diverged)
            "serving": self.role.local_commands() is not None,
            "desktops": len(self.edge.sessions),
        }
        # a router stepping down closes its stack while the lease is still set: no 500 then
        runtime: RouterRuntime | None = getattr(self.app.state, "runtime", None)
        if active and self.role.lease is not None and runtime is not None:
            health["epoch"] = self.role.lease.epoch
            health["agents"] = len(runtime.engine.agents)
            health["live_contacts"] = len(runtime.engine.contacts)
        return health

    async def serve_desktop(self, websocket: WebSocket) -> None:
        await serve_desktop(websocket, self.edge, self.settings.login_timeout)

    async def serve_chat(self, websocket: WebSocket) -> None:
        await serve_chat(websocket, self.edge, self.settings.login_timeout)

    async def serve_wallboard(self, websocket: WebSocket, closed: asyncio.Task[None]) -> None:
        await serve_wallboard(websocket, self.edge, closed)

    async def principal(self, session_cookie: str) -> Principal | None:
        """Sessions live in the database the active router holds: ask it. StoreError if
        it cannot tell (no active router answered, or it could not read the store)."""
        if not session_cookie:
            return None
        try:
            found = await self.edge.call("session.principal", {"cookie": session_cookie})
        except RouterUnavailable as exc:
            raise StoreError(f"could not check the session: {exc}") from exc
        if "principal" not in found:  # the router could not read it (or failed)
            error = found.get("error") or {}
            raise StoreError(f"could not check the session: {error.get('message', found)}")
        return Principal(**found["principal"]) if found["principal"] else None


class RouterRole:
    """Standby until the lease is free; then the active router until it is lost."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        settings = backend.settings
        self.ttl = settings.lease_ttl
        self.leases = RouterLease(backend.redis, backend.keys, backend.node, self.ttl)
        self.lease: Lease | None = None
        self._routing: Intake | None = None  # the stack's intake while it routes here
        self._local: LocalCommands | None = None  # and its commands, for this node's edge

    def local_intake(self) -> Intake | None:
        """The router's intake while this node routes with it: its lease held, its
        decisions neither fenced nor diverged from the record (api/cluster/node_intake.py
        routes this node's own contacts with it)."""
        intake = self._routing
        if intake is None or self.lease is None:
            return None
        recorder = intake.runtime.recorder
        return None if recorder.fenced or recorder.diverged else intake

    def local_commands(self) -> LocalCommands | None:
        """The router's commands in this process while ``local_intake`` routes here (this
        node's desktops, chats and forwarded requests go to them without Redis:
        api/cluster/edge.py), once its command server started what the stream held."""
        return self._local if self.local_intake() is not None else None

    async def run(self) -> None:
        while True:
            try:
                lease = await self.leases.try_acquire()
            except RedisError as exc:
                log.warning("cannot reach Redis for the router lease: %s", exc)
                lease = None
            if lease is None:
                await asyncio.sleep(self.ttl / 3)
                continue
            try:
                await self._lead(lease)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the active router failed; back to standby")
                await asyncio.sleep(self.ttl / 3)
            finally:
                self.lease = None
                await self.leases.release(lease)

    async def _lead(self, lease: Lease) -> None:
        """Route while the lease holds. The lease is renewed from the moment it is taken:
        loading a long queue must not let it lapse under a router still starting."""
        keeper = asyncio.create_task(self._keep(lease), name="centralino-lease")
        try:
            stack = await self._open(lease)
        except BaseException:
            keeper.cancel()
            raise
        backend, redis, keys = self.backend, self.backend.redis, self.backend.keys
        self.lease = lease
        stack.runtime.customer_changes.forward = backend.publish_customer_change
        chat = ChatWriter(redis, keys, lease)
        tasks = [
            keeper,
            asyncio.create_task(stack_writer(backend.app).run(), name="centralino-desk-writer"),
            asyncio.create_task(chat.run(), name="centralino-chat-writer"),
        ]
        try:
            router_chat = RouterChat(backend.app, chat)
            await router_chat.restore()
            if backend.node_intake is not None:  # received contacts whose command never came
                planner = sweep(backend.app.state.intake, SWEEP_EVERY, SWEEP_AFTER)
                tasks.append(asyncio.create_task(planner, name="centralino-received-sweep"))
            commands = RouterCommands(backend.app, lease.epoch, router_chat)
            server = CommandServer(redis, keys, lease, commands)
            serving = asyncio.create_task(server.run(), name="centralino-commands")
            tasks.append(serving)
            self._routing = backend.app.state.intake
            await redis.xadd(
                keys.takeovers, {"epoch": lease.epoch, "node": backend.node}, maxlen=100
            )
            # this node's own commands in this process, once the stream's older ones started
            caught_up = asyncio.create_task(server.caught_up.wait())
            await asyncio.wait([caught_up, serving], return_when=asyncio.FIRST_COMPLETED)
            caught_up.cancel()
            if server.caught_up.is_set():
                self._local = LocalCommands(commands)
            recorder = stack.runtime.recorder
            # a decision it could not commit: step down; whoever takes the lease next
            # (this node too) loads the state from the database and desktops log in again
            recorder.diverged_hook = None
            while not keeper.done() and not recorder.fenced and not recorder.diverged:
                done, _ = await asyncio.wait(
                    tasks, timeout=self.ttl / 3, return_when=asyncio.FIRST_COMPLETED
                )
                if done:
                    break
        finally:
            self._routing = None
            local, self._local = self._local, None
            if local is not None:  # its callers ask the router active next instead
                await local.close()
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception) and not isinstance(result, Fenced):
                    log.error("router task ended: %r", result)
            with contextlib.suppress(Exception):
                await close_stack(backend.app, stack)
            log.info("node %s stops routing (epoch %d)", backend.node, lease.epoch)

    async def _open(self, lease: Lease) -> RouterStack:
        backend = self.backend
        app, settings, redis, keys = backend.app, backend.settings, backend.redis, backend.keys
        log.info("node %s takes over routing (epoch %d)", backend.node, lease.epoch)
        rules = backend.rules
        if Path(settings.config_path).is_file():
            try:  # the file as it is now (a reload may have changed it since this node began)
                rules = load_rules(settings.config_path)
            except ConfigError as exc:
                log.error("config file is invalid, routing with the rules loaded before: %s", exc)
        generation = await desk_generation(redis, keys)

        def redis_hub(runtime: RouterRuntime) -> RedisDesktopHub:
            writer = DeskWriter(
                redis, keys, lease, settings.replay_buffer, runtime.recorder.reached
            )
            return RedisDesktopHub(runtime, writer, generation)

        try:
            return await open_stack(
                app,
                settings,
                rules,
                hub_factory=redis_hub,
                fence=(settings.routing_domain, lease.epoch),
                smtp=False,
            )
        except FencedOut as exc:
            # Redis restarted empty and counts epochs from 1 again: move past the fence
            log.warning("router epoch %d is behind the database (%s)", lease.epoch, exc)
            await self.leases.raise_epoch(exc.current)
            raise
        except StoreError as exc:
            log.error("cannot open the router stack: %s", exc)
            raise

    async def _keep(self, lease: Lease) -> None:
        """Renew the lease every third of its time; return once it is lost."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self.leases.renew(lease):
                    log.warning("router lease lost (epoch %d)", lease.epoch)
                    self._routing = None  # at once, not when ``_lead`` next turns
                    return
                renewed = time.monotonic()
            except RedisError as exc:
                if time.monotonic() - renewed > self.ttl * 2 / 3:
                    log.warning("cannot renew the router lease (%s); stepping down", exc)
                    self._routing = None
                    return


def stack_writer(app: Any) -> DeskWriter:
    hub: RedisDesktopHub = app.state.hub
    return hub.writer
