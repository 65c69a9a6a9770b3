"""The chat widget and the desktop page in a real Chromium, under their Content Security
Policies: a signed customer from the URL fragment, an unverified one shown as a claim and
linked from the desktop after checking."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from channels.signed_identity import sign
from tests.live import REPO, ThreadServer, admin_headers, create_agent

SECRET = "acme-site-secret-2026"


@pytest.fixture
def site_server(tmp_path: Path) -> Any:
    server = ThreadServer(
        tmp_path / "w.db",
        config=(REPO / "config.yaml").read_text(),
        chat_identity_keys=f"acme:{SECRET}",
    ).start()
    try:
        yield server
    finally:
        server.stop()


def policy_violations(page: Any) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


async def test_widget_and_desktop_under_their_policies(
    site_server: ThreadServer, browser: Any
) -> None:
    async with httpx.AsyncClient(base_url=site_server.url) as http:
        await http.post(
            "/v1/contacts",
            json={
                "gateway": "mail",
                "message_id": "vera-1",
                "channel": "email",
                "customer": {"email": "vera@example.com"},
                "text": "carta rubata",
            },
        )
        token = await create_agent(
            http, "sara", name="Sara", skills={"customer_care": 5}, languages=["it", "en"]
        )
    desk = await browser.new_page()
    desk_violations = policy_violations(desk)
    await desk.goto(f"{site_server.url}/desktop")
    await desk.fill("#token", token)
    await desk.click("#login-button")
    await desk.wait_for_selector("#status:has-text('available')")

    # an unsigned visitor claiming Vera's address
    visitor = await browser.new_page()
    visitor_violations = policy_violations(visitor)
    await visitor.goto(f"{site_server.url}/chat")
    await visitor.fill("#email", "vera@example.com")
    await visitor.fill("#text", "ciao, sono Vera")
    await visitor.click("button[type=submit]")
    await visitor.wait_for_selector(".msg.note")
    # Sara has a free chat slot: the router's estimate, shown to the customer
    await visitor.wait_for_selector("#wait:has-text('estimated wait: under a minute')")
    offer = desk.locator(".offer", has_text="ciao, sono Vera")
    await offer.wait_for()
    assert "claims to be vera@example.com (not verified)" in await offer.inner_text()
    await offer.locator(".accept").click()
    contact = desk.locator(".contact", has_text="ciao, sono Vera")
    await contact.wait_for()
    desk.once("dialog", lambda dialog: dialog.accept("domande di sicurezza"))
    await contact.locator(".link").click()
    await contact.locator(".link").wait_for(state="detached")
    contact_id = await contact.get_attribute("data-contact")
    async with httpx.AsyncClient(base_url=site_server.url) as http:
        explained = await http.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    linked = [d for d in explained.json()["decisions"] if d["kind"] == "customer_linked"]
    assert linked and linked[0]["by"] == "agent:sara"

    # a visitor the site signed for: verified, no claim shown
    issued = int(time.time())
    identity = {
        "user_id": "u-1",
        "key_id": "acme",
        "issued_at": issued,
        "signature": sign(SECRET, "acme", issued, user_id="u-1"),
    }
    member = await browser.new_page()
    member_violations = policy_violations(member)
    await member.goto(f"{site_server.url}/chat#identity={quote(json.dumps(identity))}")
    await member.fill("#text", "sono un cliente registrato")
    await member.click("button[type=submit]")
    signed_offer = desk.locator(".offer", has_text="sono un cliente registrato")
    await signed_offer.wait_for()
    assert "not verified" not in await signed_offer.inner_text()
    assert desk_violations == [] and visitor_violations == [] and member_violations == []
