"""POST /v1/contacts answered before FastAPI's routing (api/gateways/fast_intake.py) says
exactly what the route says, and leaves every other request to the route."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.live import ThreadServer, contact_body

ROUTE_ONLY = {"content-type": "application/json; charset=utf-8"}  # not the fast path's type
GATEWAY_TOKEN = "gw-secret"


def served(server: ThreadServer) -> int:
    """Contacts the fast path answered so far."""
    fast = getattr(server.app.state, "fast_intake", None)
    return fast.served if fast is not None else 0


async def post_to_route(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/contacts", content=json.dumps(body), headers=ROUTE_ONLY)


def same_answer(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code
    assert fast.headers["content-type"] == routed.headers["content-type"]
    security = {name for name in routed.headers if name.startswith(("x-", "content-security"))}
    assert security and all(fast.headers.get(name) == routed.headers[name] for name in security)
    first, second = fast.json(), routed.json()
    assert list(first) == list(second)  # the same fields, in the same order
    first.pop("contact_id", None), second.pop("contact_id", None)
    if "estimated_wait" in first:
        first.pop("estimated_wait"), second.pop("estimated_wait")
    assert first == second


async def test_a_new_contact_and_its_retry_answer_as_the_route_does(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    fast = await client.post("/v1/contacts", json=contact_body("m-fast"))
    assert fast.status_code == 202, fast.text
    assert served(server) == 1
    routed = await post_to_route(client, contact_body("m-routed"))
    assert served(server) == 1  # the route took that one
    same_answer(fast, routed)
    assert fast.json()["duplicate"] is False and fast.json()["queue"] == "billing"

    retried = await client.post("/v1/contacts", json=contact_body("m-fast"))
    retried_by_route = await post_to_route(client, contact_body("m-fast"))
    assert retried.json()["contact_id"] == fast.json()["contact_id"]
    assert retried_by_route.json()["contact_id"] == fast.json()["contact_id"]
    assert retried.json()["duplicate"] is True
    same_answer(retried, retried_by_route)


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "pigeon"},  # not a channel
        {"message_id": ""},
        {"attributes": {"bad name": 1}},
        {"surprise": True},  # unknown field
    ],
)
async def test_an_invalid_body_gets_the_routes_422(
    server: ThreadServer, client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    body = {**contact_body("m-bad"), **change}
    fast = await client.post("/v1/contacts", json=body)
    routed = await post_to_route(client, body)
    assert fast.status_code == 422
    assert fast.json() == routed.json()
    assert served(server) == 0


async def test_a_body_that_is_not_an_object_or_not_json_is_the_routes(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    for content in (b"[1, 2]", b'"text"', b"{not json"):
        reply = await client.post(
            "/v1/contacts", content=content, headers={"content-type": "application/json"}
        )
        assert reply.status_code == 422, content
    assert served(server) == 0


async def test_an_intake_error_is_answered_like_the_route(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    bad_phone = {"customer": {"phone": "not a number"}}
    fast = await client.post("/v1/contacts", json=contact_body("m-phone", **bad_phone))
    routed = await post_to_route(client, contact_body("m-phone", **bad_phone))
    assert fast.status_code == routed.status_code == 422
    assert fast.json() == routed.json()
    assert fast.json()["detail"].startswith("customer:")
    assert served(server) == 1  # valid as a body: the intake refused it


async def test_the_other_contact_endpoints_are_untouched(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    created = await client.post("/v1/contacts", json=contact_body("m-then"))
    contact_id = created.json()["contact_id"]
    message = await client.post(f"/v1/contacts/{contact_id}/messages", json={"text": "ancora?"})
    assert message.status_code == 200, message.text
    wrong_method = await client.put("/v1/contacts", json=contact_body("m-put"))
    assert wrong_method.status_code == 405
    assert served(server) == 1


class TestWithAGatewayToken:
    @pytest.fixture
    def server(self, tmp_path: Any) -> Any:
        running = ThreadServer(tmp_path / "centralino.db", gateway_token=GATEWAY_TOKEN).start()
        try:
            yield running
        finally:
            running.stop()

    async def test_only_the_right_token_is_taken_here(
        self, server: ThreadServer, client: httpx.AsyncClient
    ) -> None:
        missing = await client.post("/v1/contacts", json=contact_body("m-1"))
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = await client.post(
            "/v1/contacts",
            json=contact_body("m-1"),
            headers={"authorization": "Bearer not-it"},
        )
        assert wrong.status_code == 403
        assert served(server) == 0
        right = await client.post(
            "/v1/contacts",
            json=contact_body("m-1"),
            headers={"authorization": f"Bearer {GATEWAY_TOKEN}"},
        )
        assert right.status_code == 202, right.text
        assert served(server) == 1
