"""The report worker process: it leaves with the router, even one killed with kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import pytest

from router.reports.figures import LocalFigures, WorkerFigures, figures_for
from router.reports.records import ReportRecords
from router.store.errors import StoreError
from tests.router.reports.test_aggregate import CONFIG

PARENT = """
import asyncio, sys, time
from router.reports.figures import LocalFigures, WorkerFigures, figures_for
from router.reports.records import ReportRecords
from router.rules.loader import load_rules
from router.store.repository import Store

async def main() -> None:
    url = sys.argv[1]
    store = await Store.open(url)
    worker = WorkerFigures(url)
    await worker(0.0, 100.0, load_rules(sys.argv[2]).config)
    print(*worker._pool._processes, flush=True)
    time.sleep(600)

if __name__ == "__main__":
    asyncio.run(main())
"""
REPO = Path(__file__).resolve().parents[3]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except FileNotFoundError:
        return False


def test_the_worker_exits_when_the_router_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "a_router.py"  # router.py would hide the package
    script.write_text(PARENT)
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    parent = subprocess.Popen(
        [sys.executable, str(script), url, str(REPO / "config.yaml")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        (worker,) = map(int, parent.stdout.readline().split())
        assert alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 60  # a condition with a generous bound, not a window
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(worker)
    finally:
        parent.kill()
        parent.wait()


def test_a_database_the_worker_cannot_read_is_a_store_error(tmp_path: Path) -> None:
    worker = WorkerFigures(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'r.db'}")
    try:
        with pytest.raises(StoreError, match="report figures not read"):
            asyncio.run(worker(0.0, 100.0, CONFIG))
    finally:
        worker.close()


def test_a_database_in_memory_keeps_the_figures_in_the_router() -> None:
    records = cast(ReportRecords, None)
    assert isinstance(figures_for("sqlite+aiosqlite://", records), LocalFigures)
    assert isinstance(figures_for("sqlite+aiosqlite:///:memory:", records), LocalFigures)
    assert isinstance(figures_for("sqlite+aiosqlite:///x.db", records), WorkerFigures)
