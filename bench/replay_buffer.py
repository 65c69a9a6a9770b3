"""What the desktops' replay buffers cost a router when full: memory, objects the garbage
collector tracks, and a full collection's pause.

Each logged-in agent's stream keeps its last events so a desktop that reconnects can
resume: at most ``replay_buffer`` of them (500 by default) and, since the fifteenth session,
``replay_buffer_bytes`` of memory (128 KiB by default). With 2,000 agents and no byte bound
that is a million events once the buffers are full, a steady state a long-running router
reaches within hours. The events are offers like the router's (the contact's context and
the routing explanation), pushed through ``AgentStream`` (api/desktop/hub.py). Three
variants, each in a process of its own (memory is read from /proc):

- as dicts: as before the fourteenth session (2026-12-04), the dict trees ``model_dump`` gives;
- as text, events only: each event's JSON text, bounded by the number of events alone
  (the fourteenth session, 2026-12-04);
- as text, both bounds: now (``--bytes``).

    python bench/replay_buffer.py [--agents 2000] [--buffer 500] [--bytes 131072]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.desktop.hub import AgentStream
from api.desktop.protocol import OfferEvent
from api.desktop.replay import DEFAULT_BYTES


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def offer(n: int) -> OfferEvent:
    """An offer shaped like the router's (router/runtime.py offer_context, the engine's
    explanation), with a short chat message."""
    contact_id = f"{n:032x}"
    context: dict[str, Any] = {
        "contact_id": contact_id,
        "gateway": "webchat",
        "external_id": f"m-{n}",
        "channel": "chat",
        "arrival": 1_800_000_000.0 + n,
        "queue": "billing",
        "rule": "billing",
        "language": "it",
        "intent": "billing",
        "subject": None,
        "text": "Buongiorno, non riesco a pagare la bolletta di novembre, mi date una mano?",
        "urgency": 0.42,
        "transfers": 0,
        "attributes": {"page": "/fatture"},
        "customer": {"id": None, "name": "Lucia Bianchi", "email": f"l{n}@example.it"},
        "history": [],
        "emotion": {
            "urgency": 0.42,
            "label": "negative",
            "signals": ["problem"],
            "source": "model",
        },
        "moment_of_truth": False,
        "open_case": None,
        "profile": {"customer_id": f"cust-{n}", "contacts": 1, "identities": ["email"]},
        "proposed_identities": [],
    }
    explanation: dict[str, Any] = {
        "trigger": "arrival",
        "priority": {
            "rule": 10.0,
            "urgency": 25.2,
            "history": 0.0,
            "static_capped": 35.2,
            "ageing": 0.0,
            "total": 35.2,
        },
        "step": {"index": 0, "requirements": {"billing": 4}, "language": "it"},
        "search": {
            "considered": 2000,
            "eligible": 1900,
            "ranking": "narrowest bullseye ring first, then longest idle",
            "candidates": [
                {"agent": f"agent-{k}", "ring": 0, "idle_seconds": 12.5 + k} for k in range(5)
            ],
            "excluded": {"language": 100},
            "excluded_examples": [{"agent": "agent-9", "reason": "language"}],
        },
        "rule": "billing",
        "queue": "billing",
        "chosen": "agent-0",
    }
    return OfferEvent(
        offer_id=f"o-{n}", contact=context, channel="chat", expires_at=1e9, explanation=explanation
    )


VARIANTS = {
    "dicts": "as dicts (before the 14th session)",
    "events": "as text, events only (14th session)",
    "both": "as text, both bounds (now)",
}


def measure(agents: int, buffer: int, bytes_bound: int, variant: str) -> None:
    as_dicts = variant == "dicts"
    gc.collect()
    gc.freeze()  # what the process held before (as centralino serve does after start-up)
    before = rss_mb()
    started = time.process_time()
    streams: list[Any] = []
    for agent in range(agents):
        if as_dicts:
            kept: deque[dict[str, Any]] = deque(maxlen=buffer)
            for n in range(buffer):
                event = offer(agent * buffer + n)
                event.seq = n + 1
                kept.append(event.model_dump(mode="json"))
            streams.append(kept)
        else:
            bound = bytes_bound if variant == "both" else 2**62
            stream = AgentStream(f"boot:agent-{agent}", buffer, bound)
            for n in range(buffer):
                stream.push(offer(agent * buffer + n))
            streams.append(stream)
    built = time.process_time() - started
    gc.collect()
    pauses = []
    for _ in range(3):
        started = time.perf_counter()
        gc.collect()
        pauses.append(time.perf_counter() - started)
    tracked = len(gc.get_objects())
    events = agents * buffer
    kept = sum(len(stream) if as_dicts else len(stream.buffer) for stream in streams)
    print(
        f"  {VARIANTS[variant]:<34} "
        f"{events:,} events pushed, {kept:,} kept: {rss_mb() - before:,.0f} MB, "
        f"{tracked:,} objects tracked by the "
        f"collector, full collection {min(pauses) * 1e3:,.0f} ms (best of 3); "
        f"{built / events * 1e6:.1f} µs of CPU an event to build and keep"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--buffer", type=int, default=500)
    parser.add_argument("--bytes", type=int, default=DEFAULT_BYTES)
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        measure(args.agents, args.buffer, args.bytes, args.one)
        return
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}, load {load}: {args.agents:,} agents, "
        f"replay buffers of {args.buffer} events ({args.bytes:,} bytes with both bounds), full"
    )
    for variant in VARIANTS:
        command = [
            sys.executable,
            __file__,
            f"--one={variant}",
            f"--agents={args.agents}",
            f"--buffer={args.buffer}",
            f"--bytes={args.bytes}",
        ]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
