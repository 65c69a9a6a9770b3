"""Triage end to end: identity across channels, history, moments of truth, re-scoring."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tests.live import REPO, ThreadServer, admin_headers, online_desktop

SHIPPED = (REPO / "config.yaml").read_text()
# the shipped rules, with the preferred-agent wait cut to 1 s so tests can see it lapse
SERVER_CONFIG = SHIPPED.replace("  max_wait: 10s\n", "  max_wait: 1s\n", 1)
assert SERVER_CONFIG != SHIPPED, "the shipped preferred_agent.max_wait moved; update this"


def contact(message_id: str, text: str, channel: str = "chat", **fields: Any) -> dict[str, Any]:
    return {"gateway": "gw", "message_id": message_id, "channel": channel, "text": text, **fields}


async def stored(client: httpx.AsyncClient, contact_id: str) -> dict[str, Any]:
    reply = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    result: dict[str, Any] = reply.json()
    return result


async def explain(client: httpx.AsyncClient, contact_id: str) -> dict[str, Any]:
    reply = await client.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    result: dict[str, Any] = reply.json()
    return result


async def test_email_and_call_from_the_same_customer_are_one_customer(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    mail = await client.post(
        "/v1/contacts",
        json=contact(
            "e1",
            "Buongiorno, la bolletta di ottobre è sbagliata. Potete richiamarmi al 333 1234567?",
            channel="email",
            customer={
                "name": "Mario Rossi",
                "email": "Mario.Rossi@example.it",
                "phone": "333 1234567",
            },
        ),
    )
    call = await client.post(
        "/v1/contacts",
        json=contact(
            "v1", "", channel="voice", customer={"phone": "+39 333 123 4567"}, language="it"
        ),
    )
    first, second = mail.json()["contact_id"], call.json()["contact_id"]
    assert (await stored(client, first))["customer_id"] == (await stored(client, second))[
        "customer_id"
    ]
    triage = (await explain(client, second))["triage"]
    assert triage["customer"]["previous_contacts"] == 1
    assert triage["identities"] == ["phone:+393331234567"]
    with sqlite3.connect(tmp_path / "centralino.db") as db:
        assert db.execute("select count(*) from customers").fetchone()[0] == 1


async def test_contact_revealing_two_identities_links_two_customers(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    by_mail = await client.post(
        "/v1/contacts", json=contact("l1", "info", customer={"email": "anna@example.it"})
    )
    by_phone = await client.post(
        "/v1/contacts",
        json=contact("l2", "info", channel="voice", customer={"phone": "3471112222"}),
    )
    both = await client.post(
        "/v1/contacts",
        json=contact("l3", "info", customer={"email": "anna@example.it", "phone": "347 111 2222"}),
    )
    ids = [
        (await stored(client, r.json()["contact_id"]))["customer_id"]
        for r in (by_mail, by_phone, both)
    ]
    assert len(set(ids)) == 1
    assert (await explain(client, both.json()["contact_id"]))["triage"]["linked_customers"]


async def test_invalid_phone_is_422_and_nothing_stored(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    reply = await client.post("/v1/contacts", json=contact("bad", "ciao", customer={"phone": "12"}))
    assert reply.status_code == 422 and "phone" in reply.text
    with sqlite3.connect(tmp_path / "centralino.db") as db:
        assert db.execute("select count(*) from contacts").fetchone()[0] == 0


async def test_unresolved_case_goes_back_to_its_agent_then_same_department(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    customer = {"email": "luca@example.it"}
    giulia = await online_desktop(server, client, "giulia", skills={"billing": 5}, languages=["it"])
    first = await client.post(
        "/v1/contacts", json=contact("p1", "La bolletta è troppo alta", customer=customer)
    )
    offer = await giulia.next_event("offer")
    await giulia.request("accept", offer_id=offer["offer_id"])
    await giulia.request(
        "wrap_up",
        contact_id=first.json()["contact_id"],
        outcome="verifica in corso",
        resolved=False,
    )
    # Giulia is free: the customer's next contact goes straight to her
    again = await client.post(
        "/v1/contacts", json=contact("p2", "Vi ho già scritto, nessuna novità?", customer=customer)
    )
    offer = await giulia.next_event("offer")
    assert offer["contact"]["contact_id"] == again.json()["contact_id"]
    assert offer["explanation"]["preferred"] == {"agent": "giulia", "result": "offered"}
    assert offer["contact"]["open_case"] == {"queue": "billing", "agent_id": "giulia"}
    assert offer["contact"]["history"][0]["outcome"] == "verifica in corso"
    triage = (await explain(client, again.json()["contact_id"]))["triage"]
    assert triage["history_boost"] == 15.0  # repeat contact about an unresolved case
    assert triage["queue"] == "billing"  # no rule claimed it: the open case's department
    await giulia.request("reject", offer_id=offer["offer_id"], reason="in pausa")
    await giulia.request("presence", presence="away")
    # she is away: the third contact waits for her, then falls back to billing colleagues
    marco = await online_desktop(server, client, "marco", skills={"billing": 5}, languages=["it"])
    third = await client.post(
        "/v1/contacts", json=contact("p3", "Scusate, è urgente", customer=customer)
    )
    fallback = await marco.next_event("offer", timeout=5)
    if fallback["contact"]["contact_id"] != third.json()["contact_id"]:
        fallback = await marco.next_event("offer", timeout=5)
    assert fallback["contact"]["contact_id"] == third.json()["contact_id"]
    assert fallback["explanation"]["trigger"] == "preferred_wait_over"
    decisions = (await explain(client, third.json()["contact_id"]))["decisions"]
    assert "waiting for it" in decisions[0]["explanation"]["preferred"]["result"]
    for desk in (giulia, marco):
        await desk.close()


async def test_moment_of_truth_needs_an_agent_with_empathy(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    cold = await online_desktop(server, client, "cold", skills={"cards": 5}, languages=["it"])
    warm = await online_desktop(
        server, client, "warm", skills={"cards": 5, "empathy": 4}, languages=["it"]
    )
    posted = await client.post(
        "/v1/contacts", json=contact("mot", "Mi hanno rubato la carta in metro, aiutatemi!")
    )
    assert posted.json()["queue"] == "cards"
    offer = await warm.next_event("offer")
    assert offer["contact"]["moment_of_truth"] is True
    assert offer["contact"]["emotion"]["label"] == "negative"
    assert offer["explanation"]["step"]["requirements"] == {"cards": 3, "empathy": 3}
    assert cold.events == []
    for desk in (cold, warm):
        await desk.close()


async def test_new_message_rescores_a_waiting_contact_and_reaches_its_agent(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    early = await client.post(
        "/v1/contacts", json=contact("r1", "Vorrei una copia della fattura", language="it")
    )
    late = await client.post(
        "/v1/contacts", json=contact("r2", "Vorrei sapere una cosa sulla fattura", language="it")
    )
    waiting = (await client.get("/v1/queues/billing/contacts", headers=admin_headers())).json()
    assert [c["contact_id"] for c in waiting] == [
        early.json()["contact_id"],
        late.json()["contact_id"],
    ]
    reply = await client.post(
        f"/v1/contacts/{late.json()['contact_id']}/messages",
        json={"text": "SONO ANCORA QUI!!! Nessuno mi risponde, è una vergogna"},
    )
    assert reply.json()["rescored"] is True and reply.json()["emotion"]["label"] == "negative"
    waiting = (await client.get("/v1/queues/billing/contacts", headers=admin_headers())).json()
    assert waiting[0]["contact_id"] == late.json()["contact_id"]
    desk = await online_desktop(server, client, "b1", skills={"billing": 5}, languages=["it"])
    offer = await desk.next_event("offer")
    assert offer["contact"]["contact_id"] == late.json()["contact_id"]
    assert offer["contact"]["messages"][0]["text"].startswith("SONO ANCORA QUI")
    await desk.request("accept", offer_id=offer["offer_id"])
    await client.post(
        f"/v1/contacts/{late.json()['contact_id']}/messages",
        json={"text": "grazie, scusate lo sfogo", "kind": "message"},
    )
    update = await desk.next_event("contact_update")
    assert update["contact"]["contact_id"] == late.json()["contact_id"]
    transcript = await client.post(
        f"/v1/contacts/{early.json()['contact_id']}/messages",
        json={"text": "...", "kind": "transcript", "sentiment": -0.9},
    )
    assert transcript.json()["urgency"] >= 0.45  # a provider's score is used as given
    assert (await client.post("/v1/contacts/nope/messages", json={"text": "x"})).status_code == 404
    await desk.close()


async def test_rules_see_triage_facts(client: httpx.AsyncClient) -> None:
    posted = await client.post(
        "/v1/contacts",
        json=contact("leave", "Basta, voglio fare disdetta e passare a un altro operatore"),
    )
    assert posted.json()["queue"] == "retention"
    triage = (await explain(client, posted.json()["contact_id"]))["triage"]
    assert triage["intent"] == "cancel_account" and triage["language"] == "it"
    assert triage["language_source"] == "detected"
    await asyncio.sleep(0)
