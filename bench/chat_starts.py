"""Web chats started: a customer's start to the ``started`` frame, with nothing else running.

    python bench/chat_starts.py [--database sqlite|postgres|both] [--rate 100]
        [--seconds 10] [--reps 3]

For each repetition a fresh `centralino serve` (the intake bench's config; no chat start
limit per address, since every customer here comes from 127.0.0.1): chats are started at
``--rate`` a second for ``--seconds`` (an open loop, after 2 s of warm-up), each by a
customer of its own who opens the chat websocket, sends its start (a new customer, with an
email), waits for ``started`` and leaves (the chat is abandoned). No agent is logged in.
Prints, median (range) of the repetitions: the start-to-started latency (p50, p99), the
server's CPU and its journal's commits a chat (every lane, the leave's abandonment
included), and the load generator's CPU. A chat's contact is stored with its session's
thread key in one commit (router/store/take_batch.py), which a customer waits for before
``started``, and nothing is read before it (``Dispatcher.start``); until the thirty-eighth
session the key took a commit of its own after two reads, and the leave a read.
Copied into another checkout, it measures that checkout's code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import server_metrics
import websockets
from intake import centralino, cpu_seconds, load_average
from throughput import percentile

TEXT = "Salve, ho una domanda sulla bolletta di ottobre"
COMMITS = "centralino_journal_commit_seconds_count"
WARM_UP = 2.0


class Phase(NamedTuple):
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # the server's, a chat
    commits: float  # the journal's, a chat
    client_cpu: float  # share of a core
    failed: int


async def chat(url: str, n: int, latencies: list[float], failures: list[str]) -> None:
    try:
        async with websockets.connect(url, ping_interval=None) as ws:  # as a browser
            start = {
                "type": "start",
                "text": TEXT,
                "language": "it",
                "name": f"Cliente {n}",
                "email": f"cliente{n}@example.it",
            }
            sent = time.perf_counter()
            await ws.send(json.dumps(start))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if reply.get("type") != "started":
                failures.append(str(reply))
                return
            latencies.append((time.perf_counter() - sent) * 1000)
            await ws.send(json.dumps({"type": "leave"}))
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        failures.append(repr(exc))


async def open_loop(
    url: str, first: int, rate: float, seconds: float
) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    tasks = []
    began = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(chat(url, first + i, latencies, failures)))
    await asyncio.gather(*tasks)
    return latencies, failures


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(http: str, pid: int, rate: float, seconds: float) -> Phase:
    ws_url = http.replace("http://", "ws://") + "/v1/chat"
    asyncio.run(open_loop(ws_url, 0, rate, WARM_UP))
    before, cpu, mine, wall = (
        server_metrics.scrape(http),
        cpu_seconds(pid),
        client_cpu(),
        time.perf_counter(),
    )
    latencies, failures = asyncio.run(open_loop(ws_url, 1_000_000, rate, seconds))
    mine, wall = client_cpu() - mine, time.perf_counter() - wall
    cpu = cpu_seconds(pid) - cpu
    after = server_metrics.scrape(http)
    commits = server_metrics.total(after, COMMITS) - server_metrics.total(before, COMMITS)
    chats = max(1, len(latencies))
    return Phase(
        percentile(latencies, 0.50) if latencies else float("nan"),
        percentile(latencies, 0.99) if latencies else float("nan"),
        cpu * 1000 / chats,
        commits / chats,
        mine / wall,
        len(failures),
    )


def median_range(values: list[float], fmt: str) -> str:
    low, high = format(min(values), fmt), format(max(values), fmt)
    return f"{format(statistics.median(values), fmt)} ({low}–{high})"


def bench(database: str, args: argparse.Namespace) -> None:
    phases = []
    with tempfile.TemporaryDirectory(prefix="centralino-chat-") as tmp:
        for rep in range(args.reps):
            with centralino(Path(tmp), database, f"centralino_chat_{rep}") as (http, server, _url):
                phases.append(measure(http, server.pid, args.rate, args.seconds))
    print(
        f"  {database}: {args.rate:g} chats/s for {args.seconds:g} s, {args.reps} runs, "
        "median (range): "
        f"start -> started p50 {median_range([p.p50_ms for p in phases], '.1f')} ms, "
        f"p99 {median_range([p.p99_ms for p in phases], '.1f')} ms; "
        f"server CPU {median_range([p.cpu_ms for p in phases], '.2f')} ms a chat; "
        f"journal commits {median_range([p.commits for p in phases], '.2f')} a chat; "
        f"load generator {median_range([100 * p.client_cpu for p in phases], '.0f')}% of a core; "
        f"failed {sum(p.failed for p in phases)}; load {load_average()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    os.environ["CENTRALINO_CHAT_START_RATE"] = "0"  # every customer here is 127.0.0.1
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, load {load_average()}", flush=True)
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        bench(database, args)


if __name__ == "__main__":
    main()
