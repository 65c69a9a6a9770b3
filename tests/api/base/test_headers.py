"""Security headers on API answers and pages (api/base/headers.py)."""

from __future__ import annotations

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


async def test_the_page_policy_allows_scripts_from_this_origin_only(
    client: httpx.AsyncClient,
) -> None:
    for path, name in (("/desktop", "desktop.html"), ("/wallboard", "wallboard.html")):
        reply = await client.get(path)
        policy = reply.headers["content-security-policy"]
        assert "script-src 'self';" in policy, policy  # no inline script, no hash, no eval
        assert "unsafe-eval" not in policy and "connect-src 'self'" in policy
        assert not re.findall(r"<script>(.*?)</script>", (STATIC / name).read_text(), re.S)


def test_frame_ancestors_for_the_chat_widget() -> None:
    assert frame_ancestors("*") == "*"
    assert frame_ancestors("") == "*"
    assert frame_ancestors("https://a.it, https://b.it") == "https://a.it https://b.it"
