"""Instructions per contact: the server's work as a count, not a time.

    python bench/instructions.py [--database sqlite|postgres] [--contacts 200]
        [--rounds 3] [--warm-up 100] [--desktop | --waiting N] [--long-text]
        [--returning SHARE] [--code DIR] [--against DIR] [--keep]

The timed benches swing with the VM: on 2026-12-06 `bench/offer_latency.py`'s max intake
with 2,000 desktops was 490/s and 824/s minutes apart, the server's CPU a contact 2.00
and 1.19 ms. A change worth 5% of a contact's CPU drowns in that. Instructions do not
swing: here `centralino serve` runs under valgrind's callgrind, which counts the
instructions every thread of the process executes, whatever else the machine does.
What it counts: the interpreter and every library in the process, SQLite's C code
included. What it does not: the kernel's side of system calls (sends, reads, fsync), the
PostgreSQL server's work, and time lost to cold caches or waits, which the timed benches
see. So it tells whether a change does less work, not how much sooner anything happens.

1. The server starts under `valgrind --tool=callgrind` (about 50 times slower; start-up
   takes minutes) with ``PYTHONHASHSEED=0`` and its garbage collector off: `centralino
   serve` collects on a timer of the wall clock (api/server/gc_tuning.py), which valgrind
   stretches, so its collections would not come to the same count twice. The collector's
   share is the timed benches' (its pauses are in /metrics). For the same reason the
   journal's batches of decisions do not linger (``CENTRALINO_DECISION_LINGER_MS=0``):
   with SQLite's 5 ms, how many units a batch took would depend on how far valgrind had
   slowed the server. (Runs of the same code one after another differed by up to 6%
   with it on; the rounds of a run drift by up to 4%: compare with ``--against``.)
2. ``--warm-up`` contacts, one at a time: first-time work (lazy loads, statements
   prepared) is not a contact's.
3. An idle window: instructions a second with nothing posted (the loop's timers: the lag
   probe, the sweeps, the desktop's pings), taken off each round in proportion to its
   length.
4. ``--rounds`` rounds of ``--contacts`` contacts, one after another (each POST waits for
   its 202, so each contact is a batch of its own, as under light load): the counters are
   dumped between rounds (``callgrind_control --dump``); each round's instructions less
   the idle share, a contact.

``--waiting N``: one agent logs in and accepts what it is offered without ever wrapping
up, and N contacts are posted before the warm-up: once its slots are full every contact
waits, so each arrival's wait estimate counts who is ahead of it in a queue that grows
from N (router/estimate.py). Without it nobody is logged in (an arrival's estimate stops
at "nobody could serve it") or, with ``--desktop``, nobody waits.

``--returning SHARE``: that share of the contacts comes from a customer who wrote before
(bench/throughput.py ``returning_customer``), whose plan reads their history.

``--desktop``: one agent's desktop is logged in and takes each contact through its whole
life before the next is posted: the offer, the accept (waiting for its ack), the wrap-up
(waiting for its ack). The figure is then a contact's intake, routing, offer and
ends. ``--code DIR``: run the server from another checkout. ``--against DIR``: run a
second server, from that checkout (a worktree of the code before a change), at the same
time, and give the change round by round: the rounds of one run drift by up to 4% as the
database and the router's state grow, and paired rounds cancel that. The same code on
both sides (2026-12-06, 06:26) differed by +0.08 to +0.19% a round.

Run one pair at a time, with nothing else busy. Some of a contact's work depends on
timing (how the journal groups units into batches, how many turns the event loop takes),
and with three pairs at once on the VM's two cores (06:04-06:14) two changes counted
+1.2% and -6.2% that counted -2.8% and -3.1% each alone (most likely, starved of CPU,
the two servers of a pair did not batch alike).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from intake import (
    LONG_TEXT,
    SHORT_TEXT,
    drop_postgres_database,
    fresh_postgres_database,
    load_average,
    make_agents,
)
from throughput import (
    CONFIG,
    body,
    free_port,
    post_contact,
    returning_customer,
    server_env,
    share,
)

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 900.0  # s: importing everything under valgrind takes minutes
IDLE_SECONDS = 20.0
# the server with its collector off (the module says why), then `centralino serve`. Only
# as the main module: the reports' worker process (router/reports/figures.py, spawned)
# imports the main module again, and unguarded it started a second router on the same
# database (until its port was found taken) while the measured one served a desktop,
# whose request once got ``not_recorded`` (PostgreSQL, the thirty-second session)
WRAPPER = """
import gc, runpy, sys
import api.server.gc_tuning as tuning

