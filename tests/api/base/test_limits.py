"""Gateway rate limits (429), CORS, and personal data kept out of logs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx

from api.base.limits import PersonalDataFilter, TokenBucket
from tests.live import ThreadServer, contact_body


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5  # the next token comes in half a second
    assert bucket.take(0.5) == 0.0


async def test_a_gateway_over_its_rate_gets_429(tmp_path: Path) -> None:
    server = ThreadServer(tmp_path / "l.db", gateway_rate=2, gateway_burst=3).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            codes = [
                (await http.post("/v1/contacts", json=contact_body(f"r{i}"))).status_code
                for i in range(4)
            ]
            assert codes == [202, 202, 202, 429]
            limited = await http.post("/v1/contacts", json=contact_body("r9"))
            assert limited.headers["retry-after"] == "1" and "rate limit" in limited.text
            other = await http.post(
                "/v1/contacts",
                json=contact_body("t1"),
                headers={"Authorization": "Bearer another-gateway"},
            )
            assert other.status_code == 202  # counted apart
            assert (await http.get("/healthz")).status_code == 200  # not a gateway path
            await asyncio.sleep(0.6)
            assert (await http.post("/v1/contacts", json=contact_body("r10"))).status_code == 202
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


def test_emails_and_phone_numbers_are_masked_in_logs() -> None:
    record = logging.LogRecord(
        "centralino",
        logging.INFO,
        __file__,
        1,
        "contact from %s, call back on %s",
        ("mario.rossi@example.it", "+39 333 123 4567"),
        None,
    )
    assert PersonalDataFilter().filter(record)
    assert record.getMessage() == "contact from [email], call back on [phone]"
    plain = logging.LogRecord(
        "centralino", logging.INFO, __file__, 1, "3 queues, 12 rules", None, None
    )
    PersonalDataFilter().filter(plain)
    assert plain.getMessage() == "3 queues, 12 rules"
