"""Hot reload: engine, endpoint, file watch; a bad file never replaces good rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from router.rules.diff import config_diff
from router.rules.loader import parse_rules
from skills.vocabulary import Channel
from tests.engine_helpers import CONFIG, agent, contact, engine, online
from tests.live import ThreadServer, admin_headers, contact_body

WEATHER_RULE = """  - name: weather
    when: 'contact.intent == "weather"'
    queue: tech
    priority: 5
"""


def test_engine_reload_changes_ageing_and_capacity_not_contacts_in_flight() -> None:
    faster_email = CONFIG.replace("threshold: 4h", "threshold: 10m").replace(
        "capacity: 3, offer_timeout: 30s", "capacity: 1, offer_timeout: 30s"
    )
    new = parse_rules(faster_email).config
    first_offer = {}
    for reload in (False, True):
        eng = engine()
        eng.add_contact(contact("mail", "billing", channel=Channel.EMAIL, arrival=0.0), 0.0)
        eng.add_contact(contact("chat", "billing", arrival=3500.0), 3500.0)
        if reload:
            assert config_diff(eng.config, new) == [
                "channel changed: chat",
                "channel changed: email",
            ]
            eng.reload(new, 3600.0)
            assert eng.contacts["mail"].policy.rule == "billing"  # kept its rule
        online(eng, agent("a1", capacity={Channel.EMAIL: 1}, billing=5), 3600.0)
        first_offer[reload] = next(iter(eng.agents["a1"].offers.values())).contact_id
        assert eng.agents["a1"].capacity[Channel.CHAT] == (1 if reload else 3)
    # chat waited 100 s of 60 (26.7 points) vs email 1 h: of 4 h (12.5) -> chat first;
    # of 10 min (70 points) after the reload -> email first
    assert first_offer == {False: "chat", True: "mail"}


def test_diff_names_rules_and_sections() -> None:
    old = parse_rules(CONFIG).config
    new = parse_rules(CONFIG.replace("priority: 40", "priority: 45") + WEATHER_RULE).config
    assert config_diff(old, new) == ["rule added: weather", "rule changed: vip-billing"]
    assert config_diff(old, old) == []


async def test_reload_endpoint_switches_rules_and_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    server = ThreadServer(tmp_path / "r.db", config_path=path, reload_interval=0).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            before = await http.post("/v1/contacts", json=contact_body("w1", intent="weather"))
            assert before.json()["queue"] == "general"
            assert (await http.post("/v1/admin/reload")).status_code == 401
            path.write_text(CONFIG + WEATHER_RULE)
            reply = await http.post("/v1/admin/reload", headers=admin_headers())
            assert reply.json() == {
                "reloaded": True,
                "file": str(path),
                "changes": ["rule added: weather"],
            }
            after = await http.post("/v1/contacts", json=contact_body("w2", intent="weather"))
            assert after.json()["queue"] == "tech"
            path.write_text(CONFIG + WEATHER_RULE.replace("queue: tech", "queue: nowhere"))
            refused = await http.post("/v1/admin/reload", headers=admin_headers())
            assert refused.status_code == 422
            (problem,) = refused.json()["problems"]
            assert problem.startswith(f"{path}:") and "nowhere" in problem
            still = await http.post("/v1/contacts", json=contact_body("w3", intent="weather"))
            assert still.json()["queue"] == "tech"  # the running rules stayed
    finally:
        server.stop()


async def test_editing_the_file_reloads_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    server = ThreadServer(tmp_path / "w.db", config_path=path, reload_interval=0.05).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            path.write_text(CONFIG + WEATHER_RULE)
            for attempt in range(100):
                reply = await http.post(
                    "/v1/contacts", json=contact_body(f"f{attempt}", intent="weather")
                )
                if reply.json()["queue"] == "tech":
                    break
                await asyncio.sleep(0.05)
            assert reply.json()["queue"] == "tech"
    finally:
        server.stop()
