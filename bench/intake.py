"""Intake at wire speed: `centralino serve` against a bare FastAPI endpoint, driven by wrk.

wrk (a C load generator, Debian package `wrk`) posts contacts with unique message ids (a
Lua script) to both servers, back to back, for several repetitions; the figures are the
median and range over the repetitions. Server CPU per accepted contact comes from the
server process's own CPU time (/proc), so it does not include the load generator.

    python bench/intake.py [--database sqlite|postgres|both] [--reps 3] [--seconds 10]
                           [--connections 32] [--agents 0]
                           [--storm 0] [--waiting 0] [--waiting-takeable]
                           [--storm-within 10] [--storm-seconds 20] [--storm-rate half]
                           [--storm-connections 128]
                           [--desk-processes 4] [--storm-profile DIR]
                           [--profile] [--profile-desks 2000] [--long-text]
                           [--text-chars N]

``--storm N``: a shift start, on a fresh server and database after the repetitions. N
agents exist and ``--waiting W`` contacts wait (by default in a queue no agent serves, so
all W still wait during the storm; ``--waiting-takeable``: in the agents' queue, so the
logins drain them). Then wrk posts contacts while the N desktops log in, spread evenly over
``--storm-within`` seconds, and accept every offer. wrk aims at ``--storm-rate``
(``half``: half the median rate of the repetitions; ``max``: closed loop; or contacts/s),
by a random pause between a connection's requests (``--storm-connections`` of them: with
many, the pause dominates a request's cycle and the rate comes close to the aim), so the
latency is not just wrk's own queue. Printed: 202s per second as wrk counted them (and
as stored, by arrival time), non-2xx by status, wrk's p99, and each target of the issue:
every second has 202s, no 5xx, p99 ≤ 50 ms. The desktops run in ``--desk-processes``
processes of their own; each reports how late it started its logins and how far its event
loop lagged, so a load generator that cannot keep up is said to be one.
``--storm-profile DIR``: py-spy samples the server during the storm; its CPU is split by
stage (as ``--profile`` does) and the raw stacks are kept in DIR/storm-<database>.txt.

``--profile``: one more run on a fresh server with ``--profile-desks`` desktops logged in
(accepting every offer and wrapping up after 1 s), 200 contacts to warm it up (the first
triage compiles the lexicons), then wrk in a closed loop with py-spy sampling the server:
its CPU per contact split by stage (bench/stages.py has the rule).

``--long-text``: the gateway posts a 175-character complaint (a repeat contact, a legal
threat) instead of the 36-character question "Salve, una domanda sul mio contratto":
triage's cost grows with the text (its cues, word and character n-grams), the bare
endpoint's hardly does. Real messages are closer to the long one. ``--text-chars N``: that
complaint repeated to N characters, a long email (the API takes up to 20,000; triage reads
a long message's first 2,000 and last 500, skills/triage.py).

Storm and profile print the server's own histograms too (bench/server_metrics.py: engine
call and journal commit times by lane, and a POST's time in the server by status). The bare
endpoint validates the same body model (api.gateways.contacts.ContactIn) and answers
202. Everything runs on this machine: the load average is printed with every run, since
other work on the machine moves the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import server_metrics
import stages
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from throughput import (
    ADMIN,
    CONFIG,
    Desks,
    create_agents,
    free_port,
    percentile,
    queue_contacts,
    serve,
    serve_bare,
    server_env,
    share,
    track_lag,
)

REPO = Path(__file__).resolve().parent.parent
WARM_SECONDS = 3
POSTGRES_ADMIN_URL = os.environ.get(
    "CENTRALINO_BENCH_POSTGRES", "postgresql://postgres:centralino@127.0.0.1:5432/postgres"
)
LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  prefix = args[1] or "run"
  math.randomseed(tid)
  accepted = {}  -- wall-clock second -> 202s
  statuses = {}  -- status -> responses
  news = {}  -- this thread's requests that came from a new customer (--returning)
end
request = function()
  counter = counter + 1
  local customer = counter
  if <RETURNING> > 0 and #news > 0 and math.random() < <RETURNING> then
    customer = news[math.random(#news)]  -- a customer of this thread's, who wrote before
  else
    news[#news + 1] = counter
  end
  local body = string.format(
    '{"gateway":"bench","message_id":"%s-%d-%d","channel":"chat","language":"it",' ..
    '"intent":"<INTENT>","customer":{"id":"c-%s-%d-%d"},' ..
    '"text":"<TEXT>"}',
    prefix, tid, counter, prefix, tid, customer)
  return wrk.format("POST", "/v1/contacts", {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 202 then
    local second = os.time()
    accepted[second] = (accepted[second] or 0) + 1
  end
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for second, n in pairs(thread:get("accepted")) do
      io.write(string.format("accepted-in %d %d\n", second, n))
    end
    for status, n in pairs(thread:get("statuses")) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
end
"""
SHORT_TEXT = "Salve, una domanda sul mio contratto"  # what the gateway sends by default
# --long-text: a message as long as a real complaint (175 characters): triage costs more
LONG_TEXT = (
    "Buongiorno, è la terza volta che chiamo per lo stesso problema con la bolletta: "
    "nessuno mi ha ancora risposto e sono davvero stanco, se non risolvete mi rivolgo a "
    "un avvocato!"
)


