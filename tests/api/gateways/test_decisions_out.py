"""Decisions out over real HTTP: a subscriber hears of every decision on a contact, signed
and in order; the pull stream and the long poll resume by event id; replay re-sends."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from router.outbox.signing import HEADER, verify
from tests.live import ThreadServer, admin_headers, contact_body, online_desktop
from tests.receivers import Received, Receiver, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


def events_of(received: list[Received]) -> list[dict[str, object]]:
    return [json.loads(request.body) for request in received]


async def subscribe(client: httpx.AsyncClient, url: str, **body: object) -> str:
    reply = await client.post(
        "/v1/subscriptions", json={"url": url, **body}, headers=admin_headers()
    )
    assert reply.status_code == 201, reply.text
    secret: str = reply.json()["secret"]
    return secret


def subscription(server: ThreadServer, name: str) -> dict[str, Any]:
    reply = httpx.get(f"{server.url}/v1/subscriptions/{name}", headers=admin_headers())
    return dict(reply.json())


async def test_a_subscriber_hears_every_decision_signed_and_in_order(
    server: ThreadServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    secret = await subscribe(client, receiver.url + "/hooks", id="crm")
    desk = await online_desktop(
        server,
        client,
        "anna",
        skills={"billing": 5},
        languages=["it"],
        endpoint={"kind": "user", "value": "crm-user-42"},
    )
    contact_id = (await client.post("/v1/contacts", json=contact_body("d1"))).json()["contact_id"]
    offer = await desk.next_event("offer")
    assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    await desk.request("end", contact_id=contact_id)
    await desk.request("wrap_up", contact_id=contact_id, outcome="ok", resolved=True)

    received = await until(
        lambda: len(receiver.accepted()) >= 4 and receiver.accepted(), what="4 events"
    )
    events = events_of(received)
    assert [event["type"] for event in events] == [
        "contact.queued",
        "contact.offered",
        "contact.assigned",
        "contact.completed",
    ]
    assert all(event["contact"]["id"] == contact_id for event in events)  # type: ignore[index]
    assert events[0]["contact"] == {  # the gateway's own ids for the contact
        "id": contact_id,
        "gateway": "test-gw",
        "external_id": "d1",
        "channel": "chat",
    }
    assigned = events[2]["data"]
    assert assigned["offer_id"] == offer["offer_id"]  # type: ignore[index]
    assert assigned["agent"] == {  # type: ignore[index]
        "id": "anna",
        "name": "",
        "endpoint": {"kind": "user", "value": "crm-user-42"},
    }
    for request in received:
        assert request.path == "/hooks"
        assert verify(secret, request.headers[HEADER.lower()], request.body, time.time())
        assert not verify("whsec_other", request.headers[HEADER.lower()], request.body, time.time())
        assert request.headers["centralino-event-id"] == json.loads(request.body)["id"]
    # the sender records a delivery after the receiver's answer: wait for its bookkeeping
    status = await until(
        lambda: (found := subscription(server, "crm"))["pending"] == 0 and found,
        what="deliveries recorded",
    )
    assert status["delivered"] == 4 and status["last_error"] == ""
    metrics = (await client.get("/metrics")).text
    assert 'centralino_event_deliveries_total{result="ok",subscription="crm"} 4.0' in metrics
    await desk.close()


async def test_a_failing_subscriber_gets_everything_in_order_once_it_recovers(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    failing = {"on": True}

    def answer(_request: Received) -> tuple[int, bytes]:
        return (500, b"down") if failing["on"] else (200, b"{}")

    receiver = Receiver(answer).start()
    try:
        await subscribe(client, receiver.url, id="flaky", types=["contact.queued"])
        for n in range(5):
            await client.post("/v1/contacts", json=contact_body(f"f{n}"))
        await until(lambda: len(receiver.answered) >= 3, what="failed attempts")
        status = (await client.get("/v1/subscriptions/flaky", headers=admin_headers())).json()
        assert "HTTP 500" in status["last_error"] and status["failing_since"] is not None
        assert status["pending"] == 5
        failing["on"] = False
        received = await until(lambda: len(receiver.accepted()) >= 5 and receiver.accepted())
        message_ids = [event["contact"]["external_id"] for event in events_of(received)]  # type: ignore[index]
        # contacts are independent lanes; each contact's own events stay in order
        assert sorted(set(message_ids)) == [f"f{n}" for n in range(5)]
        await until(
            lambda: (
                httpx.get(f"{server.url}/v1/subscriptions/flaky", headers=admin_headers()).json()[
                    "pending"
                ]
                == 0
            )
        )
    finally:
        receiver.stop()


async def test_gone_disables_and_a_4xx_is_given_up_with_its_reason(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    refusing = Receiver(lambda _r: (400, b"bad schema")).start()
    gone = Receiver(lambda _r: (410, b"")).start()
    try:
        await subscribe(client, refusing.url, id="refusing", types=["contact.queued"])
        await subscribe(client, gone.url, id="gone", types=["contact.queued"])
        await client.post("/v1/contacts", json=contact_body("g1"))

        def status(name: str) -> dict[str, object]:
            reply = httpx.get(f"{server.url}/v1/subscriptions/{name}", headers=admin_headers())
            return dict(reply.json())

        await until(lambda: status("gone")["status"] == "disabled", what="disabled")
        await until(lambda: status("refusing")["pending"] == 0, what="given up")
        assert "bad schema" in str(status("refusing")["last_error"])
        assert len(refusing.answered) == 1  # a 4xx is not retried
    finally:
        refusing.stop()
        gone.stop()


async def test_replay_resends_after_an_event_id(
    server: ThreadServer, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, receiver.url, id="replayed", types=["contact.queued"])
    for n in range(3):
        await client.post("/v1/contacts", json=contact_body(f"r{n}"))
    first = events_of(await until(lambda: len(receiver.accepted()) >= 3 and receiver.accepted()))
    reply = await client.post(
        "/v1/subscriptions/replayed/replay",
        json={"after_event_id": first[0]["id"]},
        headers=admin_headers(),
    )
    assert reply.status_code == 200, reply.text
    again = events_of(await until(lambda: len(receiver.accepted()) >= 5 and receiver.accepted()))
    assert [event["id"] for event in again[3:]] == [first[1]["id"], first[2]["id"]]
    unknown = await client.post(
        "/v1/subscriptions/replayed/replay",
        json={"after_event_id": "evt_nope"},
        headers=admin_headers(),
    )
    assert unknown.status_code == 404


async def test_bad_subscriptions_are_refused_clearly(client: httpx.AsyncClient) -> None:
    for body in (
        {"url": "not a url"},
        {"url": "http://x.example/h", "types": ["contact.exploded"]},
        {"url": "http://x.example/h", "secret": "short"},
        {"url": "http://x.example/h", "extra": 1},
    ):
        reply = await client.post("/v1/subscriptions", json=body, headers=admin_headers())
        assert reply.status_code == 422, body
    assert (await client.post("/v1/subscriptions", json={"url": "http://x/h"})).status_code == 401
    created = await client.post(
        "/v1/subscriptions",
        json={"url": "http://x.example/h", "id": "dup"},
        headers=admin_headers(),
    )
    assert created.status_code == 201
    again = await client.post(
        "/v1/subscriptions",
        json={"url": "http://x.example/h", "id": "dup"},
        headers=admin_headers(),
    )
    assert again.status_code == 409
    bad_endpoint = await client.put(
        "/v1/agents/x1",
        json={"endpoint": {"kind": "sip", "value": "agent"}},
        headers=admin_headers(),
    )
    assert bad_endpoint.status_code == 422 and "sip:" in bad_endpoint.text


async def test_the_long_poll_and_the_stream_resume_by_event_id(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    start = (await client.get("/v1/events", params={"after": "0"}, headers=admin_headers())).json()
    assert start["events"] == []
    await client.post("/v1/contacts", json=contact_body("s1"))
    await client.post("/v1/contacts", json=contact_body("s2"))
    polled = (
        await client.get(
            "/v1/events",
            params={"after": "0", "types": "contact.queued", "wait": 10},
            headers=admin_headers(),
        )
    ).json()
    assert [e["contact"]["external_id"] for e in polled["events"]][:1] == ["s1"]

    def queued_count() -> int:
        params = {"after": "0", "types": "contact.queued"}
        reply = httpx.get(f"{server.url}/v1/events", params=params, headers=admin_headers())
        return len(reply.json()["events"])

    await until(lambda: queued_count() == 2)
    first_id = polled["events"][0]["id"]
    frames: list[str] = []
    async with client.stream(
        "GET",
        "/v1/events/stream",
        params={"types": "contact.queued"},
        headers={**admin_headers(), "Last-Event-ID": first_id},
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                frames.append(line[6:])
                break
    assert json.loads(frames[0])["contact"]["external_id"] == "s2"
    unknown = await client.get("/v1/events", params={"after": "evt_x"}, headers=admin_headers())
    assert unknown.status_code == 410
    assert (await client.get("/v1/events")).status_code == 401
