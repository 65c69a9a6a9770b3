"""The agent desktop and the wallboard pages in a real headless Chromium (Playwright).

Chromium comes from Debian (/usr/bin/chromium; .ci/run installs it). Without one these tests
skip, unless CENTRALINO_REQUIRE_BROWSER is set (as in CI), where they fail instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.live import ADMIN, ThreadServer, contact_body, create_agent


async def test_offer_on_the_desktop_page_accept_and_the_wallboard_follows(
    server: ThreadServer, client: httpx.AsyncClient, browser: Any, tmp_path: Path
) -> None:
    token = await create_agent(
        client, "giulia", name="Giulia", skills={"billing": 5}, languages=["it"]
    )
    desktop = await browser.new_page()
    await desktop.goto(f"{server.url}/desktop")
    await desktop.fill("#token", token)
    await desktop.click("#login-button")
    await desktop.wait_for_selector("#status:has-text('available')")
    board = await browser.new_page(viewport={"width": 1280, "height": 900})
    await board.goto(f"{server.url}/wallboard")
    await board.fill("#token", ADMIN)
    await board.click("#login-button")
    await board.wait_for_selector("tr[data-agent='giulia']:has-text('available')")

    await client.post(
        "/v1/contacts",
        json=contact_body(
            "page-1",
            customer={"name": "Mario Rossi", "email": "mario@example.it"},
            text="Sono molto deluso, la bolletta è sbagliata!",
        ),
    )
    offer = desktop.locator(".offer", has_text="Mario Rossi")
    await offer.wait_for()
    assert "sbagliata" in await offer.inner_text()
    assert "upset" in (await offer.inner_text()).lower()  # the sentiment, in words
    await board.wait_for_selector("tr[data-queue='billing'] td:nth-child(2):text-is('1')")
    await offer.locator(".accept").click()

    await desktop.locator(".contact", has_text="Mario Rossi").wait_for()
    await board.wait_for_selector("tr[data-agent='giulia'] td:nth-child(3):has-text('chat 1/3')")
    await board.wait_for_selector("tr[data-queue='billing'] td:nth-child(2):text-is('0')")
    await board.wait_for_selector("[data-channel='chat']:has-text('1 answered')")
    await desktop.screenshot(path=str(tmp_path / "desktop.png"))
    await board.screenshot(path=str(tmp_path / "wallboard.png"))

    await desktop.fill(".contact .outcome", "bolletta corretta")  # no outcome codes configured
    await desktop.click(".contact .wrap")
    await desktop.locator(".contact").wait_for(state="detached")
    await board.wait_for_selector("tr[data-agent='giulia'] td:nth-child(3):text-is('—')")
    stored = await client.get("/v1/agents/giulia", headers={"Authorization": f"Bearer {ADMIN}"})
    assert stored.json()["load"] == {}


async def test_wallboard_refuses_a_wrong_token(server: ThreadServer, browser: Any) -> None:
    board = await browser.new_page()
    await board.goto(f"{server.url}/wallboard")
    await board.fill("#token", "wrong")
    await board.click("#login-button")
    await board.wait_for_selector("#login-error:has-text('admin token')")
    assert await board.is_hidden("#app")