def repeated(text: str, length: int) -> str:
    """``text`` repeated (a space between) to ``length`` characters."""
    return " ".join([text] * (length // len(text) + 1))[:length]


# ms between a connection's requests, drawn evenly from 0 to twice the mean, so that the
# connections do not fall into step (all waiting at once would look like a stall)
PAUSE_LUA = "function delay() return math.random(0, {twice}) end\n"
WRK_TIMEOUT = "10s"  # wrk leaves slower responses out of its latency (default 2 s)


@dataclass
class Run:
    accepted_per_s: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    cpu_ms_per_contact: float
    load: str
    cpu_seconds: float = 0.0
    accepted: int = 0
    per_second: list[int] = field(default_factory=list)  # 202s per wall-clock second
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: str = ""


def user_and_system(pid: int) -> tuple[float, float]:
    """The process's user and system CPU so far, every thread (/proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime


def cpu_seconds(pid: int) -> float:
    return sum(user_and_system(pid))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def latency_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def write_script(
    work: Path,
    pause_ms: int = 0,
    text: str = SHORT_TEXT,
    returning: float = 0.0,
    intent: str = "support",
) -> Path:
    """The Lua script, posting ``text``; with ``pause_ms`` each connection waits that long
    between requests (on average); ``returning``: the share of requests from a customer
    who wrote before in the run (drawn evenly among its thread's customers), the rest
    from new customers; ``intent``: the contacts' (the bench config's "backlog" goes to a
    queue no bench agent takes)."""
    script = work / (f"paced-{pause_ms}.lua" if pause_ms else "unique.lua")
    # JSON inside a single-quoted Lua string that is string.format's format
    quoted = json.dumps(text)[1:-1].replace("\\", "\\\\").replace("'", "\\'")
    lua = (
        LUA.replace("<TEXT>", quoted.replace("%", "%%"))
        .replace("<RETURNING>", repr(returning))
        .replace("<INTENT>", intent)
    )
    script.write_text(lua + (PAUSE_LUA.format(twice=2 * pause_ms) if pause_ms else ""))
    return script


def wrk(url: str, script: Path, prefix: str, seconds: int, connections: int, pid: int) -> Run:
    before = cpu_seconds(pid)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={WRK_TIMEOUT}",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            prefix,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = cpu_seconds(pid) - before
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    errors_match = re.search(
        r"Socket errors: (connect (\d+), read (\d+), write (\d+), timeout (\d+))", out
    )
    errors = sum(int(x) for x in errors_match.groups()[1:]) if errors_match else 0
    accepted = total - non_2xx
    seconds_seen: dict[int, int] = {}
    for second, n in re.findall(r"^accepted-in (\d+) (\d+)$", out, re.M):
        seconds_seen[int(second)] = seconds_seen.get(int(second), 0) + int(n)
    statuses: dict[int, int] = {}
    for status, n in re.findall(r"^status (\d+) (\d+)$", out, re.M):
        statuses[int(status)] = statuses.get(int(status), 0) + int(n)
    first, last = min(seconds_seen, default=0), max(seconds_seen, default=-1)
    return Run(
        accepted / elapsed,
        errors,
        non_2xx,
        latency_ms(out, "50"),
        latency_ms(out, "99"),
        used * 1000 / max(accepted, 1),
        load_average(),
        used,
        accepted,
        [seconds_seen.get(second, 0) for second in range(first, last + 1)],
        statuses,
        errors_match.group(1) if errors_match else "none",
    )


async def storm_desks(
    url: str, tokens: list[str], slots: list[float], end_at: float
) -> dict[str, Any]:
    """Log each desktop in at its slot (wall clock), accept every offer, stay until
    ``end_at``; what it took, and how late and how loaded this client was."""
    import websockets

    late: list[float] = []  # s after its slot each login was started
    login: list[float] = []  # s from starting the connection to the welcome
    welcomed_at: list[float] = []
    lag: list[float] = []  # event-loop lag, s
    counts = {"offers": 0, "accepts_acked": 0, "errors": 0}
    failures: list[str] = []

    async def desk(token: str, slot: float) -> None:
        await asyncio.sleep(max(0.0, slot - time.time()))
        began = time.time()
        late.append(began - slot)
        # as a browser: answers the server's pings, sends none (bench/throughput.py's Desks)
        async with websockets.connect(
            url, max_queue=None, open_timeout=60, ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"type": "login", "token": token}))
            async for raw in ws:
                event = json.loads(raw)
                kind = event.get("type")
                if kind == "welcome":
                    welcomed_at.append(time.time())
                    login.append(welcomed_at[-1] - began)
                elif kind == "offer":
                    counts["offers"] += 1
                    accept = {"type": "accept", "offer_id": event["offer_id"], "ref": "a"}
                    await ws.send(json.dumps(accept))
                elif kind == "ack":
                    counts["accepts_acked"] += 1
                elif kind == "error":
                    counts["errors"] += 1

    cpu = time.process_time()
    ticking = asyncio.create_task(track_lag(lag))
    desks = [asyncio.create_task(desk(t, s)) for t, s in zip(tokens, slots, strict=True)]
    await asyncio.sleep(max(0.0, end_at - time.time()))
    window = end_at - min(slots)
    for task in [*desks, ticking]:
        task.cancel()
    for outcome in await asyncio.gather(*desks, return_exceptions=True):
        if isinstance(outcome, Exception):
            failures.append(repr(outcome))
    return {
        "desks": len(tokens),
        "late": late,
        "login": login,
        "welcomed_at": welcomed_at,
        "lag": lag,
        "cpu_share": (time.process_time() - cpu) / window,
        "failures": failures,
        **counts,
    }


def desk_group(url: str, tokens: list[str], slots: list[float], end_at: float, out: Any) -> None:
    """One desktop process (multiprocessing target)."""
    out.put(asyncio.run(storm_desks(url, tokens, slots, end_at)))


def describe_desks(groups: list[dict[str, Any]], start_at: float, within: float) -> list[str]:
    """The shift start as the desktops saw it, and whether they kept up."""
    every = {key: [v for g in groups for v in g[key]] for key in ("late", "login", "lag")}
    welcomed = [t for g in groups for t in g["welcomed_at"]]
    desks = sum(g["desks"] for g in groups)
    failures = [f for g in groups for f in g["failures"]]
    last = max(welcomed, default=start_at) - start_at
    lines = [
        f"  desktops: {len(welcomed):,} of {desks:,} welcomed, the last {last:.1f} s "
        f"after the first login began (asked: all within {within:.0f} s); login to welcome "
        f"p50 {statistics.median(every['login'] or [0]) * 1000:.0f} ms, "
        f"p99 {percentile(every['login'], 0.99) * 1000:.0f} ms, "
        f"max {max(every['login'], default=0) * 1000:.0f} ms; "
        f"offers {sum(g['offers'] for g in groups):,}, accepts acked "
        f"{sum(g['accepts_acked'] for g in groups):,}, errors {sum(g['errors'] for g in groups)}, "
        f"desktops failed {len(failures)}" + (f" (first: {failures[0]})" if failures else "")
    ]
    late_max = max(every["late"], default=0.0)
    lag_p99 = percentile(every["lag"], 0.99)
    busiest = max(g["cpu_share"] for g in groups)
    kept_up = late_max < 0.5 and lag_p99 < 0.1 and busiest < 0.9
    lines.append(
        f"  load generator: {len(groups)} processes x ~{desks // len(groups)} desktops; "
        f"logins started up to {late_max * 1000:.0f} ms late; event-loop lag "
        f"p99 {lag_p99 * 1000:.0f} ms, max {max(every['lag'], default=0) * 1000:.0f} ms; "
        f"CPU {busiest:.0%} of a core (busiest process) -> "
        + (
            "kept up (the login pace is the server's)"
            if kept_up
            else "DID NOT keep up: the desktops' side slowed the logins, not only the server"
        )
    )
    return lines


@contextlib.contextmanager
def centralino(
    work: Path, database: str, name: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], str]]:
    """`centralino serve` on a fresh database (``bench_database``): (url, process,
    database url)."""
    (work / "config.yaml").write_text(CONFIG)
    with bench_database(work, database, name) as database_url:
        port = free_port()
        server = serve(work, port, server_env(), database_url)
        try:
            yield f"http://127.0.0.1:{port}", server, database_url
        finally:
            server.kill()
            server.wait()


@contextlib.contextmanager
def bench_database(work: Path, database: str, name: str) -> Iterator[str]:
    """A fresh database's URL: PostgreSQL database ``name`` (``postgres_database``) or the
    SQLite file work/name.db."""
    if database == "postgres":
        with postgres_database(name) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{work / f'{name}.db'}"


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database ``name`` (its URL), dropped at the end: nothing left
    behind. Not from inside a running event loop (the creation and the drop run their own)."""
    url = fresh_postgres_database(name)
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(name))


def admin_client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {ADMIN}"})


def per_second(database_url: str, prefix: str) -> list[int]:
    """Stored contacts per second of the run, by their arrival times (taken before the
    commit, so a commit stall does not show here: wrk's count of 202s is the one to use)."""
    import asyncpg

    async def fetch() -> list[float]:
        if database_url.startswith("sqlite"):
            import sqlite3

            path = database_url.split("///", 1)[1]
            with sqlite3.connect(path) as db:
                query = "select arrival from contacts where external_id like ?"
                return [row[0] for row in db.execute(query, (f"{prefix}-%",))]
        conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            query = "select arrival from contacts where external_id like $1"
            return [row[0] for row in await conn.fetch(query, f"{prefix}-%")]
        finally:
            await conn.close()

    arrivals = asyncio.run(fetch())
    if not arrivals:
        return []
    start = int(min(arrivals))
    counts = [0] * (int(max(arrivals)) - start + 1)
    for arrival in arrivals:
        counts[int(arrival) - start] += 1
    return counts


async def drop_postgres_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def fresh_postgres_database(name: str) -> str:
    import asyncpg

    async def recreate() -> None:
        await drop_postgres_database(name)
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


def summary(runs: list[Run], field: str, fmt: str) -> str:
    values = [getattr(run, field) for run in runs]
    return (
        f"{format(statistics.median(values), fmt)} "
        f"({format(min(values), fmt)}–{format(max(values), fmt)})"
    )


def report(name: str, runs: list[Run]) -> None:
    print(
        f"  {name:<22} {summary(runs, 'accepted_per_s', ',.0f')} /s, "
        f"p50 {summary(runs, 'p50_ms', '.1f')} ms, p99 {summary(runs, 'p99_ms', '.1f')} ms, "
        f"server CPU {summary(runs, 'cpu_ms_per_contact', '.2f')} ms/contact; "
        f"non-2xx {sum(r.non_2xx for r in runs)}, socket errors {sum(r.errors for r in runs)}; "
        f"load {' | '.join(r.load for r in runs)}"
    )


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def bench(database: str, work: Path, args: argparse.Namespace) -> float:
    """The repetitions, bare endpoint and centralino back to back: centralino's median
    rate."""
    script = write_script(work, text=args.text, returning=args.returning)
    bare_port = free_port()
    bare = serve_bare(work, bare_port, server_env())
    try:
        with centralino(work, database, "centralino_bench") as (url, server, database_url):
            if args.agents:
                asyncio.run(make_agents(url, args.agents))
            # steady state: warm (lexicons, caches) and with the planner's statistics, as
            # autovacuum takes them on a live PostgreSQL within a minute or so
            wrk(url, script, "warm", WARM_SECONDS, args.connections, server.pid)
            asyncio.run(analyze(database_url))
            ours: list[Run] = []
            theirs: list[Run] = []
            for rep in range(args.reps):
                bare_url = f"http://127.0.0.1:{bare_port}"
                theirs.append(
                    wrk(bare_url, script, f"b{rep}", args.seconds, args.connections, bare.pid)
                )
                ours.append(wrk(url, script, f"c{rep}", args.seconds, args.connections, server.pid))
    finally:
        bare.kill()
        bare.wait()
    print(
        f"{database}: wrk -t2 -c{args.connections} -d{args.seconds}s, {args.reps} repetitions, "
        f"{args.agents} agents (none logged in), after a {WARM_SECONDS} s warm-up and ANALYZE; "
        "median (range)"
    )
    report("bare FastAPI endpoint", theirs)
    report("centralino", ours)
    rate = statistics.median(r.accepted_per_s for r in ours)
    print(f"  centralino / bare: {rate / statistics.median(r.accepted_per_s for r in theirs):.1%}")
    return rate


async def analyze(database_url: str) -> None:
    """The planner's statistics of every table (a fresh table has none: PostgreSQL then
    plans a look-up of a few message ids as a read of the gateway's whole index range)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    finally:
        await engine.dispose()


async def make_agents(url: str, count: int) -> list[str]:
    async with admin_client(url) as http:
        return await create_agents(http, count)


def storm(database: str, work: Path, args: argparse.Namespace, max_rate: float | None) -> None:
    """The shift start: N desktops log in while wrk posts and W contacts wait."""
    if args.storm_rate == "max":
        rate = None
    elif args.storm_rate == "half":
        if max_rate is None:
            raise SystemExit("--storm-rate half needs the repetitions (--reps 1 or more)")
        rate = max_rate / 2
    else:
        rate = float(args.storm_rate)
    connections = args.storm_connections
    pause_ms = round(1000 * connections / rate) if rate else 0
    script = write_script(work, pause_ms, args.text, args.returning)
    intent = "support" if args.waiting_takeable else "backlog"
    with centralino(work, database, "centralino_storm") as (url, server, database_url):

        async def prepare() -> tuple[list[str], float, float]:
            async with admin_client(url) as http:
                started = time.perf_counter()
                tokens = await create_agents(http, args.storm)
                made = time.perf_counter() - started
                return tokens, made, await queue_contacts(http, args.waiting, intent)

        tokens, made, filled = asyncio.run(prepare())
        before = server_metrics.scrape(url)
        waiting = server_metrics.total(before, "centralino_queue_waiting")
        start_at = time.time() + 4.0  # the desktop processes are up by then
        slots = [start_at + i * args.storm_within / len(tokens) for i in range(len(tokens))]
        end_at = start_at - 1.0 + args.storm_seconds + 1.0
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        ws_url = url.replace("http", "ws") + "/v1/desktop"
        workers = [
            context.Process(
                target=desk_group,
                args=(
                    ws_url,
                    tokens[p :: args.desk_processes],
                    slots[p :: args.desk_processes],
                    end_at,
                    results,
                ),
            )
            for p in range(args.desk_processes)
        ]
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, start_at - 1.0 - time.time()))  # wrk starts 1 s before the logins
        cpu = cpu_seconds(server.pid)
        spy = (
            stages.record(server.pid, args.storm_seconds, work / "storm-profile.txt")
            if args.storm_profile
            else None
        )
        run = wrk(url, script, "storm", args.storm_seconds, connections, server.pid)
        if spy is not None:
            spy.wait()
        spied = cpu_seconds(server.pid) - cpu
        groups = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join()
        after = server_metrics.scrape(url)
        stored = per_second(database_url, "storm")
    full = run.per_second[1:-1]  # the first and last seconds are partial
    server_errors = sum(n for status, n in run.statuses.items() if status >= 500)
    aimed = (
        f"paced at {rate:,.0f}/s (on average {pause_ms} ms between a connection's requests)"
        if rate
        else "closed loop"
    )
    where = (
        "in the agents' queue: the logins take them"
        if args.waiting_takeable
        else "in a queue no agent serves"
    )
    print(
        f"  shift start ({database}, load {load_average()}): {args.storm:,} desktops logging in "
        f"within {args.storm_within:.0f} s while {waiting:,.0f} contacts wait "
        f"({where}; "
        f"agents made in {made:.0f} s, contacts queued in {filled:.0f} s); "
        f"wrk -t2 -c{connections} -d{args.storm_seconds}s {aimed}; server max_connections "
        f"{server_env()['CENTRALINO_MAX_CONNECTIONS']}"
    )
    print(
        f"  intake: {run.accepted_per_s:,.0f} 202s/s, p50 {run.p50_ms:.1f} ms, "
        f"p99 {run.p99_ms:.1f} ms (wrk, all responses), non-2xx {run.non_2xx} "
        f"(by status: {dict(sorted(run.statuses.items()))}), socket errors {run.socket_errors}; "
        f"server CPU {run.cpu_ms_per_contact:.2f} ms/contact; load {run.load}"
    )
    print(
        f"  202s per second (wrk): {run.per_second} (min over full seconds {min(full, default=0)})"
    )
    print(f"  stored contacts per second (arrival): {stored}")
    for line in describe_desks(groups, start_at, args.storm_within):
        print(line)
    for line in server_metrics.report(before, after):
        print(line)
    if args.storm_profile:
        raw = (work / "storm-profile.txt").read_text()
        args.storm_profile.mkdir(parents=True, exist_ok=True)
        (args.storm_profile / f"storm-{database}.txt").write_text(raw)
        for line in stages.report(raw, database == "sqlite", 200, spied, run.cpu_ms_per_contact):
            print(line)
    print(
        f"  targets: every second has 202s: {met(bool(full) and min(full) > 0)}; "
        f"no 5xx: {met(server_errors == 0)} ({server_errors}); "
        f"p99 of the 202 ≤ 50 ms: {met(run.p99_ms <= 50 and run.non_2xx == 0)} "
        f"({run.p99_ms:.1f} ms)"
    )


def profile(database: str, work: Path, args: argparse.Namespace) -> None:
    """One closed-loop run with desktops taking the offers, py-spy sampling the server."""
    script = write_script(work, text=args.text, returning=args.returning)
    spied: list[float] = []
    with centralino(work, database, "centralino_profile") as (url, server, _):

        async def measure() -> tuple[Run, server_metrics.Samples, server_metrics.Samples]:
            tokens = await make_agents(url, args.profile_desks)
            desks = Desks(url.replace("http", "ws") + "/v1/desktop", tokens, service=1.0)
            await desks.start()
            try:
                await wait_available(url, len(tokens))
                async with admin_client(url) as http:  # warm up: lexicons, caches
                    await queue_contacts(http, 200, intent="support")
                before = server_metrics.scrape(url)
                cpu = cpu_seconds(server.pid)
                spy = stages.record(server.pid, args.seconds, work / "profile.txt")
                run = await asyncio.to_thread(
                    wrk, url, script, "prof", args.seconds, args.connections, server.pid
                )
                await asyncio.to_thread(spy.wait)
                spied[:] = [cpu_seconds(server.pid) - cpu]  # CPU over py-spy's window
                return run, before, server_metrics.scrape(url)
            finally:
                await desks.stop()

        run, before, after = asyncio.run(measure())
    offers = server_metrics.total(after, "centralino_offers_total") - server_metrics.total(
        before, "centralino_offers_total"
    )
    print(
        f"  profile ({database}): {args.profile_desks:,} desktops logged in (accept, wrap up "
        f"after 1 s), wrk -t2 -c{args.connections} -d{args.seconds}s closed loop with py-spy "
        f"at 200 Hz: {run.accepted_per_s:,.0f} 202s/s, p50 {run.p50_ms:.1f} ms, "
        f"p99 {run.p99_ms:.1f} ms, non-2xx {run.non_2xx}; {offers:,.0f} offers made "
        f"({offers / max(run.accepted, 1):.2f} per 202); server CPU "
        f"{run.cpu_ms_per_contact:.2f} ms/contact; load {run.load}"
    )
    for line in server_metrics.report(before, after):
        print(line)
    raw = (work / "profile.txt").read_text() if (work / "profile.txt").exists() else ""
    sqlite = database == "sqlite"
    for line in stages.report(raw, sqlite, 200, spied[0], run.cpu_ms_per_contact):
        print(line)


async def wait_available(url: str, count: int, timeout: float = 120.0) -> None:
    """Until this many agents are available (all desktops logged in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = await asyncio.to_thread(server_metrics.scrape, url)
        if server_metrics.total(samples, "centralino_agents", presence="available") >= count:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{count} desktops did not all log in within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--agents", type=int, default=0)
    parser.add_argument("--storm", type=int, default=0, help="desktops logging in mid-run")
    parser.add_argument("--waiting", type=int, default=0, help="contacts waiting at the storm")
    parser.add_argument("--waiting-takeable", action="store_true")
    parser.add_argument("--storm-within", type=float, default=10.0)
    parser.add_argument("--storm-seconds", type=int, default=20)
    parser.add_argument("--storm-rate", default="half", help="half, max or contacts/s")
    parser.add_argument("--storm-connections", type=int, default=128)
    parser.add_argument("--desk-processes", type=int, default=4)
    parser.add_argument(
        "--returning",
        type=share,
        default=0.0,
        help="share of wrk's contacts from a customer who wrote before in the run (their "
        "plan reads the customer's history); the rest from new customers",
    )
    parser.add_argument(
        "--storm-profile",
        type=Path,
        help="sample the server with py-spy during the storm: split its CPU by stage and "
        "keep the raw stacks in this directory (storm-<database>.txt)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-desks", type=int, default=2000)
    parser.add_argument(
        "--long-text",
        dest="text",
        action="store_const",
        const=LONG_TEXT,
        default=SHORT_TEXT,
        help="post a 175-character complaint instead of a 36-character question",
    )
    parser.add_argument(
        "--text-chars",
        type=int,
        default=0,
        help="post the complaint repeated to this many characters (a long email; the "
        "adapters and the API take up to 20,000)",
    )
    args = parser.parse_args()
    if args.text_chars:
        args.text = repeated(LONG_TEXT, args.text_chars)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, load {load_average()}")
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        work = Path(tempfile.mkdtemp(prefix="centralino-intake-"))
        max_rate = bench(database, work, args) if args.reps else None
        if args.storm:
            storm(database, work, args, max_rate)
        if args.profile:
            profile(database, work, args)


if __name__ == "__main__":
    main()
