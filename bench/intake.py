"""Intake at wire speed: `centralino serve` against a bare FastAPI endpoint, driven by wrk.

wrk (a C load generator, Debian package `wrk`) posts contacts with unique message ids (a
Lua script) to both servers, back to back, for several repetitions; the figures are the
median and range over the repetitions. Server CPU per accepted contact comes from the
server process's own CPU time (/proc), so it does not include the load generator.

    python bench/intake.py [--database sqlite|postgres|both] [--reps 3] [--seconds 10]
                           [--connections 32] [--agents 0]

The bare endpoint validates the same body model (api.gateways.contacts.ContactIn) and
answers 202. Everything runs on this machine: the load average is printed with every run,
since other work on the machine moves the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from throughput import ADMIN, BARE_APP, CONFIG, create_agents, free_port, start

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "CENTRALINO_BENCH_POSTGRES", "postgresql://postgres:centralino@127.0.0.1:5432/postgres"
)
LUA = r"""
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  prefix = args[1] or "run"
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"gateway":"bench","message_id":"%s-%d-%d","channel":"chat","language":"it",' ..
    '"intent":"support","customer":{"id":"c-%s-%d-%d"},' ..
    '"text":"Salve, una domanda sul mio contratto"}',
    prefix, tid, counter, prefix, tid, counter)
  return wrk.format("POST", "/v1/contacts", {["Content-Type"] = "application/json"}, body)
end
"""


@dataclass
class Run:
    accepted_per_s: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    cpu_ms_per_contact: float
    load: str


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def latency_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url: str, script: Path, prefix: str, seconds: int, connections: int, pid: int) -> Run:
    before = cpu_seconds(pid)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            prefix,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = cpu_seconds(pid) - before
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    errors_match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = sum(int(x) for x in errors_match.groups()) if errors_match else 0
    accepted = total - non_2xx
    return Run(
        accepted / elapsed,
        errors,
        non_2xx,
        latency_ms(out, "50"),
        latency_ms(out, "99"),
        used * 1000 / max(accepted, 1),
        load_average(),
    )


def fresh_postgres_database(name: str) -> str:
    import asyncpg

    async def recreate() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def serve_centralino(
    work: Path, port: int, database_url: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "api.server.cli",
        "serve",
        "--config",
        str(work / "config.yaml"),
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--log-level",
        "warning",
    ]
    return start(args, env, f"http://127.0.0.1:{port}")


def summary(runs: list[Run], field: str, fmt: str) -> str:
    values = [getattr(run, field) for run in runs]
    return (
        f"{format(statistics.median(values), fmt)} "
        f"({format(min(values), fmt)}–{format(max(values), fmt)})"
    )


def report(name: str, runs: list[Run]) -> None:
    print(
        f"  {name:<22} {summary(runs, 'accepted_per_s', ',.0f')} /s, "
        f"p50 {summary(runs, 'p50_ms', '.1f')} ms, p99 {summary(runs, 'p99_ms', '.1f')} ms, "
        f"server CPU {summary(runs, 'cpu_ms_per_contact', '.2f')} ms/contact; "
        f"non-2xx {sum(r.non_2xx for r in runs)}, socket errors {sum(r.errors for r in runs)}; "
        f"load {' | '.join(r.load for r in runs)}"
    )


def bench(database: str, reps: int, seconds: int, connections: int, agents: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="centralino-intake-"))
    (work / "config.yaml").write_text(CONFIG)
    (work / "bare_app.py").write_text(BARE_APP)
    script = work / "unique.lua"
    script.write_text(LUA)
    # the per-gateway rate limit (200/s by default) is off: this measures intake itself
    env = {
        **os.environ,
        "CENTRALINO_ADMIN_TOKEN": ADMIN,
        "CENTRALINO_RELOAD_INTERVAL": "0",
        "CENTRALINO_GATEWAY_RATE": "0",
    }
    if database == "postgres":
        url = fresh_postgres_database("centralino_bench")
    else:
        url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    port, bare_port = free_port(), free_port()
    server = serve_centralino(work, port, url, env)
    bare = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--app-dir",
            str(work),
        ],
        {**env, "PYTHONPATH": str(REPO)},
        f"http://127.0.0.1:{bare_port}",
    )
    try:
        if agents:

            async def make() -> None:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    timeout=30,
                    headers={"Authorization": f"Bearer {ADMIN}"},
                ) as http:
                    await create_agents(http, agents)

            asyncio.run(make())
        ours: list[Run] = []
        theirs: list[Run] = []
        for rep in range(reps):
            theirs.append(
                wrk(
                    f"http://127.0.0.1:{bare_port}",
                    script,
                    f"b{rep}",
                    seconds,
                    connections,
                    bare.pid,
                )
            )
            ours.append(
                wrk(f"http://127.0.0.1:{port}", script, f"c{rep}", seconds, connections, server.pid)
            )
        print(
            f"{database}: wrk -t2 -c{connections} -d{seconds}s, {reps} repetitions, "
            f"{agents} agents (none logged in); median (range)"
        )
        report("bare FastAPI endpoint", theirs)
        report("centralino", ours)
        ratio = statistics.median(r.accepted_per_s for r in ours) / statistics.median(
            r.accepted_per_s for r in theirs
        )
        print(f"  centralino / bare: {ratio:.1%}")
    finally:
        for proc in (server, bare):
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--agents", type=int, default=0)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        bench(database, args.reps, args.seconds, args.connections, args.agents)


if __name__ == "__main__":
    main()
