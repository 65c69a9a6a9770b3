"""A web-chat customer asks to be called back, then leaves the chat: the contact keeps
its place and the agent's offer says whom to call."""

from __future__ import annotations

import json

import httpx

from tests.live import ChatCustomer, ThreadServer, admin_headers, online_desktop


async def test_a_chat_customer_asks_for_a_callback_and_leaves(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    customer = ChatCustomer(server)
    started = await customer.start("Buongiorno, ho una domanda sulla bolletta")
    contact_id = started["contact_id"]
    await customer.ws.send(json.dumps({"type": "callback", "number": "nope"}))
    refused = await customer.next("error")
    assert refused["code"] == "bad_message" and "not a phone number" in refused["message"]
    await customer.ws.send(json.dumps({"type": "callback", "number": "+39 333 7654321"}))
    taken = await customer.next("callback")
    assert taken["callback"]["number"] == "+39 333 7654321"
    await customer.ws.send(json.dumps({"type": "leave"}))
    await customer.ws.close()

    async def state() -> str:
        view = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
        return str(view.json()["state"])

    assert await state() == "queued"  # leaving did not abandon it
    desk = await online_desktop(server, client, "cb-chat", skills={"billing": 5}, languages=["it"])
    offer = await desk.next_event("offer")
    assert offer["contact"]["contact_id"] == contact_id
    assert offer["contact"]["callback"]["number"] == "+39 333 7654321"
    await desk.close()
