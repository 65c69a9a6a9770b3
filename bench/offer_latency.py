"""Ingest-to-offer latency with thousands of agents logged in, at half of the max intake.

    python bench/offer_latency.py [--database sqlite|postgres|both] [--agents 2000]
                                  [--samples 10000] [--service 1.0]
                                  [--service-jitter 0] [--max-seconds 10]
                                  [--connections 32] [--rate R] [--desk-processes 3]
                                  [--returning SHARE]
                                  [--wal-waits] [--syscalls] [--profile]
                                  [--dump FILE]

On a fresh `centralino serve` and database: N agents, whose N desktops log in and accept
every offer, wrapping up ``--service`` seconds later (``--service-jitter J``: a time drawn
evenly from service × (1 ± J) for each contact) (throughput.Desks, in
``--desk-processes`` processes). Then:

1. max intake: wrk in a closed loop for ``--max-seconds`` (intake.wrk), the desktops taking
   the offers meanwhile. Then the bench waits until the server is quiet again: at least
   ``--service`` + 2 s, then until its CPU has been within 5% of a core of its idle share
   for a second (at most 30 s; how long, and its CPU each quarter of a second, are
   printed). The max phase leaves work behind: the wrap-ups of its last second's
   contacts, and a second bump of up to 24-44% of a core 2.25-3.5 s after it on both
   databases (the thirty-second session; its cause not found). Until then the open loop
   began 3 s after the max phase, and in about half the runs its first half second held
   the run's slowest offers;
2. half that rate (or ``--rate``), open loop from this process (throughput.post_at_rate,
   plain keep-alive sockets), until ``--samples`` offers were seen: for each contact, the
   time from when its POST was due to its offer arriving on a desktop (client side), and
   from the server's arrival stamp (taken before triage and the write) to the offer
   arriving (the server's part, measured on the same machine's clock). The server's
   histograms (engine call, journal commit; /metrics has none for ingest-to-offer) are
   read before and after, and the server's CPU over the phase taken from /proc: at half
   of max the server is not half busy, since a contact costs more there than at max
   (docs/hot-path-history.md, the eighteenth session). With ``--wal-waits``
   (PostgreSQL), a process of its own also samples the database's backends for waits on
   WAL flushes (bench/wal_waits.py): on a disk whose flushes now and then take tens of
   ms, those stalls are the slowest offers. With ``--syscalls``, ``perf stat`` counts the
   server's system calls through the phase, a contact and by kind (bench/syscalls.py).
3. where the slowest 1% of offers lost their time, as medians: how late this client wrote
   the POST, from then to the server's arrival stamp (reading, parsing, and the wait for a
   busy event loop), and from the stamp to the desktop; and whether they came in bursts
   (due less than 50 ms apart: a stall, and every contact of those milliseconds late) or
   one by one. ``--profile`` samples the server with py-spy through the open loop and
   splits its CPU a contact by stage (bench/stages.py; the raw stacks are kept in the
   run's directory), to set beside ``bench/intake.py --profile``'s split at max.
   ``--dump FILE`` writes every offer's times (JSON: due, written, offered, since the
   stamp) for a closer look. (The twenty-fourth session found most of them in
   one to three bursts of 70-320 ms a run on both databases, with no callback of the
   server's loop longer than a collection of the middle generation, up to 10 ms, among
   them: the server near saturation, not one stall; docs/hot-path-history.md.)

``--returning SHARE`` (from 0 to below 1): that share of the contacts, in both phases,
comes from a customer who wrote before in the phase, the rest from new customers: in the
open loop drawn evenly among the customers before it (at 0.3 most customers write once,
some two to ten times), in the max phase among the customers of the same wrk thread.
Without it every contact is a new customer's, whose plan has no history to read; a
returning customer's plan reads their history from the database (router/intake.py) and,
where a contact it shows has decisions not written yet, reads it again once they are
(router/history_waits.py; docs/hot-path-history.md, the thirty-fourth session, has what
they cost).

Agents never run out: at rate r with service time s about r × s chat slots are busy, of
agents × 3 (chat capacity); the share is printed. The load generator shares the two cores
with the server: the CPU and event-loop lag of each of its processes are printed beside
the figures, so a client that could not keep up shows. (Until the thirteenth session the
POSTs went through httpx and all desktops lived in this one process: at half of max, about
440/s, it reached 93% of a core, lagged up to 0.35 s and posted about 90/s, so the figures
were measured at ``--rate 80`` only.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import server_metrics
import stages
from intake import (
    centralino,
    cpu_seconds,
    load_average,
    make_agents,
    wait_available,
    write_script,
    wrk,
)
from syscalls import SystemCalls
from throughput import Desks, percentile, post_at_rate, share, track_lag
from wal_waits import WalWaits

CHAT_CAPACITY = 3  # throughput.CONFIG keeps the default channels
IDLE_SECONDS = 5.0
QUIET_WINDOW = 0.25  # s: the server's CPU share is read over windows this long
QUIET_WINDOWS = 4  # in a row within QUIET_MARGIN of the idle share: the server is quiet
QUIET_MARGIN = 0.05  # of a core (one clock tick of /proc in a window is 4%)
QUIET_LIMIT = 30.0  # s after the max phase: measure anyway, and say so


class Sample(NamedTuple):
    """One offer's times: perf_counter (s) for the first three, and the desktop's reading of
    its age since the server's arrival stamp (s)."""

    due: float  # when its POST was due
    written: float  # when this client wrote the POST
    offered: float  # when the offer reached a desktop
    since_stamp: float


