"""Intake with two nodes: does the work move off the active router?

Two `centralino serve` nodes share a private redis-server and a fresh PostgreSQL database:
node a is the active router, node b a standby. wrk (the unique-id Lua script of
bench/intake.py) posts contacts, in three set-ups, back to back:

- ``router alone``: to node a, the active router, which stores and routes them itself (node
  intake on, as on every node);
- ``forwarded`` (CENTRALINO_NODE_INTAKE=false, as before): to node b, which forwards each whole
  request to the router, which validates, triages, stores and routes it;
- ``node intake`` (the default on PostgreSQL): to node b, which validates, triages and stores the
  contact; the router only plans and routes it.

Printed per set-up: accepted contacts per second, wrk's p50/p99, and the CPU time per
accepted contact of each process (router, node b, redis-server, all postgres processes),
read from /proc before and after each run. All of it shares this machine's cores, so the
sum is what one contact costs the machine and the router's share is what limits a domain.

    python bench/node_intake.py [--reps 3] [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cluster import role, start_redis
from intake import cpu_seconds, load_average, postgres_database, write_script, wrk
from throughput import ADMIN, CONFIG, free_port, serve


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # a backend that ended meanwhile
            continue
    return total


@dataclass
class Figures:
    per_s: float
    p50_ms: float
    p99_ms: float
    router_ms: float
    node_ms: float
    redis_ms: float
    postgres_ms: float
    non_2xx: int
    load: str


def measure(
    setup: str,
    database: str,
    reps: int,
    seconds: int,
    connections: int,
    work: Path,
    script: Path,
) -> list[Figures]:
    redis, redis_port = start_redis(work)
    port_a, port_b = free_port(), free_port()
    env = {
        **os.environ,
        "CENTRALINO_ADMIN_TOKEN": ADMIN,
        "CENTRALINO_RELOAD_INTERVAL": "0",
        "CENTRALINO_GATEWAY_RATE": "0",
        "CENTRALINO_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CENTRALINO_NODE_INTAKE": "false" if setup == "forwarded" else "true",
    }
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    a = serve(work, port_a, env, database)
    while role(url_a) != "active":
        time.sleep(0.05)
    b = serve(work, port_b, env, database)
    runs = []
    try:
        for rep in range(reps):
            pids = a.pid, b.pid, redis.pid
            before = *(cpu_seconds(pid) for pid in pids), cpu_of(postgres_pids())
            target = url_a if setup == "router alone" else url_b
            run = wrk(target, script, f"{setup[0]}{rep}", seconds, connections, a.pid)
            after = *(cpu_seconds(pid) for pid in pids), cpu_of(postgres_pids())
            accepted = max(run.accepted_per_s * seconds, 1)
            router, node, redis_cpu, postgres = (
                (end - start) * 1000 / accepted for start, end in zip(before, after, strict=True)
            )
            runs.append(
                Figures(
                    run.accepted_per_s,
                    run.p50_ms,
                    run.p99_ms,
                    router,
                    node,
                    redis_cpu,
                    postgres,
                    run.non_2xx + run.errors,
                    run.load,
                )
            )
    finally:
        for proc in (a, b, redis):
            proc.kill()
            proc.wait()
    return runs


def median(runs: list[Figures], field: str, fmt: str) -> str:
    values = [getattr(run, field) for run in runs]
    low, high = min(values), max(values)
    return f"{format(statistics.median(values), fmt)} ({format(low, fmt)}–{format(high, fmt)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="centralino-node-intake-"))
    (work / "config.yaml").write_text(CONFIG)
    script = write_script(work)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    print(
        f"2 nodes, PostgreSQL + Redis on loopback; wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s to the router (router alone) or to the standby node; "
        f"{args.reps} repetitions, median (range)"
    )
    for setup in ("router alone", "forwarded", "node intake"):
        with postgres_database("centralino_node_bench") as database:
            runs = measure(setup, database, args.reps, args.seconds, args.connections, work, script)
        print(
            f"  {setup:<13} {median(runs, 'per_s', ',.0f')} /s, "
            f"p50 {median(runs, 'p50_ms', '.1f')} ms, p99 {median(runs, 'p99_ms', '.1f')} ms; "
            f"CPU ms per contact: router {median(runs, 'router_ms', '.2f')}, "
            f"node {median(runs, 'node_ms', '.2f')}, redis {median(runs, 'redis_ms', '.2f')}, "
            f"postgres {median(runs, 'postgres_ms', '.2f')}; "
            f"errors {sum(r.non_2xx for r in runs)}; "
            f"load {' | '.join(run.load for run in runs)}"
        )


if __name__ == "__main__":
    main()