async def never_collect():
    gc.disable()
    import asyncio
    await asyncio.Event().wait()

if __name__ == "__main__":
    tuning.collect_on_a_timer = never_collect
    tuning.tune_for_serving = gc.disable
    sys.argv = ["centralino", *sys.argv[1:]]
    runpy.run_module("api.server.cli", run_name="__main__")
"""
TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def start_server(work: Path, code: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    (work / "config.yaml").write_text(CONFIG)
    (work / "wrapper.py").write_text(WRAPPER)
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={work / 'callgrind.out'}",
        "--dump-instr=no",
        "--dump-line=no",
    ]
    serve = [sys.executable, str(work / "wrapper.py"), "serve", "--config"]
    serve += [str(work / "config.yaml"), "--port", str(port), "--database-url", database_url]
    serve += ["--log-level", "warning"]
    env = server_env() | {
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(code),
        "CENTRALINO_DECISION_LINGER_MS": "0",
    }
    log = (work / "server.log").open("wb")
    return subprocess.Popen([*valgrind, *serve], cwd=code, env=env, stdout=log, stderr=log)


async def wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}); see its log")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)
    raise SystemExit("the server did not start in time")


def dump(pid: int, work: Path) -> int:
    """Dump callgrind's counters (they start again from zero) and return the instructions
    since the last dump."""
    before = set(work.glob("callgrind.out*"))
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True, capture_output=True)
    for _ in range(600):
        new = set(work.glob("callgrind.out*")) - before
        if new:
            path = max(new, key=lambda p: p.stat().st_mtime)
            text = path.read_text(errors="replace")
            match = TOTALS.search(text)
            if match:
                return int(match.group(1))
        time.sleep(0.2)
    raise SystemExit("callgrind wrote no dump")


class Gateway:
    """Posts contacts one at a time; with ``desk``, sees each through a desktop."""

    def __init__(self, url: str, text: str, desk: Any | None, returning: float = 0.0) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=120)
        self.text = text
        self.desk = desk
        self.returning = returning  # the share of contacts from a customer who wrote before
        self.posted = 0

    async def contact(self) -> None:
        n = self.posted  # from 0, as returning_customer counts (the same on both sides)
        self.posted += 1
        payload = {**body(n, customer=returning_customer(n, self.returning)), "text": self.text}
        response = await post_contact(self.http, payload)
        if response.status_code != 202:
            raise SystemExit(f"POST /v1/contacts answered {response.status_code}")
        if self.desk is not None:
            await self.through_desk()

    async def through_desk(self) -> None:
        assert self.desk is not None
        offer = await self.next_of("offer")
        contact_id = offer["contact"]["contact_id"]
        await self.desk.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
        await self.next_of("ack")
        wrap = {"type": "wrap_up", "contact_id": contact_id, "outcome": "ok", "resolved": True}
        await self.desk.send(json.dumps(wrap))
        await self.next_of("ack")

    async def next_of(self, kind: str) -> dict[str, Any]:
        assert self.desk is not None
        while True:
            event = json.loads(await self.desk.recv())
            if event.get("type") == "error":
                raise SystemExit(f"the desktop got an error: {event}")
            if event.get("type") == kind:
                return dict(event)


async def accept_all(desk: Any) -> None:
    """Accept every offer and never wrap up (``--waiting``)."""
    while True:
        event = json.loads(await desk.recv())
        if event.get("type") == "offer":
            await desk.send(json.dumps({"type": "accept", "offer_id": event["offer_id"]}))


class Subject:
    """One server under callgrind: a checkout's code on a database of its own."""

    def __init__(self, code: Path, database: str, name: str) -> None:
        self.code = code
        self.work = Path(tempfile.mkdtemp(prefix="centralino-instructions-"))
        self.database = database
        self.name = name  # its PostgreSQL database's
        if database == "postgres":
            self.database_url = fresh_postgres_database(name)
        else:
            self.database_url = f"sqlite+aiosqlite:///{self.work / 'instructions.db'}"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = start_server(self.work, code, self.database_url, port)
        self.lines: list[str] = []

    async def measure(self, args: Any) -> list[float]:
        """Instructions a contact, each round's."""
        await wait_healthy(self.url, self.server)
        desk = taker = None
        if args.desktop or args.waiting:
            (token,) = await make_agents(self.url, 1)
            desk = await websockets.connect(  # as a browser: no pings of its own
                self.url.replace("http", "ws") + "/v1/desktop", ping_interval=None
            )
            await desk.send(json.dumps({"type": "login", "token": token}))
        text = LONG_TEXT if args.long_text else SHORT_TEXT
        if args.waiting:  # the agent keeps what it takes: its slots fill, the rest wait
            taker = asyncio.create_task(accept_all(desk))
            gateway = Gateway(self.url, text, None, args.returning)
            for _ in range(args.waiting):
                await gateway.contact()
        else:
            gateway = Gateway(self.url, text, desk, args.returning)
        for _ in range(args.warm_up):
            await gateway.contact()
        await self.dump()
        started = time.monotonic()
        await asyncio.sleep(IDLE_SECONDS)
        idle = await self.dump() / (time.monotonic() - started)
        self.lines.append(f"  idle: {idle / 1e6:.2f} M instructions a second")
        per_contact = []
        for round_ in range(args.rounds):
            started = time.monotonic()
            for _ in range(args.contacts):
                await gateway.contact()
            total = await self.dump()
            seconds = time.monotonic() - started
            each = (total - idle * seconds) / args.contacts
            per_contact.append(each)
            self.lines.append(
                f"  round {round_ + 1}: {total / 1e6:,.1f} M instructions in {seconds:.0f} s, "
                f"less {idle * seconds / 1e6:,.1f} M idle: {each / 1e6:.3f} M a contact"
            )
        spread = (max(per_contact) - min(per_contact)) / min(per_contact)
        self.lines.append(
            f"  a contact: {statistics.median(per_contact) / 1e6:.3f} M instructions "
            f"(median of {args.rounds} rounds; spread {spread:.2%})"
        )
        if taker is not None:
            taker.cancel()
        if desk is not None:
            await desk.close()
        await gateway.http.aclose()
        return per_contact

    async def dump(self) -> int:
        return await asyncio.to_thread(dump, self.server.pid, self.work)

    def close(self, keep: bool) -> None:
        self.server.kill()
        self.server.wait()
        if self.database == "postgres":
            asyncio.run(drop_postgres_database(self.name))
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


