"""kill -9 of the server under load, round after round on one database, a CPU hog beside.

    python bench/crash_rounds.py [--database sqlite|postgres|both] [--rounds 3]
                                 [--hog | --no-hog] [--kill-after 300] [--agents 3]
                                 [--gateways 8]

The scenario of tests/router/test_crash_acks.py, with its helpers (tests/live.py): a real
`centralino serve` process; ``--agents`` desktops accept, end and wrap up every offer while
``--gateways`` gateways post contacts back to back; the moment ``--kill-after`` accepts
were acknowledged in the round, a desktop kills the server with SIGKILL. The database is
then checked against everything acknowledged, and a restarted server must hold in its queue
every contact that was waiting (queued or offered) at the kill. That server is the next
round's (new agents and message ids each round); the first starts on a fresh database.
With ``--hog`` (the default) `stress-ng --cpu 2` runs beside for all the rounds.

Per round: contacts 202'd, accepts acked, wrap-ups acked and how many of each the database
lost (must be 0), contacts with two accepted offers in the whole database (must be 0), and
whether everything waiting was routed again after the restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from intake import load_average, postgres_database

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.engine_helpers import CONFIG  # noqa: E402
from tests.live import Acks, ProcessServer, audit, load_until_killed, not_routed_again  # noqa: E402


async def rounds(target: Path | str, work: Path, args: argparse.Namespace) -> bool:
    """All rounds on one database (an SQLite file or a URL); True when no round lost
    anything."""
    config = work / "config.yaml"
    config.write_text(CONFIG)
    log = work / "server.log"
    server = ProcessServer(target, config, log_path=log).start()
    clean = True
    try:
        for r in range(1, args.rounds + 1):
            assert server.proc is not None
            acks = Acks(args.kill_after, server.proc.kill)
            started = time.perf_counter()
            await load_until_killed(
                server,
                acks,
                gateways=args.gateways,
                timeout=args.timeout,
                agents=args.agents,
                prefix=f"r{r}-",
            )
            loaded = time.perf_counter() - started
            found = await audit(target, acks)
            started = time.perf_counter()
            server = ProcessServer(target, config, log_path=log).start()
            restart = time.perf_counter() - started
            not_routed = await not_routed_again(server, found.waiting, "billing")
            ok = not (
                found.lost_contacts
                or found.lost_accepts
                or found.lost_wrap_ups
                or found.doubled
                or not_routed
            )
            clean = clean and ok
            print(
                f"  round {r}: killed after {loaded:.1f} s of load; contacts 202'd "
                f"{len(acks.contacts):,} (lost {len(found.lost_contacts)}), accepts acked "
                f"{len(acks.accepts):,} (lost {len(found.lost_accepts)}), wrap-ups acked "
                f"{len(acks.wrap_ups):,} (lost {len(found.lost_wrap_ups)}); contacts with two "
                f"accepted offers {len(found.doubled)}; {len(found.waiting):,} waiting at the "
                f"kill, all routed again after the restart ({restart:.1f} s): "
                f"{'yes' if not not_routed else 'NO ' + str(sorted(not_routed)[:3])}; "
                f"{'ok' if ok else 'FAILED'}; load {load_average()}"
            )
            for name, lost in (
                ("contacts", sorted(found.lost_contacts)),
                ("accepts", sorted(found.lost_accepts.items())),
                ("wrap-ups", sorted(found.lost_wrap_ups.items())),
                ("doubled", found.doubled),
            ):
                if lost:
                    print(f"    lost {name} (first 5): {lost[:5]}")
    finally:
        server.stop()
    return clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hog", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--kill-after", type=int, default=300, help="accepts acked per round")
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--gateways", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300.0, help="s a round may take")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    hog = None
    if args.hog:
        hog = subprocess.Popen(
            ["stress-ng", "--cpu", "2", "--timeout", "3600s", "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
            print(
                f"{database}: {args.rounds} rounds, kill -9 after {args.kill_after} accepts "
                f"acked, {args.agents} desktops (chat capacity 3), {args.gateways} gateways, "
                f"{'stress-ng --cpu 2 beside' if hog else 'no CPU hog'}"
            )
            work = Path(tempfile.mkdtemp(prefix="centralino-crash-"))
            with contextlib.ExitStack() as stack:
                target: Path | str = (
                    work / "crash.db"
                    if database == "sqlite"
                    else stack.enter_context(postgres_database("centralino_crash"))
                )
                clean = asyncio.run(rounds(target, work, args))
            print(f"  {database}: {'nothing acknowledged lost' if clean else 'FAILED'}")
    finally:
        if hog is not None:
            hog.terminate()
            hog.wait(timeout=30)


if __name__ == "__main__":
    main()
