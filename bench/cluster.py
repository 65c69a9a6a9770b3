"""Two nodes on one Redis: intake rate, ingest-to-offer latency across nodes, and how long
routing stops when the active router is killed.

Starts a private redis-server and two `centralino serve --redis-url` nodes sharing a fresh
PostgreSQL database (CENTRALINO_BENCH_POSTGRES names the server, as for bench/intake.py;
dropped at the end) on loopback, N agent desktops on node b (``--desktops-on a``: on node a;
they accept every offer and wrap up after a short service time), then:

1. max sustained intake: wrk (bench/intake.py's script, C connections in all) posts to
   both nodes at once, half the connections each, as fast as they answer; these contacts
   go to a queue no agent takes, not ahead of the next phase's;
2. latency at ``--rate`` contacts/s (100 by default: what 50 agents with a short service
   time take without a queue), posted to node a (the active router), offers measured on
   the desktops connected to node b (``--desktops-on a``: on the router's own node): p50,
   p99; and from each desktop's accept to its ack;
3. failover: kill -9 the active node while a gateway posts once every 50 ms to node b;
   the gap = time from the kill to the first 202 after it (lease ttl as configured).

    python bench/cluster.py [--agents 50] [--seconds 5] [--lease-ttl 3] [--rate 100]
                            [--desktops-on b]

The load generators, Redis, PostgreSQL and both nodes share the same 2-core machine.
PostgreSQL, not a shared SQLite file (which nodes on one host may use): only there does
every node take its contacts in itself (docs/cluster.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import load_average, postgres_database, write_script, wrk
from throughput import (
    ADMIN,
    CONFIG,
    REPO,
    Desks,
    body,
    create_agents,
    free_port,
    open_loop,
    percentile,
    serve,
    wait_for_port,
)


def role(url: str) -> str:
    try:
        return str(httpx.get(url + "/healthz", timeout=1).json().get("role"))
    except httpx.HTTPError:
        return "down"


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A private redis-server (nothing kept on disk) on a free port."""
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    redis = subprocess.Popen(
        [redis_binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=work,
    )
    wait_for_port(port)
    return redis, port


async def failover_gap(kill: subprocess.Popen[bytes], url: str) -> float:
    """Seconds from kill -9 to the first contact accepted again."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        kill.kill()
        killed = time.perf_counter()
        n = 0
        while True:
            n += 1
            reply = await http.post("/v1/contacts", json=body(10**9 + n))
            if reply.status_code == 202:
                return time.perf_counter() - killed
            await asyncio.sleep(0.05)


async def run(
    database: str,
    agents: int,
    seconds: float,
    concurrency: int,
    lease_ttl: float,
    rate: float,
    desktops_on: str,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="centralino-cluster-bench-"))
    (work / "config.yaml").write_text(CONFIG)
    script = write_script(work, intent="backlog")  # taken by no agent (see the docstring)
    redis, redis_port = start_redis(work)
    port_a, port_b = free_port(), free_port()
    env = {
        **os.environ,
        "CENTRALINO_ADMIN_TOKEN": ADMIN,
        "CENTRALINO_RELOAD_INTERVAL": "0",
        "CENTRALINO_GATEWAY_RATE": "0",  # no per-gateway limit: the bench measures intake
        "CENTRALINO_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CENTRALINO_LEASE_TTL": str(lease_ttl),
        "CENTRALINO_COMMAND_TIMEOUT": "2",
        "PYTHONPATH": str(REPO),
    }
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    a = serve(work, port_a, env, database)
    while role(url_a) != "active":
        time.sleep(0.05)
    b = serve(work, port_b, env, database)
    try:
        async with httpx.AsyncClient(
            base_url=url_b, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as http:
            tokens = await create_agents(http, agents)
        desk_url = url_a if desktops_on == "a" else url_b
        desks = Desks(desk_url.replace("http", "ws") + "/v1/desktop", tokens, service=0.05)
        await desks.start()
        half = concurrency // 2
        runs = await asyncio.gather(
            asyncio.to_thread(wrk, url_a, script, "a", round(seconds), half, a.pid),
            asyncio.to_thread(wrk, url_b, script, "b", round(seconds), concurrency - half, b.pid),
        )
        intake = sum(run.accepted_per_s for run in runs)
        refused = sum(run.non_2xx + run.errors for run in runs)
        latencies = await open_loop(url_a, rate, seconds, desks)
        acks = [waited * 1000 for waited in desks.accept_acked.values()] or [float("nan")]
        await desks.stop()
        gap = await failover_gap(a, url_b)
        print(
            f"2 nodes + Redis on loopback, PostgreSQL, {agents} agents on node {desktops_on}, "
            f"wrk with {concurrency} connections, {seconds:.0f} s per measurement; "
            f"load {load_average()}"
        )
        print(
            f"  max sustained intake through both nodes: {intake:,.0f} contacts/s "
            f"(a {runs[0].accepted_per_s:,.0f}/s, b {runs[1].accepted_per_s:,.0f}/s; "
            f"p99 {runs[0].p99_ms:.1f} and {runs[1].p99_ms:.1f} ms; non-2xx or errors "
            f"{refused})"
        )
        print(
            f"  ingest on node a -> offer on a desktop on node {desktops_on} at {rate:,.0f}/s: "
            f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms "
            f"({len(latencies):,} offers)"
        )
        print(
            f"  a desktop's accept -> its ack on node {desktops_on}: "
            f"p50 {statistics.median(acks):.1f} ms, p99 {percentile(acks, 0.99):.1f} ms "
            f"({len(desks.accept_acked):,} accepts acknowledged)"
        )
        print(
            f"  kill -9 of the active router: intake again after {gap:.2f} s "
            f"(lease ttl {lease_ttl:g} s)"
        )
    finally:
        for proc in (a, b, redis):
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lease-ttl", type=float, default=3.0)
    parser.add_argument(
        "--rate", type=float, default=100.0, help="contacts/s posted for the latency (open loop)"
    )
    parser.add_argument(
        "--desktops-on",
        choices=["a", "b"],
        default="b",
        help="the node the agents' desktops connect to (a: the active router's own)",
    )
    args = parser.parse_args()
    with postgres_database("centralino_cluster_bench") as database:
        asyncio.run(
            run(
                database,
                args.agents,
                args.seconds,
                args.concurrency,
                args.lease_ttl,
                args.rate,
                args.desktops_on,
            )
        )


if __name__ == "__main__":
    main()
