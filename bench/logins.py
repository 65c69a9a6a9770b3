"""What a desktop's login costs the server, and what its socket keeps while it stays.

    python bench/logins.py [--desktops 2000] [--within 10] [--reps 3] [--database sqlite]

Each repetition starts `centralino serve` on a fresh database with ``--desktops`` agents
and no contact, then logs the desktops in at an even pace, all within ``--within`` seconds
(a shift start's logins without its intake: bench/intake.py ``--storm``), each a websocket
of its own that sends its login and waits for the welcome, answering the server's pings
and sending none, as a browser does. Printed, over the logins (from the first to the last
welcome, and one more second for the collector's middle generation to come round): the
server's CPU a login (the scheduler's nanoseconds of all its threads, less what it
spends in as long with nothing to do, measured over 2 s before), its garbage
collections by generation (/metrics: how many and how long in all), its resident memory
grown a desktop held (VmRSS), and login to welcome as the desktops saw it. The desktops
run in this process; its own CPU is printed, so a load generator that cannot keep up is
seen to be one. ``--profile FILE``: py-spy samples the server over the first repetition's
logins (the CPU figures of that one include py-spy's cost), its raw stacks kept in FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import stages
from intake import centralino, load_average, make_agents, user_and_system
from server_metrics import GC_PAUSES, scrape, total
from websockets.asyncio.client import ClientConnection, connect
from ws_pings import scheduler_cpu_seconds

SETTLE = 1.1  # s after the last welcome: the middle generation is collected every second
IDLE = 2.0  # s of the server's CPU with nothing to do, taken off the logins' (its timers)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def log_in(url: str, token: str, due: float, waits: list[float]) -> ClientConnection:
    await asyncio.sleep(max(0.0, due - time.perf_counter()))
    started = time.perf_counter()
    ws = await connect(url, max_queue=None, ping_interval=None)
    await ws.send(json.dumps({"type": "login", "token": token}))
    reply = json.loads(await ws.recv())
    if reply.get("type") != "welcome":
        raise RuntimeError(f"login refused: {reply}")
    waits.append(time.perf_counter() - started)
    return ws


async def logins(
    url: str, tokens: list[str], within: float
) -> tuple[list[float], list[ClientConnection]]:
    start = time.perf_counter() + 0.2
    step = within / len(tokens)
    waits: list[float] = []
    sockets = await asyncio.gather(
        *(log_in(url, token, start + n * step, waits) for n, token in enumerate(tokens))
    )
    return waits, list(sockets)


def repetition(
    work: Path, database: str, desktops: int, within: float, profile: Path | None
) -> dict[str, float]:
    with centralino(work, database, "logins") as (url, server, _database_url):
        tokens = asyncio.run(make_agents(url, desktops))
        ws_url = url.replace("http://", "ws://") + "/v1/desktop"
        time.sleep(SETTLE)
        idle = scheduler_cpu_seconds(server.pid)
        time.sleep(IDLE)
        idle = (scheduler_cpu_seconds(server.pid) - idle) / IDLE  # its timers: CPU a second
        before = scrape(url)
        cpu, rss, own = scheduler_cpu_seconds(server.pid), resident_kib(server.pid), os.times()
        user, system = user_and_system(server.pid)

        async def hold() -> list[float]:
            waits, sockets = await logins(ws_url, tokens, within)
            await asyncio.sleep(SETTLE)
            nonlocal cpu, rss, user, system
            cpu = scheduler_cpu_seconds(server.pid) - cpu
            ticks = user_and_system(server.pid)
            user, system = ticks[0] - user, ticks[1] - system
            rss = resident_kib(server.pid) - rss
            for ws in sockets:
                await ws.close()
            return waits

        started = time.perf_counter()
        spy = None if profile is None else stages.record(server.pid, round(within), profile)
        waits = asyncio.run(hold())
        if spy is not None:
            spy.wait()
        elapsed = time.perf_counter() - started
        cpu -= idle * elapsed
        mine = os.times()
        after = scrape(url)
    figures = {
        "idle_ms": 1000 * idle,
        "cpu_ms": 1000 * cpu / desktops,
        "system_share": system / (user + system),
        "rss_kib": rss / desktops,
        "client_core": (mine.user + mine.system - own.user - own.system) / elapsed,
        "p50_ms": 1000 * statistics.median(waits),
        "p99_ms": 1000 * sorted(waits)[int(0.99 * (len(waits) - 1))],
    }
    for generation in ("0", "1", "2"):
        count = f"{GC_PAUSES}_count"
        seconds = f"{GC_PAUSES}_sum"
        figures[f"gc{generation}_n"] = total(after, count, generation=generation) - total(
            before, count, generation=generation
        )
        figures[f"gc{generation}_ms"] = 1000 * (
            total(after, seconds, generation=generation)
            - total(before, seconds, generation=generation)
        )
    return figures


def line(figures: dict[str, float]) -> str:
    return (
        f"server CPU {figures['cpu_ms']:.3f} ms a login ({100 * figures['system_share']:.0f}% "
        f"in the kernel); collections: young "
        f"{figures['gc0_n']:.0f} ({figures['gc0_ms']:.0f} ms in all), middle "
        f"{figures['gc1_n']:.0f} ({figures['gc1_ms']:.0f} ms), whole heap "
        f"{figures['gc2_n']:.0f} ({figures['gc2_ms']:.0f} ms); resident memory "
        f"{figures['rss_kib']:.1f} KiB a desktop; login to welcome p50 "
        f"{figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms; this process "
        f"{100 * figures['client_core']:.0f}% of a core; the server idle "
        f"{figures['idle_ms']:.1f} ms of CPU a second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--desktops", type=int, default=2000)
    parser.add_argument("--within", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profile", type=Path, help="py-spy's raw stacks of the logins (rep 1)")
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load "
        f"{load_average()}; {args.desktops:,} desktops logging in within {args.within:g} s, "
        f"{args.database}, {args.reps} repetitions"
    )
    runs = []
    with tempfile.TemporaryDirectory(prefix="centralino-logins-") as tmp:
        for rep in range(args.reps):
            work = Path(tmp) / f"rep{rep}"
            work.mkdir()
            profile = args.profile if rep == 0 else None
            runs.append(repetition(work, args.database, args.desktops, args.within, profile))
            print(f"  {rep + 1}: {line(runs[-1])}; load {load_average()}")
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"  median: {line(medians)}")


if __name__ == "__main__":
    main()
