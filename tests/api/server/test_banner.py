"""``centralino serve`` prints one short banner once it listens (run for real)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.live import free_port
from tests.paths import REPO


def serve_until_banner(tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.server.cli",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path / 'banner.db'}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("  SMTP"):
                break
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    return "".join(lines), err


def test_banner_names_url_token_pages_channels_and_smtp(tmp_path: Path) -> None:
    clean = {k: "" for k in os.environ if k.startswith("CENTRALINO_")}
    out, err = serve_until_banner(
        tmp_path,
        {**clean, "CENTRALINO_SMTP_PORT": str(free_port()), "CENTRALINO_X_CONSUMER_SECRET": "s"},
    )
    assert "centralino is ready on http://127.0.0.1:" in out, err
    token_line = next(line for line in out.splitlines() if "admin token" in line)
    assert len(token_line.split()[2]) >= 24  # the made-up token, shown once
    assert "/desktop" in out and "/wallboard" in out and "/chat" in out
    assert "channels on  web chat, POST /v1/contacts, X" in out
    assert "Meta (" in out  # off, with the setting that turns it on
    assert "  SMTP         127.0.0.1:" in out
    assert len(out.splitlines()) <= 7


def test_a_chosen_admin_token_is_not_printed(tmp_path: Path) -> None:
    clean = {k: "" for k in os.environ if k.startswith("CENTRALINO_")}
    out, err = serve_until_banner(tmp_path, {**clean, "CENTRALINO_ADMIN_TOKEN": "sekret-123"})
    assert "admin token  from CENTRALINO_ADMIN_TOKEN" in out, err
    assert "sekret-123" not in out + err
    assert "SMTP         off" in out


def test_every_channel_adapter_is_named_with_its_setting() -> None:
    from api.gateways.webhooks import ADAPTER_SETTINGS
    from api.server.banner import ADAPTER_ENV, ADAPTER_NAMES

    assert set(ADAPTER_SETTINGS) <= set(ADAPTER_NAMES) & set(ADAPTER_ENV)
