"""kill -9 under load: nothing acknowledged is lost, nothing is accepted twice.

A real server process takes contacts from a gateway while agent desktops accept every
offer, end it and wrap it up. The server is killed (SIGKILL) in the middle of it. Every
202 must be a stored contact, every acknowledged accept an accepted offer in the record,
every acknowledged wrap-up a completed contact; and after a restart every unfinished
contact is routed again.
"""

from __future__ import annotations

from pathlib import Path

from tests.engine_helpers import CONFIG
from tests.live import Acks, ProcessServer, audit, load_until_killed, not_routed_again


async def test_kill_9_under_load_loses_no_acknowledged_contact_accept_or_wrap_up(
    tmp_path: Path,
) -> None:
    database = tmp_path / "crash.db"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    server = ProcessServer(database, config_path).start()
    assert server.proc is not None
    acks = Acks(kill_after=40, kill=server.proc.kill)
    await load_until_killed(server, acks, gateways=4, timeout=60)
    assert len(acks.wrap_ups) >= 5  # wrap-ups were acknowledged before the kill too

    found = await audit(database, acks)
    assert acks.contacts <= set(found.stored)  # every 202 is a stored contact
    assert found.lost_accepts == {}, (
        f"acknowledged accepts missing from the record: {found.lost_accepts}"
    )
    assert found.lost_wrap_ups == {}, (
        f"acknowledged wrap-ups not in the record: {found.lost_wrap_ups}"
    )
    assert found.doubled == []

    restarted = ProcessServer(database, config_path).start()
    try:
        # all of those waiting are routed again (stored but not planned too: "received")
        assert await not_routed_again(restarted, found.waiting, "billing") == set()
    finally:
        restarted.kill()
