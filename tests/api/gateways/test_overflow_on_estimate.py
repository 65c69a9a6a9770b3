"""Overflow on the wait estimate, at intake over real HTTP: nobody of the contact's queue
can take it, so another queue's agent is offered it at once; it stays in its queue."""

from __future__ import annotations

import httpx
import pytest

from router.rules.loader import ConfigError, parse_rules
from tests.engine_helpers import CONFIG
from tests.live import ThreadServer, admin_headers, contact_body, online_desktop

SERVER_CONFIG = CONFIG.replace(
    "  billing: {skills: {billing: 1}}",
    "  billing:\n    skills: {billing: 1}\n"
    "    overflow: [{wait_above: 2m, to: tech, priority: 10}]",
)


async def test_a_long_estimate_overflows_at_arrival(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    desk = await online_desktop(server, client, "ov-t", skills={"tech": 4}, languages=["it"])
    reply = (await client.post("/v1/contacts", json=contact_body("ov1"))).json()
    assert reply["queue"] == "billing" and reply["estimated_wait"] is None  # no billing agent
    offer = await desk.next_event("offer")
    assert offer["contact"]["contact_id"] == reply["contact_id"]
    assert offer["explanation"]["overflow"]["to"] == "tech"
    explained = (
        await client.get(f"/v1/contacts/{reply['contact_id']}/explain", headers=admin_headers())
    ).json()
    assert explained["triage"]["queue"] == "billing"
    await desk.close()


def test_overflow_rules_are_checked_with_their_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules(SERVER_CONFIG.replace("to: tech", "to: nope"), "ops.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 21 and "overflow to 'nope'" in problem.message
    with pytest.raises(ConfigError, match="exactly one of `after` and `wait_above`"):
        parse_rules(SERVER_CONFIG.replace("wait_above: 2m", "after: 1s, wait_above: 2m"))
