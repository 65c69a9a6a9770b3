"""Replies with several nodes: an agent on a standby node answers a Messenger contact; the
router records and sends it, and the status comes back to the node holding the desktop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.cluster.test_nodes import Cluster, active_and_standby
from tests.live import Desktop, contact_body, create_agent
from tests.providers import META_TOKEN, FakeProviders
from tests.redis_server import RedisServer


@pytest.fixture
def cluster(tmp_path: Path, redis_server: RedisServer, providers: FakeProviders) -> Any:
    running = Cluster(
        tmp_path,
        redis_server,
        CENTRALINO_META_ACCESS_TOKEN=META_TOKEN,
        CENTRALINO_META_GRAPH_URL=providers.url + "/v21.0",
        CENTRALINO_META_PAGE_ID="PAGE1",
    )
    try:
        yield running
    finally:
        running.stop()


async def test_a_reply_from_a_desktop_on_a_standby_node(
    cluster: Cluster, providers: FakeProviders
) -> None:
    _a, b = await active_and_standby(cluster)
    async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
        token = await create_agent(http, "eva", skills={"billing": 5}, languages=["it"])
        desk = Desktop(b.ws_url, token)
        await desk.connect()
        posted = await http.post(
            "/v1/contacts",
            json=contact_body(
                "fb-1",
                channel="social",
                customer={"handles": {"messenger": "PSID-5"}},
                attributes={"platform": "messenger"},
            ),
        )
        assert posted.status_code == 202, posted.text
        offer = await desk.next_event("offer", timeout=10)
        assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
        ack = await desk.request(
            "message", contact_id=offer["contact"]["contact_id"], text="Ciao!", reply_key="c1"
        )
        assert ack["type"] == "ack" and ack["reply"]["status"] == "pending", ack
        while True:
            status = await desk.next_event("reply_status", timeout=15)
            if status["status"] == "sent":
                break
        assert status["reply_id"] == ack["reply"]["reply_id"]
        await desk.close()
    (sent,) = providers.of("meta")
    assert sent.path == "/PAGE1/messages" and sent.body["recipient"] == {"id": "PSID-5"}
