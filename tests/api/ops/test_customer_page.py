"""The customer on the agent desktop page, in a real headless Chromium: a phone number in
an email signature is proposed and added with one click, and the next call from it shows
the customer's name, identities and a dated history line."""

from __future__ import annotations

from typing import Any

import httpx

from tests.live import ThreadServer, admin_headers, contact_body, create_agent


async def test_the_desktop_shows_who_calls_and_adds_a_proposed_phone(
    server: ThreadServer, client: httpx.AsyncClient, browser: Any
) -> None:
    token = await create_agent(
        client, "giulia", name="Giulia", skills={"billing": 5}, languages=["it"]
    )
    desktop = await browser.new_page()
    await desktop.goto(f"{server.url}/desktop")
    await desktop.fill("#token", token)
    await desktop.click("#login-button")
    await desktop.wait_for_selector("#status:has-text('available')")

    text = "L'addebito di ottobre non torna.\n\nCordiali saluti\nPaolo Neri\nTel. 347 123 4567"
    sent = await client.post(
        "/v1/contacts",
        json=contact_body(
            "page-mail",
            channel="email",
            subject="Bolletta di ottobre",
            customer={"name": "Paolo Neri", "email": "paolo.neri@example.it"},
            text=text,
        ),
    )
    offer = desktop.locator(".offer", has_text="Paolo Neri")
    await offer.wait_for()
    assert "347 123 4567 → +393471234567" in await offer.locator(".proposed").inner_text()
    await offer.locator(".accept").click()
    held = desktop.locator(".contact", has_text="Paolo Neri")
    await held.wait_for()
    await held.locator(".add-identity").click()
    await held.locator(".identities:has-text('phone:+393471234567')").wait_for()
    await desktop.fill(".contact .outcome", "rimborso in verifica")
    await desktop.click(".contact .wrap")
    await desktop.locator(".contact").wait_for(state="detached")
    contact_id = sent.json()["contact_id"]
    await client.post(f"/v1/contacts/{contact_id}/feedback", json={"csat": 2})

    call = contact_body("page-call", channel="voice", customer={"phone": "347 123 4567"}, text="")
    assert (await client.post("/v1/contacts", json=call)).status_code == 202
    ringing = desktop.locator(".offer", has_text="Paolo Neri")  # the email's card is gone
    await ringing.wait_for()
    assert await ringing.locator("strong.customer").inner_text() == "Paolo Neri"
    assert "email:paolo.neri@example.it" in await ringing.locator(".identities").inner_text()
    line = await ringing.locator(".history li").first.inner_text()
    for part in (
        "email",
        "«Bolletta di ottobre»",
        "billing",
        "giulia",
        "rimborso in verifica",
        "CSAT 2/5",
    ):
        assert part in line, line
    search = await client.get(
        "/v1/customers", params={"phone": "+393471234567"}, headers=admin_headers()
    )
    assert search.json()["customers"][0]["name"] == "Paolo Neri"
