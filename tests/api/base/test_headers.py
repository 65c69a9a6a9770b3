"""Security headers on API answers and pages (api/base/headers.py)."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from api.base.headers import STATIC, frame_ancestors


async def test_api_answers_may_not_be_framed_or_sniffed(client: httpx.AsyncClient) -> None:
    for reply in (await client.get("/healthz"), await client.post("/v1/contacts", json={})):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert (
            reply.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        )


async def test_the_page_policy_allows_exactly_its_inline_script(client: httpx.AsyncClient) -> None:
    reply = await client.get("/desktop")
    policy = reply.headers["content-security-policy"]
    (script,) = re.findall(r"<script>(.*?)</script>", (STATIC / "desktop.html").read_text(), re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "unsafe-eval" not in policy and "connect-src 'self'" in policy


def test_frame_ancestors_for_the_chat_widget() -> None:
    assert frame_ancestors("*") == "*"
    assert frame_ancestors("") == "*"
    assert frame_ancestors("https://a.it, https://b.it") == "https://a.it https://b.it"
