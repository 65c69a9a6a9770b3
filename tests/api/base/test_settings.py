"""Server settings reach the parts they tune."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.base.settings import Settings
from router.store.journal_lanes import LINGER
from tests.live import ThreadServer


def test_the_decisions_linger_is_unset_by_default_and_then_the_databases() -> None:
    assert Settings.model_fields["decision_linger_ms"].default is None


@pytest.mark.parametrize(
    ("milliseconds", "linger"),
    [(None, LINGER), (0.0, 0.0), (20.0, 0.02)],  # unset: SQLite's default
)
async def test_the_decisions_linger_setting_reaches_the_journal(
    tmp_path: Path, milliseconds: float | None, linger: float
) -> None:
    settings = {} if milliseconds is None else {"decision_linger_ms": milliseconds}
    server = ThreadServer(tmp_path / "centralino.db", **settings).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
        assert server.app.state.runtime.store.journal.linger == linger
    finally:
        server.stop()


def test_a_negative_or_huge_linger_is_refused() -> None:
    with pytest.raises(ValueError, match="decision_linger_ms"):
        Settings(decision_linger_ms=-1)
    with pytest.raises(ValueError, match="decision_linger_ms"):
        Settings(decision_linger_ms=5000)
