"""The pages as people use them, in a real Chromium: signed in with the keyboard alone, in
Italian or English, an offer with its countdown and the customer's wait, sentiment in
words, a canned reply, a transfer to a named colleague with a note, wrap-up with outcome
codes from config.yaml; the wallboard on a 24-hour clock without contact ids; the chat
widget at phone and desktop widths. axe-core finds no serious or critical violation on
any page; screenshots go to tests/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.ops.page_checks import (
    axe_violations,
    choose_by_keyboard,
    focus_is_visible,
    shoot,
    tab_to,
)
from tests.live import REPO, ThreadServer, admin_headers, create_agent

PASSWORD = "una password lunga"


@pytest.fixture
def shipped(tmp_path: Path) -> Iterator[ThreadServer]:
    """The shipped config.yaml: its canned replies and outcome codes."""
    server = ThreadServer(tmp_path / "p.db", config_path=REPO / "config.yaml").start()
    try:
        yield server
    finally:
        server.stop()


async def add_user(url: str, name: str, **body: Any) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        reply = await http.put(f"/v1/users/{name}", json=body, headers=admin_headers())
        assert reply.status_code == 200, reply.text


async def sign_in_by_keyboard(page: Any, user: str) -> None:
    """On /signin (the user field has the focus): type, Tab, type, Enter."""
    await page.wait_for_selector("#user:focus")
    await page.keyboard.type(user)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")


async def test_an_agent_works_a_chat_with_the_keyboard_alone_in_italian(
    shipped: ThreadServer, browser: Any
) -> None:
    async with httpx.AsyncClient(base_url=shipped.url) as http:
        await create_agent(http, "giulia", name="Giulia", skills={"billing": 5}, languages=["it"])
    await add_user(shipped.url, "giulia", role="agent", agent_id="giulia", password=PASSWORD)
    italian = await browser.new_context(locale="it-IT", viewport={"width": 1280, "height": 900})
    desk = await italian.new_page()
    await desk.goto(f"{shipped.url}/desktop")
    await desk.wait_for_selector("#signin-link:has-text('Accedi')")
    await tab_to(desk, "#signin-link")
    assert await focus_is_visible(desk)
    await desk.keyboard.press("Enter")
    await sign_in_by_keyboard(desk, "giulia")
    await desk.wait_for_url(re.compile(r"/desktop$"))
    await desk.wait_for_selector("#status:has-text('Disponibile')")

    customer = await italian.new_page()
    await customer.goto(f"{shipped.url}/chat")
    await customer.fill("#name", "Mario Rossi")
    await customer.fill("#email", "mario.rossi@example.it")
    await customer.fill("#text", "Sono molto deluso, la bolletta è sbagliata di nuovo!")
    await customer.keyboard.press("Enter")

    offer = desk.locator(".offer", has_text="bolletta è sbagliata")
    await offer.wait_for()
    text = await offer.inner_text()
    assert re.search(r"Rispondi entro \d+", text) and "In attesa da" in text  # countdown, wait
    assert "Scontento" in text or "Molto arrabbiato" in text  # sentiment in words
    assert "sentiment" not in text and "(0." not in text
    assert await offer.locator(".reasons li").count() >= 1  # and why
    await shoot(desk, "desktop-offer-it")
    assert await axe_violations(desk) == []

    await tab_to(desk, ".offer .accept")
    assert await focus_is_visible(desk)
    await desk.keyboard.press("Enter")
    card = desk.locator(".contact", has_text="bolletta è sbagliata")
    await card.wait_for()
    assert "bolletta è sbagliata" in await card.locator(".conversation").inner_text()

    # a canned reply for billing in Italian, chosen and sent with the keyboard
    await tab_to(desk, ".contact .canned")
    await desk.keyboard.press("ArrowDown")
    await desk.keyboard.press("Tab")
    await desk.keyboard.press("Enter")  # "Inserisci": the reply box gets the text and the focus
    assert "numero cliente" in await desk.evaluate("() => document.activeElement.value")
    await tab_to(desk, ".contact .send")
    await desk.keyboard.press("Enter")
    await customer.wait_for_selector(".msg.agent:has-text('numero cliente')")
    await customer.fill("#text", "Il numero è 12345")
    await customer.keyboard.press("Enter")
    await card.locator(".conversation:has-text('12345')").wait_for()

    # having asked, the agent links the customer to the address it claimed (session + CSRF)
    desk.once("dialog", lambda dialog: dialog.accept("domande di sicurezza"))
    await tab_to(desk, ".contact .link")
    await desk.keyboard.press("Enter")
    await card.locator(".link").wait_for(state="detached")
    assert "non verificato" not in await card.inner_text()

    # transfer to a named colleague, with a note
    async with httpx.AsyncClient(base_url=shipped.url) as http:
        marco_token = await create_agent(
            http, "marco", name="Marco", skills={"billing": 5}, languages=["it"]
        )
    english = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    marco = await english.new_page()
    await marco.goto(f"{shipped.url}/desktop")
    await marco.fill("#token", marco_token)
    await marco.keyboard.press("Enter")
    await marco.wait_for_selector("#status:has-text('Available')")
    await desk.reload()  # the colleague list comes with the page
    await desk.locator(".contact", has_text="bolletta è sbagliata").wait_for()
    await tab_to(desk, ".contact .transfer-target")
    await choose_by_keyboard(desk, "agent:marco")
    await desk.keyboard.press("Tab")
    await desk.keyboard.type("Chiede la nota di credito di ottobre")
    await desk.keyboard.press("Tab")
    await desk.keyboard.press("Enter")
    await desk.locator(".contact").wait_for(state="detached")

    handed = marco.locator(".offer", has_text="bolletta è sbagliata")
    await handed.wait_for()
    assert "Note from Giulia: Chiede la nota di credito di ottobre" in await handed.inner_text()
    assert "Mario Rossi" in await handed.inner_text()  # linked by giulia: no longer a claim
    assert "not verified" not in await handed.inner_text()
    await shoot(marco, "desktop-offer-with-note-en")
    await handed.locator(".accept").click()
    held = marco.locator(".contact", has_text="bolletta è sbagliata")
    await held.wait_for()
    # the whole conversation came along: the customer's answer, the reply, the note
    await held.locator(".conversation:has-text('12345')").wait_for()
    assert "numero cliente" in await held.locator(".conversation").inner_text()
    await held.locator(".outcome").select_option("callback")
    assert not await held.locator(".resolved").is_checked()  # the outcome's default
    await shoot(marco, "desktop-wrap-up-en")
    assert await axe_violations(marco) == []
    contact_id = await held.get_attribute("data-contact")
    await held.locator(".wrap").click()
    await held.wait_for(state="detached")
    async with httpx.AsyncClient(base_url=shipped.url) as http:
        stored = (await http.get(f"/v1/contacts/{contact_id}", headers=admin_headers())).json()
    assert stored["outcome"] == "callback" and stored["resolved"] is False
    await italian.close()
    await english.close()


async def test_the_wallboard_for_a_signed_in_supervisor(
    shipped: ThreadServer, browser: Any
) -> None:
    await add_user(shipped.url, "sara", role="supervisor", password=PASSWORD)
    async with httpx.AsyncClient(base_url=shipped.url) as http:
        accepted = await http.post(
            "/v1/contacts",
            json={"gateway": "web", "message_id": "w-1", "channel": "email", "language": "it",
                  "customer": {"name": "Anna Bianchi"}, "text": "bolletta doppia"},
        )  # fmt: skip
    contact_id = accepted.json()["contact_id"]
    context = await browser.new_context(locale="it-IT", viewport={"width": 1400, "height": 900})
    board = await context.new_page()
    await board.goto(f"{shipped.url}/wallboard")
    await board.wait_for_selector("#login:not([hidden])")
    await tab_to(board, "a.button[href^='/signin']")
    await board.keyboard.press("Enter")
    await sign_in_by_keyboard(board, "sara")
    await board.wait_for_selector("#waiting tbody tr")
    row = await board.locator("#waiting tbody tr").first.inner_text()
    assert row.startswith("#1") and contact_id[:8] not in row and "Anna" not in row
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", (await board.inner_text("#clock")).strip())
    assert "Livello di servizio" in await board.inner_text("#sla-title")
    # today's report, read with the session
    await board.wait_for_selector("#sl-chart line.grid", state="attached")
    await shoot(board, "wallboard-it")
    assert await axe_violations(board) == []
    # a supervisor action with the session (and its CSRF header): the contact picked by keyboard
    await tab_to(board, "#waiting tbody tr button.pick")
    await board.keyboard.press("Enter")
    assert await board.input_value("#act-contact") == contact_id
    await board.fill("#act-priority", "70")
    await board.fill("#act-reason", "cliente storico")
    await board.click("button[data-action='priority']")
    await board.wait_for_selector("#act-result.ok[data-action='priority']:has-text('fatto')")
    await tab_to(board, "#lang", back=True)
    await choose_by_keyboard(board, "en")
    await board.wait_for_selector("#sla-title:has-text('Service level')")
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", (await board.inner_text("#clock")).strip())
    await context.close()


@pytest.mark.parametrize("width", [320, 420, 1400])
async def test_the_chat_widget_fits_and_says_how_it_uses_your_data(
    server: ThreadServer, browser: Any, width: int
) -> None:
    context = await browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
    page = await context.new_page()
    await page.goto(f"{server.url}/chat")
    card = await page.locator("#chat").bounding_box()
    for field in ("#name", "#email", "#text"):
        box = await page.locator(field).bounding_box()
        assert (
            box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5
        ), field
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert "privacy" in (await page.inner_text("#privacy")).lower()
    await shoot(page, f"chat-{width}")
    assert await axe_violations(page) == []
    await context.close()


async def test_the_chat_widget_shows_an_estimated_wait_once_known(
    shipped: ThreadServer, browser: Any
) -> None:
    from tests.live import ChatCustomer, Desktop

    async with httpx.AsyncClient(base_url=shipped.url) as http:
        token = await create_agent(http, "ugo", skills={"customer_care": 3}, languages=["en"])
    desk = Desktop(shipped.ws_url, token)
    await desk.connect()
    for n in range(3):  # three chats answered: now there is a median to go by
        chat = ChatCustomer(shipped)
        await chat.start(f"hello, a general question number {n}", language="en")
        offer = await desk.next_event("offer", timeout=15)
        assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
        await desk.request("end", contact_id=offer["contact"]["contact_id"])
        await desk.request(
            "wrap_up", contact_id=offer["contact"]["contact_id"], outcome="solved", resolved=True
        )
        await chat.ws.close()
    await desk.request("presence", presence="away")
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(f"{shipped.url}/chat")
    await page.fill("#text", "hello, one more general question")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#wait:has-text('Estimated wait: about')")
    await shoot(page, "chat-estimated-wait")
    await context.close()
    await desk.close()