BURST_GAP = 0.05  # s: slow offers closer than this are one burst


def slowest(samples: list[Sample]) -> list[str]:
    """Where the slowest 1% of offers lost their time, and whether they came in bursts (a
    stall of the server, the database or a load generator: every contact of those
    milliseconds is late) or one by one (queueing spread over the run)."""
    if len(samples) < 100:
        return []
    ordered = sorted(samples, key=lambda s: s.offered - s.due)
    worst = ordered[-(len(samples) // 100) :]

    def parts(group: list[Sample]) -> str:
        late = [(s.written - s.due) * 1000 for s in group]
        stamp = [(s.offered - s.written - s.since_stamp) * 1000 for s in group]
        server = [s.since_stamp * 1000 for s in group]
        return (
            f"this client late {statistics.median(late):.1f}, written -> the server's stamp "
            f"{statistics.median(stamp):.1f}, stamp -> desktop {statistics.median(server):.1f}"
        )

    bursts: list[list[Sample]] = []
    for sample in sorted(worst, key=lambda s: s.due):
        if bursts and sample.due - bursts[-1][-1].due < BURST_GAP:
            bursts[-1].append(sample)
        else:
            bursts.append([sample])
    largest = sorted(bursts, key=len, reverse=True)[:4]
    shapes = ", ".join(
        f"{len(b)} ({(b[-1].due - b[0].due) * 1000:.0f} ms)" for b in largest if len(b) > 1
    )
    return [
        f"  the slowest 1% ({len(worst)} offers), medians in ms: {parts(worst)}; "
        f"of all offers: {parts(samples)}",
        f"  the slowest 1% in {len(bursts)} bursts (due less than {BURST_GAP * 1000:.0f} ms "
        f"apart); the largest: {shapes or 'none of more than one'}",
    ]


def figures(values_ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(values_ms):.1f} ms, p90 {percentile(values_ms, 0.9):.1f} ms, "
        f"p99 {percentile(values_ms, 0.99):.1f} ms, max {max(values_ms):.1f} ms"
    )


def desk_process(
    url: str, tokens: list[str], service: float, jitter: float, phase: Any, out: Any
) -> None:
    """One process of desktops (multiprocessing target): log in, take offers; from
    ``phase`` "measure" on, time this process's CPU and event-loop lag; at "stop", put
    when each offer arrived (perf_counter, comparable across processes on Linux) and its
    age from the server's arrival stamp."""

    async def run() -> dict[str, Any]:
        # 2,000 desktops' worth of objects: full collections of 200+ ms with the default
        # thresholds (measured with gc.callbacks) would show as the server's latency
        desks = Desks(url, tokens, service=service, jitter=jitter)
        await desks.start()
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 10, 100)
        out.put("ready")
        lag: list[float] = []
        await asyncio.to_thread(phase.get)  # "measure"
        cpu, started = time.process_time(), time.perf_counter()
        ticking = asyncio.create_task(track_lag(lag))
        await asyncio.to_thread(phase.get)  # "stop"
        cpu_share = (time.process_time() - cpu) / (time.perf_counter() - started)
        ticking.cancel()
        await desks.stop()
        return {
            "offered_at": desks.offered_at,
            "since_arrival": desks.since_arrival,
            "lag": lag,
            "cpu_share": cpu_share,
        }

    out.put(asyncio.run(run()))


async def wait_quiet(
    pid: int, idle_share: float, at_least: float
) -> tuple[bool, float, list[float]]:
    """After the max phase: wait ``at_least`` seconds, then until the server's CPU has been
    within ``QUIET_MARGIN`` of ``idle_share`` (its CPU with the desktops logged in and no
    contact) for ``QUIET_WINDOWS`` windows in a row, or ``QUIET_LIMIT`` seconds in all.
    Whether it was quiet, how long it took, and the server's CPU share in each window
    after ``at_least``."""
    started = time.perf_counter()
    await asyncio.sleep(at_least)
    shares: list[float] = []
    quiet = 0
    cpu, then = cpu_seconds(pid), time.perf_counter()
    while quiet < QUIET_WINDOWS and then - started < QUIET_LIMIT:
        await asyncio.sleep(QUIET_WINDOW)
        cpu_now, now = cpu_seconds(pid), time.perf_counter()
        shares.append((cpu_now - cpu) / (now - then))
        quiet = quiet + 1 if shares[-1] <= idle_share + QUIET_MARGIN else 0
        cpu, then = cpu_now, now
    return quiet >= QUIET_WINDOWS, then - started, shares


