"""Several nodes: a gateway's rate limit holds for the cluster, not per node, because the
active router runs (and counts) every request whichever node took it."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.cluster.test_nodes import Cluster, role, until
from tests.live import contact_body
from tests.redis_server import RedisServer


async def test_a_gateway_limit_adds_up_across_nodes(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    cluster = Cluster(
        tmp_path, redis_server, CENTRALINO_GATEWAY_RATE="0.01", CENTRALINO_GATEWAY_BURST="4"
    )
    try:
        a = cluster.node("node-a")
        await until(lambda: role(a) == "active", what="node-a to take the lease")
        b = cluster.node("node-b")
        codes = []
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
        ):
            for i, http in enumerate([on_a, on_b, on_a, on_b, on_b, on_a]):
                reply = await http.post("/v1/contacts", json=contact_body(f"n{i}"))
                codes.append(reply.status_code)
        assert codes == [202, 202, 202, 202, 429, 429]  # a burst of 4 for both nodes together
        assert cluster.rows("select count(*) from contacts") == [(4,)]
    finally:
        cluster.stop()
