"""SMS and WhatsApp conversations through the Twilio-style webhook, with nothing else running.

    python bench/messaging.py [--database sqlite|postgres|both] [--rate 100]
        [--numbers 200] [--messages 5] [--reps 3]

For each repetition a fresh `centralino serve` (the intake bench's config, with
``CENTRALINO_TWILIO_AUTH_TOKEN`` set): ``--numbers`` phone numbers each text
``--messages`` times, in turn (number 1's first message, number 2's first, ... then every
number's second), posted at ``--rate`` a second (an open loop, a signed form each, as
Twilio sends it), after a warm-up of other numbers. A number's first message opens a
contact (no agent is logged in: it waits); the others continue it. Prints, median
(range) of the repetitions, for the first messages and for the rest apart: the webhook's
answer time (p50, p99), and for all messages the server's CPU and its journal's commits a
message and the load generator's CPU. Before its intake each message's id and thread are
read on one connection without the ORM (``Store.inbound_lookup``), and a message that
continues a contact is not read again nor linked again (until the thirty-eighth session:
three reads through the ORM, each on a connection of its own, and a commit more). Copied
into another checkout, it measures that checkout's code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import httpx
import server_metrics
from chat_starts import client_cpu, median_range
from intake import centralino, cpu_seconds, load_average
from throughput import percentile
from twilio.request_validator import RequestValidator

TOKEN = "bench-twilio"
PATH = "/v1/channels/twilio_sms/webhook"
COMMITS = "centralino_journal_commit_seconds_count"
TEXT = "Buongiorno, la bolletta di ottobre è il doppio del solito"


class Phase(NamedTuple):
    first_p50: float
    first_p99: float
    more_p50: float
    more_p99: float
    cpu_ms: float  # the server's, a message
    commits: float  # the journal's, a message
    client_cpu: float  # share of a core
    failed: int


async def conversation_round(
    url: str, prefix: str, numbers: int, messages: int, rate: float
) -> tuple[list[float], list[float], list[str]]:
    """Every number's messages, in turns, at ``rate``: (first latencies, later, failures)."""
    validator = RequestValidator(TOKEN)
    first: list[float] = []
    more: list[float] = []
    failures: list[str] = []

    async def post(http: httpx.AsyncClient, number: int, turn: int) -> None:
        form = {
            "MessageSid": f"{prefix}-{number}-{turn}",
            "From": f"+39333{number:07d}",
            "To": "+15005550006",
            "Body": f"{TEXT} ({turn})",
        }
        headers = {"x-twilio-signature": validator.compute_signature(url + PATH, form)}
        sent = time.perf_counter()
        try:
            reply = await http.post(PATH, data=form, headers=headers)
        except httpx.HTTPError as exc:
            failures.append(repr(exc))
            return
        if reply.status_code != 200:
            failures.append(f"{reply.status_code} {reply.text[:200]}")
            return
        (first if turn == 0 else more).append((time.perf_counter() - sent) * 1000)

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        tasks = []
        began = time.perf_counter()
        for i, (turn, number) in enumerate(
            (turn, number) for turn in range(messages) for number in range(numbers)
        ):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(http, number, turn)))
        await asyncio.gather(*tasks)
    return first, more, failures


def measure(url: str, pid: int, args: argparse.Namespace, rep: int) -> Phase:
    asyncio.run(conversation_round(url, f"w{rep}", 50, 2, args.rate))  # warm-up
    before, cpu, mine = server_metrics.scrape(url), cpu_seconds(pid), client_cpu()
    wall = time.perf_counter()
    first, more, failures = asyncio.run(
        conversation_round(url, f"r{rep}", args.numbers, args.messages, args.rate)
    )
    mine, wall = client_cpu() - mine, time.perf_counter() - wall
    cpu = cpu_seconds(pid) - cpu
    after = server_metrics.scrape(url)
    commits = server_metrics.total(after, COMMITS) - server_metrics.total(before, COMMITS)
    count = max(1, len(first) + len(more))
    return Phase(
        percentile(first, 0.50),
        percentile(first, 0.99),
        percentile(more, 0.50),
        percentile(more, 0.99),
        cpu * 1000 / count,
        commits / count,
        mine / wall,
        len(failures),
    )


def bench(database: str, args: argparse.Namespace) -> None:
    phases = []
    with tempfile.TemporaryDirectory(prefix="centralino-messaging-") as tmp:
        for rep in range(args.reps):
            name = f"centralino_messaging_{rep}"
            with centralino(Path(tmp), database, name) as (url, server, _database_url):
                phases.append(measure(url, server.pid, args, rep))
    print(
        f"  {database}: {args.numbers} numbers x {args.messages} messages at {args.rate:g}/s, "
        f"{args.reps} runs, median (range): answered, a number's first message p50 "
        f"{median_range([p.first_p50 for p in phases], '.1f')} ms, p99 "
        f"{median_range([p.first_p99 for p in phases], '.1f')} ms; the others p50 "
        f"{median_range([p.more_p50 for p in phases], '.1f')} ms, p99 "
        f"{median_range([p.more_p99 for p in phases], '.1f')} ms; server CPU "
        f"{median_range([p.cpu_ms for p in phases], '.2f')} ms a message; journal commits "
        f"{median_range([p.commits for p in phases], '.2f')} a message; load generator "
        f"{median_range([100 * p.client_cpu for p in phases], '.0f')}% of a core; failed "
        f"{sum(p.failed for p in phases)}; load {load_average()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--numbers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    os.environ["CENTRALINO_TWILIO_AUTH_TOKEN"] = TOKEN
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, load {load_average()}", flush=True)
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        bench(database, args)


if __name__ == "__main__":
    main()
