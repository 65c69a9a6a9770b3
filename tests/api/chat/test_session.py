"""Web chat: a real customer websocket and a real agent desktop, both ways."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
import websockets

from tests.live import REPO, ThreadServer, admin_headers, count_rows, online_desktop
from tests.live import ChatCustomer as Customer
from tests.receivers import until

SERVER_CONFIG = (REPO / "config.yaml").read_text()


async def test_customer_and_agent_chat_both_ways(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    agent = await online_desktop(
        server, client, "sara", name="Sara", languages=["it"], skills={"billing": 5}
    )
    customer = Customer(server)
    started = await customer.start(
        "Salve, ho una domanda sulla bolletta",
        name="Mario",
        email="mario@example.it",
        language="it",
    )
    assert started["type"] == "started"
    offer = await agent.next_event("offer")
    assert offer["contact"]["contact_id"] == started["contact_id"]
    assert offer["channel"] == "chat"
    await agent.request("accept", offer_id=offer["offer_id"])
    assert (await customer.next("agent_joined"))["agent"] == "Sara"
    await customer.say("L'importo è il doppio del solito")
    said = await agent.next_event("message")
    assert said["contact_id"] == started["contact_id"]
    assert said["text"] == "L'importo è il doppio del solito" and said["kind"] == "message"
    reply = await agent.request(
        "message", contact_id=started["contact_id"], text="Controllo subito, un attimo"
    )
    assert reply["type"] == "ack"
    heard = await customer.next("message")
    assert heard == {
        "type": "message",
        "from": "agent",
        "agent": "Sara",
        "text": "Controllo subito, un attimo",
    }
    await agent.request("end", contact_id=started["contact_id"])
    assert (await customer.next("ended"))["type"] == "ended"
    await customer.ws.close()
    await agent.close()


async def test_customer_leaving_before_an_answer_abandons(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    customer = Customer(server)
    started = await customer.start("C'è qualcuno?", language="it")
    await customer.ws.send(json.dumps({"type": "leave"}))
    await customer.ws.wait_closed()
    for _ in range(50):
        stored = await client.get(f"/v1/contacts/{started['contact_id']}", headers=admin_headers())
        if stored.json()["state"] == "abandoned":
            break
        await asyncio.sleep(0.02)
    assert stored.json()["state"] == "abandoned"


async def test_closing_the_page_after_an_answer_ends_the_chat(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    agent = await online_desktop(
        server, client, "gino", languages=["it"], skills={"customer_care": 5}
    )
    customer = Customer(server)
    started = await customer.start("Buongiorno", language="it")
    offer = await agent.next_event("offer")
    await agent.request("accept", offer_id=offer["offer_id"])
    await customer.next("agent_joined")
    await customer.ws.close()  # the tab is gone
    wrap = await agent.next_event("wrap_up")
    assert wrap["contact_id"] == started["contact_id"] and wrap["ended_by"] == "customer"
    late = await agent.request("message", contact_id=started["contact_id"], text="ci sei?")
    assert late["code"] == "not_allowed"
    await agent.close()


async def test_agent_cannot_write_into_someone_elses_chat(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    other = await online_desktop(server, client, "other", languages=["it"], skills={"tech": 5})
    customer = Customer(server)
    started = await customer.start("Ciao", language="it")
    reply = await other.request("message", contact_id=started["contact_id"], text="spam")
    assert reply["code"] == "not_allowed"
    await customer.ws.close()
    await other.close()


async def test_bad_start_is_refused_and_nothing_stored(
    server: ThreadServer, tmp_path: Path
) -> None:
    customer = Customer(server)
    error = await customer.start("", language="it")
    assert error["type"] == "error" and "text" in error["message"]
    with pytest.raises(websockets.ConnectionClosed):
        await customer.next()
    async with websockets.connect(customer.url) as ws:
        await ws.send(json.dumps({"type": "message", "text": "skipping the start"}))
        assert json.loads(await ws.recv())["code"] == "bad_message"
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


async def test_chat_origin_check(tmp_path: Path) -> None:
    guarded = ThreadServer(
        tmp_path / "o.db", config=SERVER_CONFIG, chat_origins="https://www.acme.it"
    ).start()
    try:
        stranger = Customer(guarded, Origin="https://evil.example")
        with pytest.raises(websockets.InvalidStatus):
            await stranger.start("ciao", language="it")
        welcome = Customer(guarded, Origin="https://www.acme.it")
        assert (await welcome.start("ciao", language="it"))["type"] == "started"
        await welcome.ws.close()
        widget = Customer(guarded, Origin=guarded.url)  # our own /chat page, e.g. iframed
        assert (await widget.start("ciao", language="it"))["type"] == "started"
        await widget.ws.close()
        nobody = Customer(guarded)  # no Origin: not a page of a listed site
        with pytest.raises(websockets.InvalidStatus):
            await nobody.start("ciao", language="it")
    finally:
        guarded.stop()


async def test_widget_page_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/chat")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/chat.js"' in page.text
    script = await client.get("/static/chat.js")
    assert "/v1/chat" in script.text and "new WebSocket" in script.text


async def test_a_chat_the_store_cannot_take_is_told_to_try_again_and_goes_on(
    tmp_path: Path,
) -> None:
    """The store cannot write (a table gone from under the server): a chat that cannot
    start is told ``unavailable`` and closed with 1013 (try again), not left with an
    internal error; a message that cannot be stored is answered ``unavailable`` ("send it
    again") and the chat goes on, where before it ended the conversation silently."""
    database = tmp_path / "centralino.db"
    server = ThreadServer(database).start()
    try:
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE contacts RENAME TO contacts_gone")
        customer = Customer(server)
        await told_to_try_again(customer)
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE contacts_gone RENAME TO contacts")
        started = await customer.start("Salve, ho una domanda sulla bolletta", language="it")
        assert started["type"] == "started", started
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE messages RENAME TO messages_gone")
        await customer.say("L'importo è il doppio del solito")
        lost = await customer.next("error", timeout=30)
        assert lost["code"] == "unavailable" and "send it again" in lost["message"], lost
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE messages_gone RENAME TO messages")
        await customer.say("L'importo è il doppio del solito")
        where = "text = 'L''importo è il doppio del solito'"
        await until(
            lambda: count_rows(database, "messages", where) == 1, what="the message, stored"
        )
        await customer.ws.close()
    finally:
        server.stop()


REFUSE_THREADS = (
    "CREATE TRIGGER refuse_threads BEFORE INSERT ON threads "
    "BEGIN SELECT RAISE(ABORT, 'threads refused'); END"
)


async def test_a_chat_whose_thread_cannot_be_stored_leaves_no_contact_behind(
    tmp_path: Path,
) -> None:
    """The store refuses the chat's thread key (it can still read): the start is told to
    try again and nothing is stored, where before the contact was stored first and then
    waited for an agent without its customer, who had been told to start again."""
    database = tmp_path / "centralino.db"
    server = ThreadServer(database).start()
    try:
        with sqlite3.connect(database) as db:
            db.execute(REFUSE_THREADS)
        customer = Customer(server)
        await told_to_try_again(customer)
        assert count_rows(database, "contacts") == 0
        with sqlite3.connect(database) as db:
            db.execute("DROP TRIGGER refuse_threads")
        started = await customer.start("Salve, ho una domanda sulla bolletta", language="it")
        assert started["type"] == "started", started
        assert count_rows(database, "contacts") == 1
        assert count_rows(database, "threads", f"contact_id = '{started['contact_id']}'") == 1
        await customer.ws.close()
    finally:
        server.stop()


async def test_a_chat_whose_customer_was_erased_stores_nothing_more(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The chat is over and its customer erased while the widget is still open: what the
    customer writes next is not stored (on the blanked contact, with its gateway event);
    the widget is told the chat has ended."""
    agent = await online_desktop(server, client, "vera", languages=["it"], skills={"billing": 5})
    customer = Customer(server)
    started = await customer.start(
        "Salve, ho una domanda sulla bolletta", language="it", email="rita@example.it"
    )
    contact_id = started["contact_id"]
    offer = await agent.next_event("offer")
    customer_id = offer["contact"]["profile"]["customer_id"]
    await agent.request("accept", offer_id=offer["offer_id"])
    await agent.request("end", contact_id=contact_id)
    await customer.next("ended")  # the agent ended it
    await agent.request("wrap_up", contact_id=contact_id, outcome="fatto", resolved=True)
    await customer.next("ended")  # and wrapped it up
    erased = await client.post(f"/v1/customers/{customer_id}/erase", headers=admin_headers())
    assert erased.status_code == 200, erased.text
    await customer.say("Il mio IBAN è IT60X0542811101000000123456")
    assert (await customer.next("ended"))["type"] == "ended"
    assert count_rows(tmp_path / "centralino.db", "messages", "text like '%IBAN%'") == 0
    await customer.ws.close()
    await agent.close()


async def told_to_try_again(customer: Customer) -> None:
    """A start the store cannot take: ``unavailable``, then closed with 1013. Answered
    after the store's retries (about 8 s), so a blip would have healed."""
    refused = await customer.start(
        "Salve, ho una domanda sulla bolletta", timeout=60, language="it"
    )
    assert refused["type"] == "error" and refused["code"] == "unavailable", refused
    with pytest.raises(websockets.ConnectionClosed):
        await customer.next()
    assert customer.ws.close_code == 1013