async def measure_all(subjects: list[Subject], args: Any) -> list[list[float]]:
    return list(await asyncio.gather(*(subject.measure(args) for subject in subjects)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--desktop", action="store_true")
    parser.add_argument("--long-text", action="store_true")
    parser.add_argument(
        "--returning",
        type=share,
        default=0.0,
        help="share of the contacts from a customer who wrote before (their plan reads "
        "the customer's history; the same draws on both sides of --against)",
    )
    parser.add_argument(
        "--waiting", type=int, default=0, help="contacts waiting behind a busy agent first"
    )
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to serve from")
    parser.add_argument(
        "--against", type=Path, help="another checkout, measured at the same time: paired rounds"
    )
    parser.add_argument("--keep", action="store_true", help="keep the runs' directories")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("needs valgrind (Debian package valgrind)")
    codes = [args.code.resolve(), *([args.against.resolve()] if args.against else [])]
    if args.desktop and args.waiting:
        raise SystemExit("--desktop or --waiting, not both")
    what = "with a desktop taking each contact" if args.desktop else "no desktop"
    if args.waiting:
        what = f"{args.waiting} waiting behind a busy agent first"
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load "
        f"{load_average()}, {args.database}, {what}, {args.contacts} contacts a round"
    )
    subjects: list[Subject] = []
    try:
        for number, code in enumerate(codes):
            name = f"centralino_instructions_{os.getpid()}_{number}"
            subjects.append(Subject(code, args.database, name))
        results = asyncio.run(measure_all(subjects, args))
    finally:
        for subject in subjects:
            subject.close(args.keep)
    for subject in subjects:
        print(f"code {subject.code}:")
        print("\n".join(subject.lines))
    if len(results) == 2:
        ratios = [new / old - 1 for new, old in zip(*results, strict=True)]
        print(
            f"{codes[0]} against {codes[1]}, round by round: "
            + ", ".join(f"{ratio:+.2%}" for ratio in ratios)
            + f" (median {statistics.median(ratios):+.2%})"
        )


if __name__ == "__main__":
    main()
