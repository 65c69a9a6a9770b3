"""Ingest-to-offer latency with thousands of agents logged in, at half of the max intake.

    python bench/offer_latency.py [--database sqlite|postgres|both] [--agents 2000]
                                  [--samples 10000] [--service 1.0] [--max-seconds 10]
                                  [--connections 32] [--rate R]

On a fresh `centralino serve` and database: N agents, whose N desktops log in and accept
every offer, wrapping up ``--service`` seconds later (throughput.Desks, all in this
process). Then:

1. max intake: wrk in a closed loop for ``--max-seconds`` (intake.wrk), the desktops taking
   the offers meanwhile;
2. half that rate (or ``--rate``), open loop from this process (throughput.open_loop),
   until ``--samples`` offers were seen: for each contact, the time from sending its POST
   to its offer arriving on a desktop (client side), and from the server's arrival stamp
   (taken after triage, before the write) to the offer arriving (the server's part,
   measured on the same machine's clock). The server's histograms (engine call, journal
   commit; /metrics has none for ingest-to-offer) are read before and after.

Agents never run out: at rate r with service time s about r × s chat slots are busy, of
agents × 3 (chat capacity); the share is printed. The load generator shares the two cores
with the server: its CPU and event-loop lag are printed beside the figures, so a client
that could not keep up shows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

import server_metrics
from intake import centralino, load_average, make_agents, wait_available, write_script, wrk
from throughput import Desks, open_loop, percentile

CHAT_CAPACITY = 3  # throughput.CONFIG keeps the default channels


def figures(values_ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(values_ms):.1f} ms, p90 {percentile(values_ms, 0.9):.1f} ms, "
        f"p99 {percentile(values_ms, 0.99):.1f} ms, max {max(values_ms):.1f} ms"
    )


async def measure(database: str, url: str, pid: int, work: Path, args: argparse.Namespace) -> None:
    tokens = await make_agents(url, args.agents)
    desks = Desks(url.replace("http", "ws") + "/v1/desktop", tokens, service=args.service)
    await desks.start()
    # this process holds 2,000 desktops: its own full collections (200+ ms each with the
    # default thresholds, measured with gc.callbacks) would show as latency of the server
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 100)
    try:
        await wait_available(url, args.agents)
        script = write_script(work)
        peak = await asyncio.to_thread(
            wrk, url, script, "max", args.max_seconds, args.connections, pid
        )
        await asyncio.sleep(args.service + 2.0)  # the desktops finish the peak's contacts
        rate = args.rate or peak.accepted_per_s / 2
        seconds = args.samples / rate * 1.05 + 1.0
        lag: list[float] = []

        async def ticker() -> None:
            loop = asyncio.get_running_loop()
            while True:
                started = loop.time()
                await asyncio.sleep(0.01)
                lag.append(loop.time() - started - 0.01)

        earlier = set(desks.since_arrival)  # the peak's contacts
        before = await asyncio.to_thread(server_metrics.scrape, url)
        ticking = asyncio.create_task(ticker())
        cpu, started = time.process_time(), time.perf_counter()
        latencies = await open_loop(url, rate, seconds, desks)
        client_cpu = (time.process_time() - cpu) / (time.perf_counter() - started)
        ticking.cancel()
        after = await asyncio.to_thread(server_metrics.scrape, url)
    finally:
        await desks.stop()
    server_part = [s * 1000 for c, s in desks.since_arrival.items() if c not in earlier]
    posted = int(rate * seconds)
    waiting = server_metrics.total(after, "centralino_queue_waiting")
    busy = rate * args.service / (args.agents * CHAT_CAPACITY)
    print(
        f"{database}: {args.agents:,} agents logged in (accept every offer, wrap up after "
        f"{args.service:g} s: about {rate * args.service:,.0f} of {args.agents * CHAT_CAPACITY:,} "
        f"chat slots busy at the rate below, {busy:.0%}); load {load_average()}"
    )
    print(
        f"  max intake (wrk -t2 -c{args.connections} -d{args.max_seconds}s, closed loop): "
        f"{peak.accepted_per_s:,.0f} 202s/s, p99 {peak.p99_ms:.1f} ms, non-2xx {peak.non_2xx}, "
        f"server CPU {peak.cpu_ms_per_contact:.2f} ms/contact; load {peak.load}"
    )
    print(
        f"  open loop at {rate:,.0f} contacts/s ({'--rate' if args.rate else 'half of max'}) "
        f"for {seconds:.0f} s: {posted:,} posted, {len(latencies):,} offers measured, "
        f"{waiting:,.0f} contacts still waiting at the end; load {load_average()}"
    )
    print(f"  POST sent -> offer on a desktop (client side): {figures(latencies)}")
    print(f"  server arrival stamp -> offer on a desktop: {figures(server_part)}")
    for line in server_metrics.report(before, after):
        print(line)
    lag_p99 = percentile(lag, 0.99) * 1000
    print(
        f"  load generator (this process: POSTs and {args.agents:,} desktops): CPU "
        f"{client_cpu:.0%} of a core, event-loop lag p99 {lag_p99:.1f} ms, "
        f"max {max(lag, default=0) * 1000:.1f} ms"
        + ("" if lag_p99 < 2 else " (the client's own delay is in the figures above)")
    )
    p99 = percentile(latencies, 0.99)
    enough = len(latencies) >= args.samples
    print(
        f"  target p99 ingest-to-offer ≤ 10 ms with ≥ {args.samples:,} samples: "
        f"{'met' if p99 <= 10 and enough else 'NOT met'} ({p99:.1f} ms, {len(latencies):,} samples)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--service", type=float, default=1.0, help="s from accept to wrap-up")
    parser.add_argument("--max-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0.0, help="contacts/s; 0: half of max")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        work = Path(tempfile.mkdtemp(prefix="centralino-offers-"))
        with centralino(work, database, "centralino_offers") as (url, server, _):
            asyncio.run(measure(database, url, server.pid, work, args))


if __name__ == "__main__":
    main()
