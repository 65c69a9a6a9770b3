"""Away reasons and supervisor alerts on the desktop and wallboard pages, in real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.engine_helpers import CONFIG
from tests.live import (
    ADMIN,
    ThreadServer,
    admin_headers,
    contact_body,
    create_agent,
    online_desktop,
)

SERVER_CONFIG = (
    CONFIG
    + """
agent_states:
  reasons:
    break: {label: Pausa, limit: 1s}
    lunch: {label: Pranzo}
"""
)


async def test_away_reason_limit_alert_and_unstaffed_queue(
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
    board = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await board.goto(f"{server.url}/wallboard")
    await board.fill("#token", ADMIN)
    await board.click("#login-button")
    await board.wait_for_selector("#alerts li.ok")  # nothing to worry about yet

    # a tech contact and no tech agent logged in: flagged on the wallboard
    await client.post("/v1/contacts", json=contact_body("pg-tech", intent="tech"))
    await board.wait_for_selector("li[data-alert='unstaffed_queue']:has-text('tech')")

    # the agent picks a reason from the desktop; past its 1 s limit both pages say so
    await desktop.select_option("#presence", "away:break")
    await desktop.wait_for_selector("#status:has-text('Pausa')")
    await board.wait_for_selector("tr[data-agent='giulia']:has-text('away (break')")
    await desktop.wait_for_selector(".notice.limit:has-text('Pausa')")
    await board.wait_for_selector("li[data-alert='state_limit']:has-text('giulia')")
    await board.wait_for_selector("tr[data-agent='giulia'].bad")

    # a supervisor message and a forced state reach the desktop
    await client.post(
        "/v1/agents/giulia/message", json={"text": "rientra pure"}, headers=admin_headers()
    )
    await desktop.wait_for_selector(".notice.supervisor:has-text('rientra pure')")
    await client.post(
        "/v1/agents/giulia/presence", json={"presence": "available"}, headers=admin_headers()
    )
    await desktop.wait_for_selector("#status:has-text('by admin')")
    await board.wait_for_selector("tr[data-agent='giulia']:has-text('available')")
    assert await board.locator("li[data-alert='state_limit']").count() == 0


async def test_the_wallboard_report_view_charts_todays_service_level(
    server: ThreadServer, client: httpx.AsyncClient, browser: Any, tmp_path: Path
) -> None:
    desk = await online_desktop(server, client, "rita", skills={"billing": 5}, languages=["it"])
    await client.post("/v1/contacts", json=contact_body("chart-1"))
    offer = await desk.next_event("offer")
    await desk.request("accept", offer_id=offer["offer_id"])
    await desk.request(
        "wrap_up", contact_id=offer["contact"]["contact_id"], outcome="ok", resolved=True
    )
    board = await browser.new_page(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    await board.goto(f"{server.url}/wallboard")
    await board.fill("#token", ADMIN)
    await board.click("#login-button")
    point = board.locator("#sl-chart circle[data-channel='chat']")
    await point.wait_for()
    assert await point.get_attribute("data-level") == "1"
    assert await board.locator("#sl-chart polyline[data-channel='chat']").count() == 1
    assert await board.locator("#sl-chart line[data-target='chat']").count() == 1
    await board.wait_for_selector("#sl-legend [data-channel='chat']:has-text('100%')")
    await board.wait_for_selector(
        "#report-queues tr[data-queue='billing'] td:nth-child(2):text-is('1')"
    )
    async with board.expect_download() as download:
        await board.click("#report-csv")
    saved = tmp_path / "report.csv"
    await (await download.value).save_as(saved)
    assert saved.read_text().startswith("period,queue,channel,offered,")
    assert ",billing,chat,1,1,1," in saved.read_text()
    await board.screenshot(path=str(tmp_path / "wallboard-report.png"), full_page=True)
    await desk.close()


async def test_a_supervisor_acts_from_the_wallboard(
    server: ThreadServer, client: httpx.AsyncClient, browser: Any
) -> None:
    desk = await online_desktop(server, client, "rita", skills={"billing": 5}, languages=["it"])
    await desk.request("presence", presence="away", code="lunch")
    await client.post("/v1/contacts", json=contact_body("act-1"))
    board = await browser.new_page(viewport={"width": 1280, "height": 1400})
    await board.goto(f"{server.url}/wallboard")
    await board.fill("#token", ADMIN)
    await board.click("#login-button")
    await board.click("#waiting tbody tr")  # picks the waiting contact
    assert len(await board.input_value("#act-contact")) > 8
    await board.fill("#act-priority", "85")
    await board.fill("#act-reason", "reclamo formale")
    await board.click("button[data-action='priority']")
    await board.wait_for_selector("#act-result.ok[data-action='priority']")
    await board.wait_for_function(  # rule priority 85 now, plus urgency and ageing
        "() => parseFloat(document.querySelector('#waiting tbody tr td:nth-child(7)')"
        ".textContent) >= 85"
    )
    await board.select_option("#act-agent", "rita")
    await board.click("button[data-action='reassign']")  # rita is at lunch: refused, said why
    await board.wait_for_selector(
        "#act-result.bad[data-action='reassign']:has-text('409 agent rita is away')"
    )
    await board.select_option("#act-state", "available")
    await board.fill("#act-reason", "rientro anticipato")
    await board.click("button[data-action='presence']")
    await board.wait_for_selector("#act-result.ok[data-action='presence']")
    offer = await desk.next_event("offer")  # available again: the contact is offered
    assert offer["contact"]["contact_id"] == await board.input_value("#act-contact")
    await desk.request("accept", offer_id=offer["offer_id"])
    chip = board.locator(
        f"tr[data-agent='rita'] .chip[data-contact='{offer['contact']['contact_id']}']"
    )
    await chip.click()  # the contact rita holds, picked from her row: pulled back
    await board.fill("#act-reason", "serve un collega")
    await board.click("button[data-action='pull']")
    await board.wait_for_selector("#act-result.ok[data-action='pull']")
    assert (await desk.next_event("reassigned"))["to"] == "queue"
    await board.fill("#act-reason", "ben fatto")
    await board.click("button[data-action='message']")
    await board.wait_for_selector("#act-result.ok[data-action='message']")
    assert (await desk.next_event("supervisor_message"))["text"] == "ben fatto"
    await desk.close()
