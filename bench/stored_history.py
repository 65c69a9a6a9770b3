"""Intake with a history: the same wrk run as bench/intake.py, on a database that already
holds ``--stored`` contacts (with their customers and identities) of the same gateway.

A contact center keeps months of contacts; a look-up that reads the whole table (or the
whole of one gateway's index) costs nothing on the fresh database of bench/intake.py and
grows with every contact stored. Here the database is filled first (directly, a few
thousand rows per statement), then `centralino serve` starts on it, is warmed up, the
planner's statistics are taken (as bench/intake.py does; PostgreSQL's autovacuum would
take them within a minute or so), and wrk posts new contacts, ``--reps`` times; the
figures are compared with the same run on an empty database, back to back.

    python bench/stored_history.py [--database sqlite|postgres|both] [--stored 300000]
                                   [--reps 3] [--seconds 8] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the checkout this script is in, not the one the virtualenv's editable install points at
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import (
    WARM_SECONDS,
    Run,
    analyze,
    bench_database,
    load_average,
    write_script,
    wrk,
)
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine
from throughput import CONFIG, free_port, serve, server_env

from router.store.schema import Base, ContactRow, CustomerRow, IdentityRow

CHUNK = 5_000
TRIAGE = {"language": "it", "urgency": 0.2, "why": "x" * 600}  # a stored row's usual size


def contact(n: int) -> dict[str, Any]:
    return {
        "id": f"old{n:032d}",
        "domain": "default",
        "gateway": "bench",
        "external_id": f"old-{n}",
        "channel": "chat",
        "customer_id": f"cust{n:028d}",
        "customer": {"id": f"c-old-{n}"},
        "subject": "",
        "text": "Salve, una domanda sul mio contratto",
        "attributes": {},
        "urgency": 0.2,
        "history_boost": 0.0,
        "queue": "support",
        "rule": "support",
        "policy": {"queue": "support"},
        "triage": TRIAGE,
        "state": "completed",
        "transfers": 0,
        "excluded_agents": [],
        "arrival": 1_700_000_000.0 + n,
        "ended_at": 1_700_000_100.0 + n,
        "notes": "",
        "updated_at": 1_700_000_100.0 + n,
    }


async def fill(database_url: str, stored: int) -> float:
    """The schema and ``stored`` old contacts with their customers and identities; seconds."""
    started = time.perf_counter()
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        for start in range(0, stored, CHUNK):
            numbers = range(start, min(start + CHUNK, stored))
            async with engine.begin() as connection:
                await connection.execute(
                    insert(CustomerRow),
                    [{"id": f"cust{n:028d}", "name": "", "created_at": 1.0} for n in numbers],
                )
                await connection.execute(
                    insert(IdentityRow),
                    [
                        {
                            "kind": "gateway:bench",
                            "value": f"c-old-{n}",
                            "customer_id": f"cust{n:028d}",
                            "created_at": 1.0,
                        }
                        for n in numbers
                    ],
                )
                await connection.execute(insert(ContactRow), [contact(n) for n in numbers])
    finally:
        await engine.dispose()
    return time.perf_counter() - started


def measure(database: str, work: Path, stored: int, args: argparse.Namespace) -> list[Run]:
    with bench_database(work, database, f"centralino_history_{stored}") as database_url:
        seconds = asyncio.run(fill(database_url, stored)) if stored else 0.0
        port = free_port()
        server = serve(work, port, server_env(), database_url)
        url = f"http://127.0.0.1:{port}"
        script = write_script(work)
        try:
            wrk(url, script, f"warm{stored}", WARM_SECONDS, args.connections, server.pid)
            asyncio.run(analyze(database_url))
            runs = [
                wrk(url, script, f"r{stored}x{rep}", args.seconds, args.connections, server.pid)
                for rep in range(args.reps)
            ]
        finally:
            server.kill()
            server.wait()
    rates = [run.accepted_per_s for run in runs]
    cpus = [run.cpu_ms_per_contact for run in runs]
    p99s = [run.p99_ms for run in runs]
    print(
        f"  {stored:>9,} stored (filled in {seconds:.0f} s): "
        f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) 202s/s, "
        f"server CPU {statistics.median(cpus):.2f} ({min(cpus):.2f}–{max(cpus):.2f}) "
        f"ms/contact, wrk p99 {statistics.median(p99s):.1f} ms; "
        f"non-2xx {sum(run.non_2xx for run in runs)}; load {runs[-1].load}"
    )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--stored", type=int, default=300_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        work = Path(tempfile.mkdtemp(prefix="centralino-history-"))
        (work / "config.yaml").write_text(CONFIG)
        print(
            f"{database}: wrk -t2 -c{args.connections} -d{args.seconds}s, {args.reps} "
            "repetitions each; median (range)"
        )
        empty = measure(database, work, 0, args)
        full = measure(database, work, args.stored, args)
        ratio = statistics.median(r.accepted_per_s for r in full) / max(
            statistics.median(r.accepted_per_s for r in empty), 1e-9
        )
        print(f"  with {args.stored:,} stored / empty: {ratio:.0%}")


if __name__ == "__main__":
    main()
