"""Per-gateway rate limits (token buckets, 429 with Retry-After) and personal data kept out
of logs by default.

Limits apply to the gateway-facing paths (/v1/contacts..., /v1/channels/...), keyed by the
caller: its gateway token if it sends one, else its address. Each node counts for itself.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from api.base.asgi_types import ASGIApp, Scope

GATEWAY_PATHS = ("/v1/contacts", "/v1/channels/")
MAX_CALLERS = 10_000


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def take(self, now: float) -> float:
        """0 when allowed; else seconds until a token is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class GatewayRateLimit:
    def __init__(
        self, app: ASGIApp, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}

    def caller(self, scope: Scope) -> str:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        if auth:
            return "token:" + str(auth.decode(errors="replace"))[-24:]
        client = scope.get("client") or ("unknown", 0)
        return f"address:{client[0]}"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or self.rate <= 0
            or not str(scope.get("path", "")).startswith(GATEWAY_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        now = self.clock()
        key = self.caller(scope)
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_CALLERS:  # forget idle callers, keep memory bounded
                self.buckets = {k: b for k, b in self.buckets.items() if now - b.stamp < 60}
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            response = JSONResponse(
                {"detail": f"rate limit: at most {self.rate:g} requests/s from one gateway"},
                429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w])\+?\d[\d ()./-]{6,}\d")


class PersonalDataFilter(logging.Filter):
    """Masks email addresses and phone numbers in log records (on unless turned off)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = PHONE.sub("[phone]", EMAIL.sub("[email]", message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


def keep_personal_data_out_of_logs() -> None:
    """Install the filter on every handler of the root logger (and the future ones)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())
    if not any(isinstance(f, PersonalDataFilter) for f in root.filters):
        root.addFilter(PersonalDataFilter())
