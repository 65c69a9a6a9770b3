"""Who a web-chat customer is: only what the embedding site signed; an agent links an
unverified customer after checking, and the audit trail says who did it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from channels.signed_identity import sign
from tests.live import (
    REPO,
    ChatCustomer,
    ThreadServer,
    admin_headers,
    count_rows,
    create_agent,
    online_desktop,
)

SERVER_CONFIG = (REPO / "config.yaml").read_text()
SECRET = "acme-site-secret-2026"


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {"chat_identity_keys": f"acme-2026:{SECRET}, acme-2025:an-older-secret-000"}


async def vera(client: httpx.AsyncClient) -> str:
    """Vera, known from an earlier email about her stolen card; her customer id."""
    reply = await client.post(
        "/v1/contacts",
        json={
            "gateway": "mail",
            "message_id": "vera-1",
            "channel": "email",
            "customer": {"email": "vera@example.com", "name": "Vera"},
            "text": "mi hanno rubato la carta",
        },
    )
    stored = await client.get(f"/v1/contacts/{reply.json()['contact_id']}", headers=admin_headers())
    customer_id: str = stored.json()["customer_id"]
    return customer_id


def signed(**subject: str) -> dict[str, Any]:
    issued = int(time.time())
    return {
        **subject,
        "key_id": "acme-2026",
        "issued_at": issued,
        "signature": sign(SECRET, "acme-2026", issued, **subject),
    }


async def customer_of(client: httpx.AsyncClient, contact_id: str) -> dict[str, Any]:
    reply = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    body: dict[str, Any] = reply.json()
    return body


async def test_a_signed_email_is_the_existing_customer(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    vera_id = await vera(client)
    chat = ChatCustomer(server)
    started = await chat.start("ciao", language="it", identity=signed(email="vera@example.com"))
    assert started["type"] == "started" and started["verified"] is True
    assert (await customer_of(client, started["contact_id"]))["customer_id"] == vera_id
    await chat.ws.close()


async def test_a_signed_user_id_is_the_same_customer_each_time(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    ids = []
    for _ in range(2):
        chat = ChatCustomer(server)
        started = await chat.start("ciao", language="it", identity=signed(user_id="u-778"))
        assert started["verified"] is True
        ids.append((await customer_of(client, started["contact_id"]))["customer_id"])
        await chat.ws.send('{"type": "leave"}')
        await chat.ws.wait_closed()
    assert ids[0] == ids[1]


async def test_a_bad_signature_or_a_bare_claim_is_a_fresh_unverified_customer(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    vera_id = await vera(client)
    forged = {**signed(email="vera@example.com"), "signature": "ab" * 32}
    stale = signed(email="vera@example.com")
    stale["issued_at"] -= 3600
    seen = set()
    for identity in (forged, stale, None):
        chat = ChatCustomer(server)
        extra = {"identity": identity} if identity else {}
        started = await chat.start("ciao", email="vera@example.com", language="it", **extra)
        assert started["verified"] is False
        stored = await customer_of(client, started["contact_id"])
        assert stored["customer_id"] != vera_id
        assert stored["customer"]["email"] == "vera@example.com"  # shown as a claim only
        assert stored["customer"]["verified"] is False
        seen.add(stored["customer_id"])
        await chat.ws.close()
    assert len(seen) == 3  # one fresh customer each, never linked to each other
    database = tmp_path / "centralino.db"
    assert count_rows(database, "identities", f"customer_id = '{vera_id}'") == 1


async def test_the_agent_sees_the_claim_as_unverified_and_may_link_after_checking(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    vera_id = await vera(client)
    other = await create_agent(client, "nosy", skills={"tech": 5}, languages=["it"])
    agent = await online_desktop(
        server,
        client,
        "sara",
        skills={"customer_care": 5, "billing": 5, "cards": 5},
        languages=["it", "en"],
    )
    chat = ChatCustomer(server)
    started = await chat.start("ciao, sono Vera", email="vera@example.com", language="it")
    contact_id = started["contact_id"]
    offer = await agent.next_event("offer")
    while offer["contact"]["contact_id"] != contact_id:  # Vera's earlier email came first
        offer = await agent.next_event("offer")
    assert offer["contact"]["customer"]["verified"] is False
    assert offer["contact"]["history"] == []  # nothing of Vera's shows
    await agent.request("accept", offer_id=offer["offer_id"])

    link = f"/v1/contacts/{contact_id}/customer/link"
    checked = {"checked": "security questions and a code sent to her email"}
    assert (await client.post(link, json=checked)).status_code == 401
    nosy = await client.post(link, json=checked, headers={"Authorization": f"Bearer {other}"})
    assert nosy.status_code == 403  # not the agent holding the contact
    assert (await customer_of(client, contact_id))["customer_id"] != vera_id

    linked = await client.post(
        link, json=checked, headers={"Authorization": f"Bearer {agent.token}"}
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["customer_id"] == vera_id
    assert linked.json()["identities"] == ["email:vera@example.com"]
    assert (await customer_of(client, contact_id))["customer_id"] == vera_id
    explained = await client.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    audit = [d for d in explained.json()["decisions"] if d["kind"] == "customer_linked"]
    assert audit and audit[0]["by"] == "agent:sara"
    assert audit[0]["checked"] == checked["checked"]
    assert audit[0]["customer_id"] == vera_id
    await chat.ws.close()
    await agent.close()


async def test_a_verified_customer_is_not_linked_again(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    await vera(client)
    chat = ChatCustomer(server)
    started = await chat.start("ciao", language="it", identity=signed(email="vera@example.com"))
    reply = await client.post(
        f"/v1/contacts/{started['contact_id']}/customer/link",
        json={"checked": "by phone"},
        headers=admin_headers(),
    )
    assert reply.status_code == 409
    await chat.ws.close()
