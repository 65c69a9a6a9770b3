"""Rate limits keyed by who the caller provably is (429), bounded memory, CORS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from api.base.limits import (
    GatewayRateLimit,
    KeyedLimiter,
    TokenBucket,
    client_address,
    parse_networks,
)
from tests.live import ThreadServer, contact_body


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5  # the next token comes in half a second
    assert bucket.take(0.5) == 0.0


def test_keyed_limiter_refills_on_its_clock_and_keeps_memory_bounded() -> None:
    now = [0.0]
    limiter = KeyedLimiter(rate=1.0, burst=2.0, max_keys=100, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    now[0] = 1.0
    assert limiter.take("a") == 0.0  # a token came back
    for i in range(10_000):
        limiter.take(f"caller-{i}")
    assert len(limiter.buckets) == 100  # the least recently seen callers are forgotten
    assert "caller-9999" in limiter.buckets and "a" not in limiter.buckets
    assert KeyedLimiter(rate=0, burst=1).take("x") == 0.0  # 0 = no limit


def scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


def test_client_address_groups_ipv6_by_64_and_ignores_untrusted_forwarding() -> None:
    assert client_address(scope("203.0.113.7")) == "203.0.113.7"
    assert client_address(scope("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert client_address(scope("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64"
    assert client_address(scope("::ffff:198.51.100.4")) == "198.51.100.4"
    assert client_address({"type": "http", "client": None}) == "unknown"
    spoofed = scope("203.0.113.7", ("X-Forwarded-For", "1.2.3.4"))
    assert client_address(spoofed) == "203.0.113.7"  # no trusted proxy: the header is ignored


def test_client_address_behind_trusted_proxies() -> None:
    proxies = parse_networks("10.0.0.0/8, fd00::/8")
    forwarded = scope("10.0.0.2", ("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 10.0.0.9"))
    # read from the right: 10.0.0.9 is our proxy, 198.51.100.9 the client; 6.6.6.6 is
    # whatever the client claimed
    assert client_address(forwarded, proxies) == "198.51.100.9"
    assert client_address(scope("10.0.0.2"), proxies) == "10.0.0.2"  # no header: the proxy
    garbled = scope("10.0.0.2", ("X-Forwarded-For", "not-an-ip"))
    assert client_address(garbled, proxies) == "10.0.0.2"
    direct = scope("198.51.100.1", ("X-Forwarded-For", "6.6.6.6"))
    assert client_address(direct, proxies) == "198.51.100.1"  # not through our proxy
    v6 = scope("fd00::1", ("X-Forwarded-For", "2001:db8:5:6::77"))
    assert client_address(v6, proxies) == "2001:db8:5:6::/64"


def test_only_the_real_gateway_token_is_a_principal() -> None:
    async def app(*_: Any) -> None:
        raise AssertionError("not called")

    limit = GatewayRateLimit(app, rate=1, burst=1, gateway_token="the-real-one")
    real = scope("203.0.113.7", ("Authorization", "bearer the-real-one"))
    bogus = scope("203.0.113.7", ("Authorization", "Bearer whatever"))
    assert limit.caller(real) == "gateway"
    assert limit.caller(bogus) == "address:203.0.113.7"
    open_limit = GatewayRateLimit(app, rate=1, burst=1)  # no token configured
    assert open_limit.caller(bogus) == "address:203.0.113.7"


async def test_a_gateway_over_its_rate_gets_429(tmp_path: Path) -> None:
    server = ThreadServer(
        tmp_path / "l.db", gateway_rate=0.01, gateway_burst=3, gateway_token="gw"
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            token = {"Authorization": "Bearer gw"}
            codes = [
                (
                    await http.post("/v1/contacts", json=contact_body(f"r{i}"), headers=token)
                ).status_code
                for i in range(4)
            ]
            assert codes == [202, 202, 202, 429]
            limited = await http.post("/v1/contacts", json=contact_body("r9"), headers=token)
            assert int(limited.headers["retry-after"]) >= 1 and "rate limit" in limited.text
            anonymous = await http.post("/v1/contacts", json=contact_body("t1"))
            assert anonymous.status_code == 401  # its address is counted apart
            assert (await http.get("/healthz")).status_code == 200  # not a gateway path
    finally:
        server.stop()


async def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    server = ThreadServer(tmp_path / "c.db", cors_origins="https://ops.acme.it").start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            preflight = {"Access-Control-Request-Method": "POST"}
            ok = await http.options(
                "/v1/contacts", headers={"Origin": "https://ops.acme.it", **preflight}
            )
            assert ok.headers["access-control-allow-origin"] == "https://ops.acme.it"
            other = await http.options(
                "/v1/contacts", headers={"Origin": "https://evil.example", **preflight}
            )
            assert "access-control-allow-origin" not in other.headers
    finally:
        server.stop()
