"""Rate limits that hold: token buckets keyed by who the caller provably is.

A caller is its authenticated principal (the configured gateway token, checked here in
constant time) or else its network address: the peer's address, or, when the peer is a
configured trusted proxy, the first untrusted address of X-Forwarded-For read from the
right. IPv6 addresses count per /64 (one customer line usually holds a whole /64). An
unverified header is never a key: a new bogus Authorization header on each request is
still the same address.

Memory is bounded: each limiter keeps at most ``max_keys`` buckets and forgets the least
recently seen caller first (so an attacker with many addresses can at worst reset
limits, never grow memory).

Several nodes: every node forwards every HTTP request to the active router, with the
client's address. Each node counts the requests it takes (an early, local refusal) and the
router counts, in a second limiter, every request forwarded to it from any node: so a
gateway's limit holds for the whole cluster. Chat limits are counted on the node holding
the chat's websocket (see SECURITY.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from fastapi.responses import JSONResponse

from api.base.asgi_types import FORWARDED, ASGIApp, Scope
from api.base.auth import scope_bearer
from api.base.paths import INTAKE_PATH

GATEWAY_PATHS = (INTAKE_PATH, "/v1/channels/")
MAX_CALLERS = 10_000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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


class KeyedLimiter:
    """Token buckets by key, at most ``max_keys`` of them (least recently used forgotten).
    A rate of 0 means no limit."""

    def __init__(
        self,
        rate: float,
        burst: float,
        max_keys: int = MAX_CALLERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.max_keys = max_keys
        self.clock = clock
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when allowed; else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, now)
            while len(self.buckets) > self.max_keys:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
        return bucket.take(now)

    def forget(self, key: str) -> None:
        self.buckets.pop(key, None)


def parse_networks(spec: str) -> tuple[Network, ...]:
    """'10.0.0.1, 192.168.0.0/16, ::1' -> networks; ValueError names a bad entry."""
    networks: list[Network] = []
    for item in (part.strip() for part in spec.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an address or network: {item!r}") from None
    return tuple(networks)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Any, proxies: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def address_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An IPv4 address as is; an IPv6 address as its /64."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def client_address(scope: Scope, proxies: tuple[Network, ...] = ()) -> str:
    """The caller's address key (see the module doc); 'unknown' without one."""
    client = scope.get("client")
    peer = _ip(str(client[0])) if client else None
    if peer is None:
        return "unknown"
    if proxies and _trusted(peer, proxies):
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers") or []
            if name.lower() == b"x-forwarded-for"
        ]
        hops = [hop for value in forwarded for hop in value.split(",")]
        for hop in reversed(hops):
            address = _ip(hop)
            if address is None:
                break  # a garbled hop: stop at the last address we could trust
            peer = address
            if not _trusted(address, proxies):
                break
    return address_key(peer)


class GatewayRateLimit:
    """429 with Retry-After for a caller over ``rate`` requests/s on the gateway paths."""

    def __init__(
        self,
        app: ASGIApp,
        rate: float,
        burst: float,
        gateway_token: str = "",
        trusted_proxies: tuple[Network, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.rate = rate
        self.gateway_token = gateway_token
        self.proxies = trusted_proxies
        self.limiter = KeyedLimiter(rate, burst, MAX_CALLERS, clock)  # taken by this node
        self.forwarded = KeyedLimiter(rate, burst, MAX_CALLERS, clock)  # run for all nodes

    def caller(self, scope: Scope) -> str:
        token = scope_bearer(scope)
        if (
            token is not None
            and self.gateway_token
            and hmac.compare_digest(token.encode(), self.gateway_token.encode())
        ):
            return "gateway"
        return "address:" + client_address(scope, self.proxies)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or self.rate <= 0
            or not str(scope.get("path", "")).startswith(GATEWAY_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        limiter = self.forwarded if scope.get(FORWARDED) else self.limiter
        wait = limiter.take(self.caller(scope))
        if wait > 0:
            response = JSONResponse(
                {"detail": f"rate limit: at most {self.rate:g} requests/s from one gateway"},
                429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
