"""GET /v1/reports and `centralino report` against a running server (exact figures for
known event sequences are in tests/router/reports, on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys

import httpx

from tests.live import ADMIN, ThreadServer, admin_headers, contact_body, online_desktop
from tests.paths import REPO


async def handled_one(server: ThreadServer, client: httpx.AsyncClient) -> None:
    desk = await online_desktop(server, client, "rita", skills={"billing": 5}, languages=["it"])
    await client.post("/v1/contacts", json=contact_body("rep-1"))
    offer = await desk.next_event("offer")
    await desk.request("accept", offer_id=offer["offer_id"])
    contact_id = offer["contact"]["contact_id"]
    await desk.request("presence", presence="away", code="training")
    ack = await desk.request("wrap_up", contact_id=contact_id, outcome="fatto", resolved=True)
    assert ack["type"] == "ack", ack
    await client.post(f"/v1/contacts/{contact_id}/feedback", json={"csat": 4, "nps": 9})
    await client.post("/v1/contacts", json=contact_body("rep-2", intent="tech"))
    await desk.close()


async def test_reports_today_as_json_and_csv(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    await handled_one(server, client)
    reply = await client.get("/v1/reports", headers=admin_headers())
    assert reply.status_code == 200, reply.text
    day = reply.json()
    assert day["period"] == "day" and day["by"] == ["queue", "channel"] and day["from"] == day["to"]
    rows = {(row["queue"], row["channel"]): row for row in day["rows"]}
    billing = rows[("billing", "chat")]
    assert (billing["offered"], billing["answered"], billing["handled"]) == (1, 1, 1)
    assert billing["answered_within_sla"] == 1 and billing["service_level"] == 1.0
    assert billing["csat"] == 4.0 and billing["nps"] == 100.0
    assert rows[("tech", "chat")]["offered"] == 1 and rows[("tech", "chat")]["answered"] == 0
    assert day["totals"]["offered"] == 2

    agents = (
        await client.get("/v1/reports?period=interval&by=agent", headers=admin_headers())
    ).json()
    rita = [row for row in agents["rows"] if row["agent"] == "rita"]
    assert sum(row["handled"] for row in rita) == 1
    states = {state for row in rita for state in row["time"]}
    assert {"available", "away:training", "busy"} <= states
    assert all(0 <= (row["occupancy"] or 0) <= 1 for row in rita)

    exported = await client.get("/v1/reports?by=agent&format=csv", headers=admin_headers())
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["handled"] for row in table if row["agent"] == "rita"] == ["1"]
    assert "time_away:training" in table[0]


async def test_bad_report_requests_are_422_with_a_reason(client: httpx.AsyncClient) -> None:
    headers = admin_headers()
    assert (await client.get("/v1/reports")).status_code == 401
    for query, words in (
        ("by=team", "by: give one or more of queue, channel, agent"),
        ("from=2026-13-01", "is not a date"),
        ("from=2026-12-02&to=2026-12-01", "must not be before"),
        ("from=2026-01-01&to=2026-12-31", "at most 92 days"),
        ("tz=Mars/Olympus", "unknown time zone"),
        ("period=week", "period"),
    ):
        reply = await client.get(f"/v1/reports?{query}", headers=headers)
        assert reply.status_code == 422, query
        assert words in reply.text, (query, reply.text)


async def test_centralino_report_prints_a_table_and_csv(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    await handled_one(server, client)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.server.cli", "report", "--url", server.url, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CENTRALINO_ADMIN_TOKEN": ADMIN},
        )

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stderr
    assert "day report" in done.stdout and "short abandon < 0 s" in done.stdout
    assert any(line.split()[1:3] == ["billing", "chat"] for line in done.stdout.splitlines())
    as_csv = await asyncio.to_thread(run, "--csv", "--by", "agent")
    assert as_csv.stdout.startswith("period,agent,offered,")
    bad = await asyncio.to_thread(run, "--by", "team")
    assert bad.returncode == 1 and "422" in bad.stderr
