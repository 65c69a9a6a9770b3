"""The customer 360 and personal data over real HTTP and websockets: what the offer shows
about a known customer, phone numbers proposed from an email, the admin API (search,
correct, merge, unmerge, export, erase, audit) and what an erasure leaves behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.live import (
    Desktop,
    ThreadServer,
    admin_headers,
    contact_body,
    count_rows,
    online_desktop,
)

SUPERVISOR = {"Authorization": "Bearer supervisor-token"}
AGENT = {"skills": {"billing": 5}, "languages": ["it"], "capacity": {"email": 5, "voice": 1}}
PAOLO = {"name": "Paolo Neri", "email": "paolo.neri@example.it", "phone": "+39 347 123 4567"}


def SERVER_SETTINGS() -> dict[str, Any]:
    return {"supervisor_token": "supervisor-token"}


def email(message_id: str, customer: dict[str, Any], text: str, **fields: Any) -> dict[str, Any]:
    return contact_body(
        message_id,
        channel="email",
        customer=customer,
        text=text,
        subject="Bolletta di ottobre",
        **fields,
    )


async def handle(desk: Desktop, outcome: str, resolved: bool) -> dict[str, Any]:
    offer = await desk.next_event("offer")
    assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    contact_id = offer["contact"]["contact_id"]
    done = await desk.request("wrap_up", contact_id=contact_id, outcome=outcome, resolved=resolved)
    assert done["type"] == "ack", done
    return offer


async def test_a_known_caller_is_shown_with_name_identities_and_dated_history(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    giulia = await online_desktop(server, client, "giulia", **AGENT)
    first = await client.post("/v1/contacts", json=email("e-1", PAOLO, "L'addebito non torna"))
    await handle(giulia, "rimborso in verifica", resolved=False)
    reply = await client.post(
        f"/v1/contacts/{first.json()['contact_id']}/feedback", json={"csat": 2}
    )
    assert reply.status_code < 300, reply.text
    call = contact_body("call-1", channel="voice", customer={"phone": "+393471234567"}, text="")
    assert (await client.post("/v1/contacts", json=call)).status_code == 202
    offer = await giulia.next_event("offer")
    contact = offer["contact"]
    assert contact["customer"]["name"] == ""  # the channel brought only the number
    profile = contact["profile"]
    assert profile["name"] == "Paolo Neri"  # not "+393471234567"
    assert set(profile["identities"]) == {"email:paolo.neri@example.it", "phone:+393471234567"}
    (line,) = contact["history"]
    assert line["channel"] == "email" and line["subject"] == "Bolletta di ottobre"
    assert line["at"] > 0 and line["queue"] == "billing" and line["agent_id"] == "giulia"
    assert line["outcome_label"] == "rimborso in verifica" and line["csat"] == 2
    assert contact["open_case"] == {"queue": "billing", "agent_id": "giulia"}
    await giulia.close()


async def test_a_phone_in_an_email_signature_is_proposed_not_linked(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    giulia = await online_desktop(server, client, "giulia", **AGENT)
    laura = {"name": "Laura Bianchi", "email": "laura@example.it"}
    text = "La fattura 2024/118 è sbagliata.\n\nCordiali saluti\nLaura Bianchi\nCell. 333 765 4321"
    sent = await client.post("/v1/contacts", json=email("e-2", laura, text))
    contact_id = sent.json()["contact_id"]
    offer = await giulia.next_event("offer")
    (proposed,) = offer["contact"]["proposed_identities"]
    assert proposed["identity"] == "phone:+393337654321" and proposed["found"] == "333 765 4321"
    search = await client.get("/v1/customers", params={"phone": "333 765 4321"}, headers=SUPERVISOR)
    assert search.json() == {"customers": []}  # nothing linked on its own
    path = f"/v1/contacts/{contact_id}/customer/identities"
    agent = {"Authorization": f"Bearer {giulia.token}"}
    body = {"identity": "phone:+393337654321"}
    assert (await client.post(path, json=body, headers=agent)).status_code == 403  # not hers yet
    await giulia.request("accept", offer_id=offer["offer_id"])
    wrong = await client.post(path, json={"identity": "phone:+390000000"}, headers=agent)
    assert wrong.status_code == 422
    confirmed = await client.post(path, json=body, headers=agent)
    assert confirmed.status_code == 200 and confirmed.json()["added"] is True
    (found,) = (
        await client.get("/v1/customers", params={"phone": "+393337654321"}, headers=SUPERVISOR)
    ).json()["customers"]
    assert found["name"] == "Laura Bianchi"
    audit = await client.get(f"/v1/customers/{found['customer_id']}/audit", headers=admin_headers())
    assert [(a["action"], a["by"]) for a in audit.json()["audit"]] == [
        ("identity_added", "agent:giulia")
    ]
    await giulia.close()


async def test_admin_corrects_merges_and_unmerges(client: httpx.AsyncClient) -> None:
    paolo = (await client.post("/v1/contacts", json=email("e-3", PAOLO, "Buongiorno"))).json()
    anna_customer = {"name": "Anna Neri", "email": "anna@example.it"}
    anna = (await client.post("/v1/contacts", json=email("e-4", anna_customer, "Salve"))).json()
    explained = await client.get(f"/v1/contacts/{paolo['contact_id']}", headers=admin_headers())
    paolo_id = explained.json()["customer_id"]
    explained = await client.get(f"/v1/contacts/{anna['contact_id']}", headers=admin_headers())
    anna_id = explained.json()["customer_id"]
    # supervisors read, only admins change
    assert (await client.get(f"/v1/customers/{paolo_id}", headers=SUPERVISOR)).status_code == 200
    for change in (
        client.patch(f"/v1/customers/{paolo_id}", json={"notes": "x"}, headers=SUPERVISOR),
        client.get(f"/v1/customers/{paolo_id}/export", headers=SUPERVISOR),
        client.delete(f"/v1/customers/{paolo_id}", headers=SUPERVISOR),
        client.post(f"/v1/customers/{paolo_id}/merge", json={"merge": anna_id}, headers=SUPERVISOR),
    ):
        assert (await change).status_code == 403
    lucia = {**admin_headers(), "X-Centralino-Operator": "Lucia"}
    patched = await client.patch(
        f"/v1/customers/{paolo_id}", json={"notes": "preferisce email"}, headers=lucia
    )
    assert patched.status_code == 200 and patched.json()["notes"] == "preferisce email"
    assert (
        await client.patch(f"/v1/customers/{paolo_id}", json={}, headers=lucia)
    ).status_code == 422
    assert (await client.get("/v1/customers/nobody", headers=lucia)).status_code == 404
    bad = await client.post(
        f"/v1/customers/{paolo_id}/identities", json={"kind": "phone", "value": "12"}, headers=lucia
    )
    assert bad.status_code == 422 and "phone" in bad.text
    added = await client.post(
        f"/v1/customers/{paolo_id}/identities",
        json={"kind": "instagram", "value": "paolo.n"},
        headers=lucia,
    )
    assert added.status_code == 200 and added.json()["added"] is True
    taken = await client.post(
        f"/v1/customers/{anna_id}/identities",
        json={"kind": "instagram", "value": "paolo.n"},
        headers=lucia,
    )
    assert taken.status_code == 409
    removed = await client.delete(
        f"/v1/customers/{paolo_id}/identities/instagram/paolo.n", headers=lucia
    )
    assert removed.status_code == 200
    assert "instagram:paolo.n" not in str(removed.json()["identities"])
    merged = await client.post(
        f"/v1/customers/{paolo_id}/merge", json={"merge": anna_id}, headers=lucia
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["identities"] == ["email:anna@example.it"]
    # a new email from Anna now lands on Paolo's customer
    again = (
        await client.post("/v1/contacts", json=email("e-5", {"email": "anna@example.it"}, "Ciao"))
    ).json()
    row = await client.get(f"/v1/contacts/{again['contact_id']}", headers=admin_headers())
    assert row.json()["customer_id"] == paolo_id
    undone = await client.post(
        f"/v1/customers/merges/{merged.json()['merge_id']}/undo", headers=lucia
    )
    assert undone.status_code == 200
    assert (
        await client.post(f"/v1/customers/merges/{merged.json()['merge_id']}/undo", headers=lucia)
    ).status_code == 409
    # the cache forgot the merge: Anna's next email is hers again
    later = (
        await client.post("/v1/contacts", json=email("e-6", {"email": "anna@example.it"}, "Ciao"))
    ).json()
    row = await client.get(f"/v1/contacts/{later['contact_id']}", headers=admin_headers())
    assert row.json()["customer_id"] == anna_id
    audit = (await client.get(f"/v1/customers/{paolo_id}/audit", headers=admin_headers())).json()
    assert [a["action"] for a in audit["audit"]] == [
        "updated",
        "identity_added",
        "identity_removed",
        "merged",
        "unmerged",
    ]
    assert {a["by"] for a in audit["audit"]} == {"admin:Lucia"}


async def test_export_then_erase_everywhere(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    giulia = await online_desktop(server, client, "giulia", **AGENT)
    first_seq = giulia.welcome["seq"]
    stream = giulia.welcome["stream"]
    sent = await client.post(
        "/v1/contacts", json=email("e-7", PAOLO, "Il mio IBAN è IT60X0542811101000000123456")
    )
    contact_id = sent.json()["contact_id"]
    offer = await giulia.next_event("offer")
    customer_id = offer["contact"]["profile"]["customer_id"]
    refused = await client.delete(f"/v1/customers/{customer_id}", headers=admin_headers())
    assert refused.status_code == 409 and contact_id in refused.text  # still live
    await giulia.request("accept", offer_id=offer["offer_id"])
    await giulia.request("wrap_up", contact_id=contact_id, outcome="fatto", resolved=True)
    await client.post(
        f"/v1/contacts/{contact_id}/feedback", json={"csat": 5, "comment": "Grazie Giulia"}
    )
    exported = await client.get(f"/v1/customers/{customer_id}/export", headers=admin_headers())
    assert exported.status_code == 200
    data = exported.json()
    assert data["contacts"][0]["text"].startswith("Il mio IBAN")
    assert data["feedback"][0]["comment"] == "Grazie Giulia"
    erased = await client.post(f"/v1/customers/{customer_id}/erase", headers=admin_headers())
    assert erased.status_code == 200, erased.text
    assert erased.json()["counts"]["identities"] == 2
    assert (
        await client.get(f"/v1/customers/{customer_id}", headers=admin_headers())
    ).status_code == 404
    assert (
        await client.get(f"/v1/customers/{customer_id}/export", headers=admin_headers())
    ).status_code == 404
    database = tmp_path / "centralino.db"  # the server fixture's
    assert count_rows(database, "identities") == 0
    assert count_rows(database, "contacts", "text like '%IBAN%'") == 0
    assert count_rows(database, "feedback", "csat = 5 and comment = ''") == 1  # kept, anonymous
    # the desktop's replay buffer no longer holds the text
    await giulia.close()
    again = Desktop(server.ws_url, giulia.token)
    welcome = await again.connect(resume={"stream": stream, "after_seq": first_seq})
    assert welcome["resumed"] is True
    replayed = [await again.recv() for _ in range(welcome["seq"] - first_seq)]
    offers = [event for event in replayed if event["type"] == "offer"]
    assert offers and offers[0]["contact"] == {"contact_id": contact_id, "erased": True}
    assert "IBAN" not in str(replayed)
    await again.close()
    # the intake's identity cache forgot the customer: the same address is someone new
    newer = (await client.post("/v1/contacts", json=email("e-8", PAOLO, "Buongiorno"))).json()
    row = await client.get(f"/v1/contacts/{newer['contact_id']}", headers=admin_headers())
    assert row.json()["customer_id"] not in (None, customer_id)
    audit = (await client.get(f"/v1/customers/{customer_id}/audit", headers=admin_headers())).json()
    assert [a["action"] for a in audit["audit"]] == ["exported", "erased"]
    assert "Paolo" not in str(audit) and "IBAN" not in str(audit)
