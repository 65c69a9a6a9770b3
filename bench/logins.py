"""What a desktop's login costs the server, and what its socket keeps while it stays.

    python bench/logins.py [--desktops 2000] [--within 10] [--reps 3] [--database sqlite]

Each repetition starts `centralino serve` on a fresh database with ``--desktops`` agents
and no contact, then logs the desktops in at an even pace, all within ``--within`` seconds
(a shift start's logins without its intake: bench/intake.py ``--storm``), each a websocket
of its own that sends its login and waits for the welcome, answering the server's pings
and sending none, as a browser does. Printed, over the logins (from the first to the last
welcome, and one more second for the collector's middle generation to come round): the
server's CPU a login (the scheduler's nanoseconds of all its threads, less what it spends
in as long with nothing to do, measured over 2 s before), its garbage collections by
generation (/metrics: how many and how long in all; the journal's commits, how many a
login and how long each), its resident memory grown a desktop held (VmRSS), and login to
welcome as the desktops saw it. The desktops run in this process; its own CPU is printed,
so a load generator that cannot keep up is seen to be one. Then every desktop closes at
once (a network fault, a proxy restart, the desktops' side of a failover): the server's
CPU a desktop closed, and how late its event loop ran (the largest bucket of
``centralino_event_loop_lag_seconds``). ``--profile FILE``: py-spy samples the server over
the first repetition's logins (the CPU figures of that one include py-spy's cost), its raw
stacks kept in FILE.
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
from server_metrics import GC_PAUSES, histogram, scrape, total
from throughput import percentile
from websockets.asyncio.client import ClientConnection, connect
from ws_pings import scheduler_cpu_seconds

SETTLE = 1.1  # s after the last welcome: the middle generation is collected every second
LAG = "centralino_event_loop_lag_seconds"
COMMITS = "centralino_journal_commit_seconds"  # by lane; all of them here
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
        idle = Window(server.pid, url)
        time.sleep(IDLE)
        idle.close()
        idle_rate = idle.cpu / idle.seconds  # its timers: CPU a second, nothing to do

        async def log_in_and_out() -> tuple[list[float], Window, Window]:
            spy = (
                None
                if profile is None
                else stages.record(server.pid, max(1, round(within)), profile)
            )
            logging_in = Window(server.pid, url)
            waits, sockets = await logins(ws_url, tokens, within)
            await asyncio.sleep(SETTLE)
            logging_in.close()
            if spy is not None:
                spy.wait()
            closing = Window(server.pid, url)
            await asyncio.gather(*(ws.close() for ws in sockets))
            await asyncio.sleep(SETTLE)
            return waits, logging_in, closing.close()

        waits, logging_in, closing = asyncio.run(log_in_and_out())
    lag = histogram(closing.before, closing.after, LAG)
    figures = {
        "idle_ms": 1000 * idle_rate,
        "cpu_ms": 1000 * (logging_in.cpu - idle_rate * logging_in.seconds) / desktops,
        "system_share": logging_in.system / (logging_in.user + logging_in.system),
        "rss_kib": logging_in.rss / desktops,
        "client_core": logging_in.own / logging_in.seconds,
        "p50_ms": 1000 * percentile(waits, 0.50),
        "p99_ms": 1000 * percentile(waits, 0.99),
        "close_ms": 1000 * (closing.cpu - idle_rate * closing.seconds) / desktops,
        "close_lag_ms": 1000 * lag.largest(),
    }
    commits = logging_in.delta(f"{COMMITS}_count")
    figures["commits"] = commits / desktops
    figures["commit_ms"] = 1000 * logging_in.delta(f"{COMMITS}_sum") / max(commits, 1)
    for generation in ("0", "1", "2"):
        figures[f"gc{generation}_n"] = logging_in.delta(f"{GC_PAUSES}_count", generation)
        figures[f"gc{generation}_ms"] = 1000 * logging_in.delta(f"{GC_PAUSES}_sum", generation)
    return figures


class Window:
    """The server's figures from ``Window(...)`` to ``close()``: CPU (scheduler seconds,
    and user and system ticks), resident memory grown, /metrics before and after, the
    seconds it lasted and this process's own CPU meanwhile."""

    def __init__(self, pid: int, url: str) -> None:
        self.pid, self.url = pid, url
        self.before = scrape(url)
        self.started = time.perf_counter()
        self.cpu = scheduler_cpu_seconds(pid)
        self.rss = resident_kib(pid)
        self.user, self.system = user_and_system(pid)
        self.own = sum(os.times()[:2])

    def close(self) -> Window:
        self.cpu = scheduler_cpu_seconds(self.pid) - self.cpu
        self.seconds = time.perf_counter() - self.started
        self.rss = resident_kib(self.pid) - self.rss
        user, system = user_and_system(self.pid)
        self.user, self.system = user - self.user, system - self.system
        self.own = sum(os.times()[:2]) - self.own
        self.after = scrape(self.url)
        return self

    def delta(self, name: str, generation: str | None = None) -> float:
        labels = {} if generation is None else {"generation": generation}
        return total(self.after, name, **labels) - total(self.before, name, **labels)


def line(figures: dict[str, float]) -> str:
    return (
        f"server CPU {figures['cpu_ms']:.3f} ms a login ({100 * figures['system_share']:.0f}% "
        f"in the kernel; the journal's commits {figures['commits']:.2f} a login, "
        f"{figures['commit_ms']:.1f} ms each); collections: young "
        f"{figures['gc0_n']:.0f} ({figures['gc0_ms']:.0f} ms in all), middle "
        f"{figures['gc1_n']:.0f} ({figures['gc1_ms']:.0f} ms), whole heap "
        f"{figures['gc2_n']:.0f} ({figures['gc2_ms']:.0f} ms); resident memory "
        f"{figures['rss_kib']:.1f} KiB a desktop; login to welcome p50 "
        f"{figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms; this process "
        f"{100 * figures['client_core']:.0f}% of a core; the server idle "
        f"{figures['idle_ms']:.1f} ms of CPU a second; all closed at once: "
        f"{figures['close_ms']:.3f} ms of CPU a desktop, the event loop late by up to "
        f"{figures['close_lag_ms']:g} ms"
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
