"""The chat widget's "call me back" button in a real Chromium, under its Content Security
Policy: the customer gives a number, the router takes the callback."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.chat.test_widget import policy_violations
from tests.live import ThreadServer, admin_headers


async def test_the_widget_asks_for_a_callback(server: ThreadServer, browser: Any) -> None:
    page = await browser.new_page()
    violations = policy_violations(page)
    await page.goto(f"{server.url}/chat")
    await page.fill("#text", "Buongiorno, ho una domanda sulla bolletta")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#callback")
    page.once("dialog", lambda dialog: dialog.accept("+39 333 1112223"))
    await page.click("#callback")
    await page.wait_for_selector(".msg.note:has-text('We will call you back at +39 333 1112223')")
    assert await page.locator("#callback").count() == 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        waiting = (await http.get("/v1/queues/general/contacts", headers=admin_headers())).json()
        (contact,) = waiting
        explained = await http.get(
            f"/v1/contacts/{contact['contact_id']}/explain", headers=admin_headers()
        )
    requested = [d for d in explained.json()["decisions"] if d["kind"] == "callback_requested"]
    assert requested and requested[0]["number"] == "+39 333 1112223"
    assert violations == []
