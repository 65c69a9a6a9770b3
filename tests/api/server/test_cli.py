"""The centralino command, run for real in a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live import ADMIN, ThreadServer, contact_body, online_desktop
from tests.paths import REPO


def centralino(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.server.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_accepts_the_shipped_config() -> None:
    done = centralino("check", "config.yaml")
    assert done.returncode == 0
    assert "OK" in done.stdout and "default queue 'customer_care'" in done.stdout


def test_check_lists_every_problem_with_line_and_exits_1(tmp_path: Path) -> None:
    broken = (
        (REPO / "config.yaml")
        .read_text()
        .replace("queue: billing\n    priority: 10", "queue: bills\n    priority: 10", 1)
        .replace('contact.intent == "tech" ||', "contact.intent == ||", 1)
    )
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    done = centralino("check", str(path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert "nothing loaded" in lines[-1]
    assert any("queue 'bills' is not one of the queues" in line for line in lines)
    assert all(line.startswith(f"{path}:") for line in lines[:-1])


def test_serve_refuses_an_invalid_config_before_starting(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("default_queue: nowhere\nqueues: {a: {}}\n")
    done = centralino("serve", "--config", str(path), "--port", "1")
    assert done.returncode == 1
    assert "default_queue 'nowhere' is not one of the queues" in done.stderr


async def test_explain_prints_why(server: ThreadServer, client: httpx.AsyncClient) -> None:
    desk = await online_desktop(server, client, "expl", skills={"billing": 2}, languages=["it"])
    contact_id = (await client.post("/v1/contacts", json=contact_body("x1"))).json()["contact_id"]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.server.cli", "explain", contact_id, "--url", server.url],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CENTRALINO_ADMIN_TOKEN": ADMIN},
        )

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stderr
    assert f"contact {contact_id}: queued" in done.stdout
    assert "rule 'billing' -> queue billing" in done.stdout
    assert "excluded: 1 proficiency below this step" in done.stdout
    assert "billing proficiency 2 < 4 required at this step" in done.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.server.cli",
            "explain",
            "nope",
            "--url",
            server.url,
            "--token",
            ADMIN,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "404" in missing.stderr
    await desk.close()
