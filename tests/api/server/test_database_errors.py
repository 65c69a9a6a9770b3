"""A database error that no store method turned into a StoreError is still answered 503
with Retry-After (the database's trouble, not the client's), never a 500, and the
driver's message (SQL, table names) stays out of the answer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.live import ThreadServer, admin_headers


async def test_ops_reads_of_a_database_in_trouble_get_503_with_retry_after(
    tmp_path: Path,
) -> None:
    database = tmp_path / "centralino.db"
    server = ThreadServer(database).start()
    try:
        with sqlite3.connect(database) as db:
            for table in ("feedback", "subscriptions", "users", "report_intervals"):
                db.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")
        async with httpx.AsyncClient(
            base_url=server.url, timeout=10, headers=admin_headers()
        ) as client:
            for path in ("/v1/feedback", "/v1/subscriptions", "/v1/users", "/v1/reports"):
                reply = await client.get(path)
                assert reply.status_code == 503, (path, reply.status_code, reply.text)
                assert reply.headers.get("retry-after") == "1", (path, reply.text)
                assert "no such table" not in reply.text and "_gone" not in reply.text
                assert reply.json()["detail"].startswith("storage unavailable, retry later")
    finally:
        server.stop()
