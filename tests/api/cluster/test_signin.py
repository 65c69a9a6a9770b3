"""Signing in on a standby node: sessions live in the database the active router holds, so
the standby asks it (desktop and wallboard websockets by cookie, revocation included)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from typing import Any

import httpx
import websockets

from tests.api.cluster.test_nodes import (  # noqa: F401
    AGENT,
    Cluster,
    active_and_standby,
    cluster,
    until,
)
from tests.live import ADMIN, admin_headers, create_agent

PASSWORD = "a long enough password"


async def first_frame(url: str, headers: dict[str, str], login: dict[str, Any]) -> dict[str, Any]:
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps(login))
        return dict(json.loads(await asyncio.wait_for(ws.recv(), 15)))


async def agent_and_supervisor_signed_in(http: httpx.AsyncClient) -> dict[str, str]:
    """The agent gina (a user with her agent) and the supervisor sara, each signed in
    through ``http``'s node: their session cookies, by name."""
    made = await http.put("/v1/agents/gina", json=AGENT, headers=admin_headers())
    assert made.status_code == 200, made.text
    cookies: dict[str, str] = {}
    for name, body in (
        ("gina", {"role": "agent", "agent_id": "gina"}),
        ("sara", {"role": "supervisor"}),
    ):
        reply = await http.put(
            f"/v1/users/{name}", json={**body, "password": PASSWORD}, headers=admin_headers()
        )
        assert reply.status_code == 200, reply.text
        signed = await http.post("/v1/signin", json={"user": name, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        cookies[name] = f"centralino_session={signed.cookies['centralino_session']}"
    return cookies


async def test_a_standby_signs_in_desktops_and_wallboards_by_session(
    cluster: Cluster,  # noqa: F811
) -> None:
    cluster.env["CENTRALINO_SESSION_CHECK_INTERVAL"] = "0.3"
    _active, standby = await active_and_standby(cluster)
    ws = standby.url.replace("http", "ws")
    origin = {"Origin": standby.url}
    async with httpx.AsyncClient(base_url=standby.url, timeout=15) as http:
        cookies = await agent_and_supervisor_signed_in(http)

        desk = await first_frame(
            f"{ws}/v1/desktop", {**origin, "Cookie": cookies["gina"]}, {"type": "login"}
        )
        assert desk["type"] == "welcome" and desk["agent"]["agent_id"] == "gina"
        board = await first_frame(
            f"{ws}/v1/wallboard", {**origin, "Cookie": cookies["sara"]}, {"type": "login"}
        )
        assert board["type"] == "snapshot"
        agent_board = await first_frame(
            f"{ws}/v1/wallboard", {**origin, "Cookie": cookies["gina"]}, {"type": "login"}
        )
        assert agent_board["code"] == "unauthorized"  # an agent is not a supervisor

        open_desk = await websockets.connect(
            f"{ws}/v1/desktop", additional_headers={**origin, "Cookie": cookies["gina"]}
        )
        await open_desk.send(json.dumps({"type": "login"}))
        # signed in first: a revocation racing the login would refuse the login instead
        welcome = json.loads(await asyncio.wait_for(open_desk.recv(), 15))
        assert welcome["type"] == "welcome", welcome
        revoked = await http.post("/v1/users/gina/revoke", headers=admin_headers())
        assert revoked.json() == {"revoked": 1}
        ended = await asyncio.wait_for(codes_until_closed(open_desk), 30)
        assert "session_ended" in ended and open_desk.close_code == 4401
        again = await first_frame(
            f"{ws}/v1/desktop", {**origin, "Cookie": cookies["gina"]}, {"type": "login"}
        )
        assert again["code"] == "unauthorized"
        token_board = await first_frame(f"{ws}/v1/wallboard", {}, {"token": ADMIN})
        assert token_board["type"] == "snapshot"  # tokens still work


async def codes_until_closed(ws: Any) -> list[str]:
    """The error codes a socket receives until the server closes it."""
    codes: list[str] = []
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            codes.append(str(json.loads(raw).get("code", "")))
    return codes


async def test_a_standby_login_whose_token_cannot_be_read_is_told_to_try_again(
    cluster: Cluster,  # noqa: F811
) -> None:
    """The active router cannot read its store (the agents' table gone from under it): a
    desktop logging in on the standby gets ``unavailable`` and a close with 1013, "try
    again later", not ``unauthorized``; once the store reads again, the login works."""
    _active, standby = await active_and_standby(cluster)
    async with httpx.AsyncClient(base_url=standby.url, timeout=15) as http:
        token = await create_agent(http, "tina", **AGENT)
    with sqlite3.connect(cluster.database) as db:
        db.execute("ALTER TABLE agents RENAME TO agents_gone")
    login = {"type": "login", "token": token, "ref": "l1"}
    async with websockets.connect(standby.ws_url) as ws:
        await ws.send(json.dumps(login))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
        assert reply["code"] == "unavailable" and reply["ref"] == "l1", reply
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 15)
        assert ws.close_code == 1013
    with sqlite3.connect(cluster.database) as db:
        db.execute("ALTER TABLE agents_gone RENAME TO agents")
    welcome = await first_frame(standby.ws_url, {}, login)
    assert welcome["type"] == "welcome" and welcome["agent"]["agent_id"] == "tina"


async def test_a_standby_keeps_signed_in_sockets_while_the_router_cannot_check_sessions(
    cluster: Cluster,  # noqa: F811
) -> None:
    """The active router cannot read the sessions (their table gone from under it): the
    standby's open desktop, signed in by cookie, is not signed out by its checks (before,
    any failed check, a failover's included, closed it with 4401), and a wallboard signing
    in meanwhile is told ``unavailable`` with 1013; once the store reads again, a
    revocation still closes the desktop."""
    cluster.env["CENTRALINO_SESSION_CHECK_INTERVAL"] = "0.2"
    _active, standby = await active_and_standby(cluster)
    ws = standby.url.replace("http", "ws")
    origin = {"Origin": standby.url}
    async with httpx.AsyncClient(base_url=standby.url, timeout=15) as http:
        cookies = await agent_and_supervisor_signed_in(http)
        open_desk = await websockets.connect(
            f"{ws}/v1/desktop", additional_headers={**origin, "Cookie": cookies["gina"]}
        )
        await open_desk.send(json.dumps({"type": "login"}))
        welcome = json.loads(await asyncio.wait_for(open_desk.recv(), 15))
        assert welcome["type"] == "welcome", welcome
        log_path = standby.log_path
        assert log_path is not None
        with sqlite3.connect(cluster.database) as db:
            db.execute("ALTER TABLE user_sessions RENAME TO user_sessions_gone")
        await until(
            lambda: "session could not be checked" in log_path.read_text(),
            what="a session check that could not be made, on the standby",
        )
        board = await websockets.connect(
            f"{ws}/v1/wallboard", additional_headers={**origin, "Cookie": cookies["sara"]}
        )
        await board.send(json.dumps({"type": "login"}))
        assert await asyncio.wait_for(codes_until_closed(board), 30) == ["unavailable"]
        assert board.close_code == 1013
        with sqlite3.connect(cluster.database) as db:
            db.execute("ALTER TABLE user_sessions_gone RENAME TO user_sessions")
        await open_desk.send(json.dumps({"type": "ping", "ref": "p1"}))
        while (reply := json.loads(await asyncio.wait_for(open_desk.recv(), 15)))["type"] != (
            "pong"
        ):
            assert reply["type"] != "error", reply
        revoked = await http.post("/v1/users/gina/revoke", headers=admin_headers())
        assert revoked.json() == {"revoked": 1}
        ended = await asyncio.wait_for(codes_until_closed(open_desk), 30)
        assert "session_ended" in ended and open_desk.close_code == 4401
