"""Intake at wire speed: `centralino serve` against a bare FastAPI endpoint, driven by wrk.

wrk (a C load generator, Debian package `wrk`) posts contacts with unique message ids (a
Lua script) to both servers, back to back, for several repetitions; the figures are the
median and range over the repetitions. Server CPU per accepted contact comes from the
server process's own CPU time (/proc), so it does not include the load generator.

    python bench/intake.py [--database sqlite|postgres|both] [--reps 3] [--seconds 10]
                           [--connections 32] [--agents 0] [--storm 0]

``--storm N``: a shift start. N agents exist; while wrk posts contacts to centralino, their
N desktops log in (all within the first half of the run) and take offers. The accepted
contacts per second are read back from the stored contacts' arrival times: a second with
none means intake stalled.

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
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from throughput import ADMIN, CONFIG, create_agents, free_port, serve, serve_bare

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


async def log_in(url: str, tokens: list[str], within: float) -> int:
    """Log the desktops in, spread over ``within`` seconds; keep them open until cancelled.
    Returns how many logged in."""
    import json

    import websockets

    welcomed = 0

    async def desk(index: int, token: str) -> None:
        nonlocal welcomed
        await asyncio.sleep(index * within / max(len(tokens), 1))
        async with websockets.connect(url, max_queue=None) as ws:
            await ws.send(json.dumps({"type": "login", "token": token}))
            async for raw in ws:
                event = json.loads(raw)
                if event.get("type") == "welcome":
                    welcomed += 1
                elif event.get("type") == "offer":
                    await ws.send(json.dumps({"type": "accept", "offer_id": event["offer_id"]}))

    tasks = [asyncio.create_task(desk(i, t)) for i, t in enumerate(tokens)]
    try:
        await asyncio.wait(tasks)
    finally:
        for task in tasks:
            task.cancel()
    return welcomed


def storm_run(
    url: str, script: Path, seconds: int, connections: int, pid: int, tokens: list[str]
) -> tuple[Run, int]:
    """wrk against centralino while the desktops log in (in this process, beside wrk)."""
    result: list[Run] = []

    async def both() -> int:
        ws_url = url.replace("http", "ws") + "/v1/desktop"
        logging_in = asyncio.create_task(log_in(ws_url, tokens, seconds / 2))
        result.append(await asyncio.to_thread(wrk, url, script, "storm", seconds, connections, pid))
        logging_in.cancel()
        await asyncio.gather(logging_in, return_exceptions=True)
        return len(tokens)

    asyncio.run(both())
    return result[0], len(tokens)


def per_second(database_url: str, prefix: str) -> list[int]:
    """202'd contacts per second of the run, from their stored arrival times."""
    import asyncpg

    async def fetch() -> list[float]:
        if database_url.startswith("sqlite"):
            import sqlite3

            path = database_url.split("///", 1)[1]
            with sqlite3.connect(path) as db:
                query = "select arrival from contacts where external_id like ?"
                return [row[0] for row in db.execute(query, (f"{prefix}-%",))]
        conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            query = "select arrival from contacts where external_id like $1"
            return [row[0] for row in await conn.fetch(query, f"{prefix}-%")]
        finally:
            await conn.close()

    arrivals = asyncio.run(fetch())
    if not arrivals:
        return []
    start = int(min(arrivals))
    counts = [0] * (int(max(arrivals)) - start + 1)
    for arrival in arrivals:
        counts[int(arrival) - start] += 1
    return counts


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


def bench(
    database: str, reps: int, seconds: int, connections: int, agents: int, storm: int
) -> None:
    work = Path(tempfile.mkdtemp(prefix="centralino-intake-"))
    (work / "config.yaml").write_text(CONFIG)
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
    server = serve(work, port, env, url)
    bare = serve_bare(work, bare_port, env)
    try:
        tokens: list[str] = []
        if agents or storm:

            async def make() -> list[str]:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    timeout=30,
                    headers={"Authorization": f"Bearer {ADMIN}"},
                ) as http:
                    return await create_agents(http, max(agents, storm))

            tokens = asyncio.run(make())
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
        if storm:
            run, count = storm_run(
                f"http://127.0.0.1:{port}", script, seconds, connections, server.pid, tokens
            )
            seconds_seen = per_second(url, "storm")
            print(
                f"  shift start: {count} desktops logging in during the run: "
                f"{run.accepted_per_s:,.0f} /s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
                f"non-2xx {run.non_2xx}, socket errors {run.errors}; 202s per second "
                f"{seconds_seen} (min {min(seconds_seen, default=0)}); load {run.load}"
            )
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
    parser.add_argument("--storm", type=int, default=0, help="desktops logging in mid-run")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        bench(database, args.reps, args.seconds, args.connections, args.agents, args.storm)


if __name__ == "__main__":
    main()
