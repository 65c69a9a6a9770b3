"""The supervisor wallboard: a websocket that pushes live snapshots, and the two web pages
(agent desktop, wallboard) served with no build step.

``WS /v1/wallboard``: first message {"type": "login", "token": "<admin token>"}; then a
{"type": "snapshot", ...} whenever routing changes (at most every 0.25 s) and at least
every 2 s: alerts (router/alerts.py), queues, the waiting contacts by priority with their
urgency, agents with their states, reasons and time in them, the away reason codes, and the
service level per channel since the server started (router/kpis.py). The page draws today's
report from ``GET /v1/reports`` and acts through the supervisor endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

from api.base.auth import is_supervisor
from api.base.frames import BinaryFrame, receive_text
from api.base.headers import page
from api.base.session_watch import SESSION_ENDED, watch_session
from api.base.sessions import SESSION_COOKIE, same_origin
from api.base.socket_closes import CLOSE_UNAUTHORIZED, close_try_again
from channels import strict_json
from router.alerts import alerts
from router.decisions import Abandoned, Assigned, Completed, Decisions, Offered, Queued
from router.kpis import Counts
from router.runtime import RouterRuntime
from router.store.errors import StoreError
from router.views import live_agent_view, queue_contacts, queue_summary
from skills.vocabulary import Channel

log = logging.getLogger("centralino.wallboard")
router = APIRouter(tags=["pages"])
STATIC = Path(__file__).parent.parent / "static"
REFRESH = 2.0
THROTTLE = 0.25
WAITING_SHOWN = 50


class Wallboard:
    def __init__(self, runtime: RouterRuntime) -> None:
        self.runtime = runtime
        self.changed = asyncio.Event()
        self.sla: dict[str, Counts] = {}  # per channel since start (router/kpis.py)
        self._channel_of: dict[str, Channel] = {}  # live contacts not answered yet
        self._answered: set[str] = set()  # live contacts answered once
        runtime.listen(self.on_decisions)

    def on_decisions(self, now: float, decisions: Decisions) -> None:
        engine = self.runtime.engine
        for decision in decisions:
            contact = engine.contacts.get(getattr(decision, "contact_id", ""))
            if isinstance(decision, Queued | Offered) and contact is not None:
                if contact.contact_id not in self._answered:
                    self._channel_of.setdefault(contact.contact_id, contact.channel)
            elif isinstance(decision, Assigned) and contact is not None:
                if self._channel_of.pop(contact.contact_id, None) is None:
                    continue  # answered before (a transfer): counted once
                threshold = engine.config.sla_for(contact.policy.queue, contact.channel).threshold
                self._counts(contact.channel).answer(decision.waited, threshold)
                self._answered.add(contact.contact_id)
            elif isinstance(decision, Abandoned):
                channel = self._channel_of.pop(decision.contact_id, None)
                if channel is not None:
                    short = engine.config.reports.short_abandon
                    self._counts(channel).abandon(decision.waited, short)
            elif isinstance(decision, Completed):
                self._answered.discard(decision.contact_id)
        self.changed.set()

    def _counts(self, channel: Channel) -> Counts:
        return self.sla.setdefault(channel.value, Counts())

    def snapshot(self) -> dict[str, Any]:
        engine = self.runtime.engine
        now = self.runtime.clock()
        waiting = [
            c for q in engine.config.queues for c in queue_contacts(engine, q, now, WAITING_SHOWN)
        ]
        waiting.sort(key=lambda c: -c["priority"]["total"])
        sla = {}
        for channel, spec in engine.config.channels.items():
            counts = self.sla.get(channel.value, Counts())
            sla[channel.value] = {
                "answered": counts.answered,
                "within": counts.answered_within,
                "abandoned": counts.abandoned,
                "short_abandoned": counts.short_abandoned,
                "target": spec.sla.target,
                "threshold": spec.sla.threshold,
                "service_level": counts.service_level,
            }
        return {
            "type": "snapshot",
            "at": now,
            "alerts": alerts(engine, now, sla),
            "reasons": sorted(engine.config.agent_states.reasons),
            "queues": queue_summary(engine, now),
            "waiting": waiting[:WAITING_SHOWN],
            "agents": [live_agent_view(engine, a, now) for _, a in sorted(engine.agents.items())],
            "sla": sla,
        }


async def wallboard_socket(websocket: WebSocket) -> None:
    app = websocket.app
    await websocket.accept()
    try:
        async with asyncio.timeout(app.state.settings.login_timeout):
            text = await receive_text(websocket)
        login = strict_json.loads(text)
        if not isinstance(login, dict):
            raise strict_json.UnsafeJson("the first message must be a login object")
        token = str(login.get("token", ""))
    except (TimeoutError, strict_json.UnsafeJson, WebSocketDisconnect, BinaryFrame):
        await _refuse(websocket)
        return
    if token:
        allowed = is_supervisor(token, app.state.settings)
    elif not same_origin(websocket.headers):
        allowed = False
    else:
        try:
            principal = await app.state.backend.principal(websocket.cookies.get(SESSION_COOKIE, ""))
        except StoreError as exc:  # not a verdict: the page's retry may get in
            log.error("a wallboard sign-in could not be checked: %s", exc)
            await close_try_again(websocket, "the sign-in could not be checked now: try again")
            return
        allowed = principal is not None and principal.at_least("supervisor")
    if not allowed:
        await _refuse(websocket)
        return
    reader = asyncio.create_task(_drain(websocket))
    watch = None
    if not token:  # signed in by session: only while it holds, and the role with it
        watch = asyncio.create_task(
            watch_session(
                app,
                websocket.cookies.get(SESSION_COOKIE, ""),
                lambda p: p.at_least("supervisor"),
                app.state.settings.session_check_interval,
            )
        )
    closed = asyncio.create_task(_first(reader, watch))
    try:
        await app.state.backend.serve_wallboard(websocket, closed)
        if watch is not None and watch.done() and watch.exception() is None:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.send_json(SESSION_ENDED)
                await websocket.close(CLOSE_UNAUTHORIZED, "session ended")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        for task in (reader, watch, closed):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (reader, watch, closed) if t), return_exceptions=True)


async def _first(*tasks: asyncio.Task[None] | None) -> None:
    """Done when the first of these tasks is."""
    await asyncio.wait([t for t in tasks if t is not None], return_when=asyncio.FIRST_COMPLETED)


async def _refuse(websocket: WebSocket) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json(
            {
                "type": "error",
                "code": "unauthorized",
                "message": "a supervisor or admin token (or sign-in) is required",
            }
        )
        await websocket.close(CLOSE_UNAUTHORIZED, "unauthorized")


async def serve_wallboard(websocket: WebSocket, closed: asyncio.Task[None]) -> None:
    """Snapshots of this process's router until the page goes away."""
    board: Wallboard = websocket.app.state.wallboard
    while not closed.done():
        await websocket.send_json(board.snapshot())
        board.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REFRESH):
                await board.changed.wait()
        await asyncio.sleep(THROTTLE)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the page sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # text or binary: what the page sends is ignored


@router.get("/desktop", response_class=HTMLResponse, include_in_schema=False)
async def desktop_page() -> HTMLResponse:
    """The agent desktop: log in with the agent token."""
    return page("desktop.html")


@router.get("/wallboard", response_class=HTMLResponse, include_in_schema=False)
async def wallboard_page() -> HTMLResponse:
    """The supervisor wallboard: log in with the admin token."""
    return page("wallboard.html")
