"""Security headers: every response says nosniff and no-referrer; API answers may not be
framed or run anything; each page gets a Content-Security-Policy that allows exactly its
own inline script (by hash), its own styles, and websockets to this origin.

The agent desktop and the wallboard may not be framed at all; the chat widget may be
framed by the configured chat origins only (``CENTRALINO_CHAT_ORIGINS``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi.responses import HTMLResponse

from api.base.asgi_types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).parent.parent / "static"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
UNGUARDED = ("/docs", "/redoc")  # FastAPI's own pages load their scripts from a CDN
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
SCRIPT_SRC = re.compile(r"<script [^>]*src=")
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def frame_ancestors(origins: str) -> str:
    """'*' or the listed origins (space-separated) for the chat widget."""
    listed = [origin.strip() for origin in origins.split(",") if origin.strip()]
    if not listed or "*" in listed:
        return "*"
    return " ".join(listed)


@lru_cache(maxsize=16)
def _page(name: str) -> tuple[str, str]:
    html = (STATIC / name).read_text(encoding="utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(html)
    )
    return html, hashes


def page(
    name: str, ancestors: str = "'none'", fill: Mapping[str, str] | None = None
) -> HTMLResponse:
    """A static page with its policy: ``ancestors`` may frame it ('none' by default).
    Scripts come from this origin's files (``<script src>``), never inline. ``fill``:
    values for ``{{name}}`` placeholders, HTML-escaped."""
    html, hashes = _page(name)
    for key, value in (fill or {}).items():
        html = html.replace("{{" + key + "}}", escape(value, quote=True))
    scripts = " ".join(
        part for part in ("'self'" if SCRIPT_SRC.search(html) else "", hashes) if part
    )
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}" if scripts else "script-src 'none'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )
    headers = {"Content-Security-Policy": policy}
    if ancestors == "'none'":
        headers["X-Frame-Options"] = "DENY"
    return HTMLResponse(html, headers=headers)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guarded = not str(scope.get("path", "")).startswith(UNGUARDED)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in ALWAYS if item[0] not in present)
                if guarded and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