async def measure(
    database: str, url: str, pid: int, work: Path, database_url: str, args: argparse.Namespace
) -> None:
    tokens = await make_agents(url, args.agents)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    phases = [context.Queue() for _ in range(args.desk_processes)]
    ws_url = url.replace("http", "ws") + "/v1/desktop"
    workers = [
        context.Process(
            target=desk_process,
            args=(
                ws_url,
                tokens[p :: args.desk_processes],
                args.service,
                args.service_jitter,
                phases[p],
                results,
            ),
            daemon=True,
        )
        for p in range(args.desk_processes)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            await asyncio.to_thread(results.get, timeout=300)  # "ready"
        await wait_available(url, args.agents)
        idle_cpu = cpu_seconds(pid)
        await asyncio.sleep(IDLE_SECONDS)  # the desktops logged in, no contact: the base cost
        idle_share = (cpu_seconds(pid) - idle_cpu) / IDLE_SECONDS
        script = write_script(work, returning=args.returning)
        peak = await asyncio.to_thread(
            wrk, url, script, "max", args.max_seconds, args.connections, pid
        )
        # the desktops finish the peak's contacts, and the server is quiet again
        quiet, waited, aftermath = await wait_quiet(pid, idle_share, args.service + 2.0)
        rate = args.rate or peak.accepted_per_s / 2
        seconds = args.samples / rate * 1.05 + 1.0
        lag: list[float] = []
        written: dict[str, float] = {}
        before = await asyncio.to_thread(server_metrics.scrape, url)
        for phase in phases:
            phase.put("measure")
        ticking = asyncio.create_task(track_lag(lag))
        cpu, started = time.process_time(), time.perf_counter()
        server_cpu = cpu_seconds(pid)
        wal = WalWaits(database_url) if args.wal_waits and database == "postgres" else None
        spy = stages.record(pid, int(seconds), work / "profile.txt") if args.profile else None
        calls = SystemCalls(pid) if args.syscalls else None
        with wal or contextlib.nullcontext(), calls or contextlib.nullcontext():
            sent = await post_at_rate(url, rate, seconds, written=written, returning=args.returning)
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(pid) - server_cpu
        if spy is not None:
            await asyncio.to_thread(spy.wait)
        client_cpu = (time.process_time() - cpu) / elapsed
        ticking.cancel()
        await asyncio.sleep(2.0)  # the last offers reach the desktops
        after = await asyncio.to_thread(server_metrics.scrape, url)
    finally:
        for phase in phases:
            phase.put("stop")
            phase.put("stop")  # also when it never got "measure"
    groups = [await asyncio.to_thread(results.get, timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
    offered_at = {c: t for g in groups for c, t in g["offered_at"].items()}
    since = {c: s for g in groups for c, s in g["since_arrival"].items()}
    latencies = [(offered_at[c] - t) * 1000 for c, t in sent.items() if c in offered_at]
    server_part = [since[c] * 1000 for c in sent if c in since]
    posted = int(rate * seconds)
    samples = [
        Sample(due, written[c], offered_at[c], since[c])
        for c, due in sent.items()
        if c in offered_at and c in since and c in written
    ]
    waiting = server_metrics.total(after, "centralino_queue_waiting")
    busy = rate * args.service / (args.agents * CHAT_CAPACITY)
    print(
        f"{database}: {args.agents:,} agents logged in (accept every offer, wrap up after "
        f"{args.service:g} s: about {rate * args.service:,.0f} of {args.agents * CHAT_CAPACITY:,} "
        f"chat slots busy at the rate below, {busy:.0%}); load {load_average()}"
    )
    print(
        f"  server CPU with the {args.agents:,} desktops logged in and no contact, over "
        f"{IDLE_SECONDS:g} s: {idle_share:.1%} of a core"
    )
    print(
        f"  max intake (wrk -t2 -c{args.connections} -d{args.max_seconds}s, closed loop): "
        f"{peak.accepted_per_s:,.0f} 202s/s, p99 {peak.p99_ms:.1f} ms, non-2xx {peak.non_2xx}, "
        f"server CPU {peak.cpu_ms_per_contact:.2f} ms/contact; load {peak.load}"
    )
    shares = " ".join(f"{share:.0%}" for share in aftermath)
    print(
        f"  then the server quiet (its CPU within {QUIET_MARGIN:.0%} of a core of the idle "
        f"share for {QUIET_WINDOW * QUIET_WINDOWS:g} s) "
        + (f"after {waited:.1f} s" if quiet else f"NOT after {waited:.0f} s")
        + f"; its CPU a {QUIET_WINDOW:g} s window from {args.service + 2.0:g} s on: {shares}"
    )
    print(
        f"  open loop at {rate:,.0f} contacts/s ({'--rate' if args.rate else 'half of max'}) "
        f"for {seconds:.0f} s"
        + (f", {args.returning:.0%} from returning customers" if args.returning else "")
        + f": {posted:,} posted, {len(latencies):,} offers measured, "
        f"{waiting:,.0f} contacts still waiting at the end; load {load_average()}"
    )
    print(
        f"  server CPU in the open loop: {server_cpu / elapsed:.0%} of a core, "
        f"{server_cpu / len(sent) * 1000:.2f} ms a contact (at max: "
        f"{peak.cpu_ms_per_contact:.2f})"
    )
    print(f"  POST sent -> offer on a desktop (client side): {figures(latencies)}")
    print(f"  server arrival stamp -> offer on a desktop: {figures(server_part)}")
    for line in slowest(samples):
        print(line)
    for line in server_metrics.report(before, after):
        print(line)
    if wal is not None:
        print(wal.report())
    if calls is not None:
        print(calls.report(len(sent)))
    if spy is not None:
        raw = (work / "profile.txt").read_text() if (work / "profile.txt").exists() else ""
        cpu_ms = server_cpu / len(sent) * 1000
        for line in stages.report(raw, database == "sqlite", 200, server_cpu, cpu_ms):
            print(line)
        print(f"  py-spy's raw stacks: {work / 'profile.txt'}")
    desk_lag = [v for g in groups for v in g["lag"]]
    desk_cpu = ", ".join(f"{g['cpu_share']:.0%}" for g in groups)
    lags = {"POSTs": lag, "desktops": desk_lag}
    print(
        f"  load generator: POSTs from this process (CPU {client_cpu:.0%} of a core), "
        f"{args.agents:,} desktops in {args.desk_processes} processes (CPU "
        f"{desk_cpu} of a core); event-loop lag p99 "
        + ", ".join(
            f"{name} {percentile(values, 0.99) * 1000:.1f} ms (max "
            f"{max(values, default=0) * 1000:.1f})"
            for name, values in lags.items()
        )
        + (
            ""
            if max(percentile(values, 0.99) for values in lags.values()) < 0.002
            else " (the client's own delay is in the figures above)"
        )
    )
    p99 = percentile(latencies, 0.99)
    enough = len(latencies) >= args.samples
    print(
        f"  target p99 ingest-to-offer ≤ 10 ms with ≥ {args.samples:,} samples: "
        f"{'met' if p99 <= 10 and enough else 'NOT met'} ({p99:.1f} ms, {len(latencies):,} samples)"
    )
    if args.dump:  # last, so a bad path costs no figures
        args.dump.write_text(json.dumps([list(sample) for sample in samples]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--service", type=float, default=1.0, help="s from accept to wrap-up")
    parser.add_argument(
        "--service-jitter",
        type=float,
        default=0.0,
        help="each contact's service time drawn evenly from service × (1 ± this)",
    )
    parser.add_argument("--max-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0.0, help="contacts/s; 0: half of max")
    parser.add_argument("--desk-processes", type=int, default=3)
    parser.add_argument(
        "--returning",
        type=share,
        default=0.0,
        help="share of the contacts from a customer who wrote before in the phase (their "
        "plan reads the customer's history), in the max phase and the open loop; the "
        "rest from new customers",
    )
    parser.add_argument(
        "--wal-waits",
        action="store_true",
        help="PostgreSQL: also report the backends' waits for WAL flushes (bench/wal_waits.py)",
    )
    parser.add_argument(
        "--syscalls",
        action="store_true",
        help="count the server's system calls in the open loop with perf (bench/syscalls.py)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the server with py-spy in the open loop: its CPU a contact by stage "
        "(bench/stages.py), the raw stacks kept in the run's directory",
    )
    parser.add_argument(
        "--dump",
        type=Path,
        help="write each offer's [due, written, offered, since the server's stamp] (JSON)",
    )
    args = parser.parse_args()
    if not 0 <= args.service_jitter < 1:
        parser.error("--service-jitter must be at least 0 and less than 1")
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        work = Path(tempfile.mkdtemp(prefix="centralino-offers-"))
        with centralino(work, database, "centralino_offers") as (url, server, database_url):
            asyncio.run(measure(database, url, server.pid, work, database_url, args))


if __name__ == "__main__":
    main()
