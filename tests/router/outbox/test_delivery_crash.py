"""kill -9 of the router between decisions and their delivery: after a restart every
committed event reaches the subscriber at least once, in order per contact, correctly
signed; nothing is announced that the record does not hold.

The flow of tests/router/test_crash_acks.py (gateways posting, desktops accepting and
wrapping up, a kill at the 25th acknowledged accept) with a webhook subscriber that takes
the first 30 deliveries and then fails until the server was restarted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx

from router.outbox.signing import HEADER, verify
from tests.engine_helpers import CONFIG
from tests.live import Acks, ProcessServer, admin_headers, load_until_killed, query
from tests.receivers import Received, Receiver, until

SECRET = "whsec_test-secret-for-the-crash-test"


class Flaky:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answered = 0
        self.recovered = False

    def __call__(self, _request: Received) -> tuple[int, bytes]:
        with self.lock:
            self.answered += 1
            healthy = self.recovered or self.answered <= 30
        return (200, b"{}") if healthy else (503, b"busy")


async def test_kill_9_between_decision_and_delivery_loses_no_event(tmp_path: Path) -> None:
    database, config_path = tmp_path / "crash.db", tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    env = {"CENTRALINO_WEBHOOK_RETRY_MAX": "0.5"}
    flaky = Flaky()
    receiver = Receiver(flaky).start()
    server = ProcessServer(database, config_path, env=env).start()
    assert server.proc is not None
    acks = Acks(kill_after=25, kill=server.proc.kill)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            reply = await http.post(
                "/v1/subscriptions",
                json={"url": receiver.url + "/events", "id": "crm", "secret": SECRET},
                headers=admin_headers(),
            )
            assert reply.status_code == 201, reply.text
    except BaseException:
        server.kill()
        receiver.stop()
        raise
    await load_until_killed(server, acks, gateways=3, timeout=90)
    committed_before_restart = {
        row[0] for row in await query(database, "select event_id from outbox_events")
    }
    assert len(receiver.accepted()) < len(committed_before_restart)  # some were not delivered

    flaky.recovered = True
    restarted = ProcessServer(database, config_path, env=env).start()
    try:

        def pending() -> int:
            reply = httpx.get(f"{restarted.url}/v1/subscriptions/crm", headers=admin_headers())
            return int(reply.json()["pending"])

        await until(lambda: pending() == 0, timeout=120, what="every event delivered")
    finally:
        restarted.kill()
        receiver.stop()

    outbox = await query(
        database, "select seq, event_id, contact_id from outbox_events order by seq"
    )
    seq_of = {event_id: seq for seq, event_id, _ in outbox}
    delivered = [json.loads(request.body) for request in receiver.accepted()]
    delivered_ids = {event["id"] for event in delivered}
    assert delivered_ids == set(seq_of), "every committed event, and nothing else"
    assert committed_before_restart <= delivered_ids
    # in order per contact: each contact's first deliveries follow the commit order
    firsts: dict[str, list[int]] = {}
    seen: set[str] = set()
    for event in delivered:
        if event["id"] not in seen:
            seen.add(event["id"])
            firsts.setdefault(event["contact"]["id"], []).append(seq_of[event["id"]])
    assert all(seqs == sorted(seqs) for seqs in firsts.values())
    for request in receiver.accepted():  # signed (checked at receipt time, within the window)
        signed_at = int(request.headers[HEADER.lower()].split(",")[0].removeprefix("t="))
        assert verify(SECRET, request.headers[HEADER.lower()], request.body, signed_at)
    # every acknowledged accept was announced, with the agent who holds it in the record
    assigned = {
        event["data"]["offer_id"]: (event["data"]["agent"]["id"], event["contact"]["id"])
        for event in delivered
        if event["type"] == "contact.assigned"
    }
    for offer_id, holder in acks.accepts.items():
        assert assigned.get(offer_id) == holder
    accepted = {
        offer_id: (agent, contact)
        for offer_id, agent, contact in await query(
            database, "select id, agent_id, contact_id from offers where outcome = 'accepted'"
        )
    }
    assert all(accepted.get(offer_id) == holder for offer_id, holder in assigned.items())
