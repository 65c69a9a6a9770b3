"""Server CPU per contact split by stage, from the stacks py-spy samples in the server.

    py-spy record -p PID -f raw --nonblocking -r 200 -d SECONDS -o FILE

samples every thread of the server 200 times a second without stopping it; the raw output
has one line per distinct stack (outermost frame first) with its sample count. Each stack
is given one stage:

- HTTP + validation: api/gateways, api/base, channels; uvicorn's HTTP protocols, h11,
  httptools, starlette, fastapi, anyio;
- triage: skills (but skills/vocabulary: agent profiles, which the engine's matching
  uses; it takes its caller's stage); lingua, phonenumbers, numpy;
- write: router/store, router/recorder; sqlalchemy, aiosqlite, asyncpg, sqlite3;
- routing: the rest of router (engine, rules, runtime, intake planning, ...); cel;
- offer delivery: api/desktop (offers out, accepts and wrap-ups in); websockets and
  uvicorn's websocket protocols;
- other: api/ops (metrics), api/chat, router/outbox, router/cluster; prometheus_client;
  and stacks no frame of which has a stage (the event loop's own work: asyncio, selectors,
  sockets).

The rule: the innermost frame (nearest the running code) that has a stage decides.
Frames without a stage are passed over: the interpreter and start-up (runpy, typer,
uvicorn.main/server, api/server, api/node), asyncio and threading, and general-purpose
libraries such as pydantic and json, so that pydantic validating a request body counts as
HTTP (fastapi called it) while pydantic inside the engine counts as routing. C code has no
frames of its own: sqlite's C library counts as write (sqlite3 called it), socket sends as
whoever sent.

py-spy's idle detection does not drop every waiting thread here, so samples whose running
frame is a known wait are left out before the shares are taken: a thread blocked on a
condition, an event or a work queue (aiosqlite's too), the event loop in epoll, and, on
SQLite, the journal thread inside COMMIT (fsync with synchronous=FULL; its CPU is small).
The rest is taken as CPU; the printed calibration (those samples / rate against the CPU the
process used over py-spy's window) shows how well that holds. Above 100%, threads were
sampled while ready to run but waiting for a core (other work on the machine): the shares
still hold if that waiting hit every stage alike. Each stage's ms per contact = its share
of those samples × the server's CPU per 202'd contact (from /proc).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

HTTP, TRIAGE, WRITE = "HTTP + validation", "triage", "write"
ROUTING, DELIVERY, OTHER = "routing", "offer delivery", "other"
STAGES = (HTTP, TRIAGE, WRITE, ROUTING, DELIVERY, OTHER)
PROJECT = (  # path prefix -> stage (None: passed over); first match wins
    ("router/store/", WRITE),
    ("router/recorder.py", WRITE),
    ("router/outbox/", OTHER),
    ("router/cluster/", OTHER),
    ("router/", ROUTING),
    ("skills/vocabulary.py", None),  # agent profiles and skills: matching uses them too
    ("skills/", TRIAGE),
    ("channels/", HTTP),
    ("api/gateways/", HTTP),
    ("api/base/frames.py", None),  # websocket frames: their callers' stage
    ("api/base/", HTTP),
    ("api/desktop/", DELIVERY),
    ("api/server/ws_protocol.py", DELIVERY),  # the desktops' websockets
    ("api/server/", None),
    ("api/node/", None),
    ("api/", OTHER),
)
LIBRARIES = {  # top-level module -> stage; any other library is passed over
    **dict.fromkeys(("h11", "httptools", "starlette", "fastapi", "anyio", "multipart"), HTTP),
    **dict.fromkeys(("lingua", "phonenumbers", "numpy"), TRIAGE),
    **dict.fromkeys(("sqlalchemy", "aiosqlite", "asyncpg", "sqlite3"), WRITE),
    "cel": ROUTING,
    "websockets": DELIVERY,
    "prometheus_client": OTHER,
}
WAITS = {  # running frame (function, file) of a thread that is waiting, not computing
    ("Condition.wait", "threading.py"),
    ("Event.wait", "threading.py"),
    ("Thread.join", "threading.py"),
    ("_worker", "concurrent/futures/thread.py"),  # SimpleQueue.get, in C
    ("CommitThread._serve", "router/store/commit_thread.py"),  # SimpleQueue.get, in C
    ("_connection_worker_thread", "aiosqlite/core.py"),  # its queue's get, in C
    ("EpollSelector.select", "selectors.py"),
    ("PollSelector.select", "selectors.py"),
    ("SelectSelector.select", "selectors.py"),
}
SQLITE_COMMIT = ("DefaultDialect.do_commit", "sqlalchemy/engine/default.py")
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*):\d+\)$")
REPO = Path(__file__).resolve().parent.parent


def record(pid: int, seconds: int, out: Path, rate: int = 200) -> subprocess.Popen[bytes]:
    """Start py-spy on this process (returns at once; wait on the result)."""
    spy = Path(sys.executable).parent / "py-spy"
    args = [str(spy), "record", "-p", str(pid), "-f", "raw", "--nonblocking"]
    args += ["-r", str(rate), "-d", str(seconds), "-o", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def frame_file(frame: str) -> tuple[str, str]:
    """(function, file relative to the project or site-packages) of one raw frame."""
    match = FRAME.match(frame)
    if match is None:
        return frame, ""
    path = match["file"]
    if "site-packages/" in path:
        path = path.rsplit("site-packages/", 1)[1]
    elif path.startswith(f"{REPO}/"):
        path = path[len(str(REPO)) + 1 :]
    elif re.search(r"/python3\.\d+/", path):
        path = re.split(r"/python3\.\d+/", path, maxsplit=1)[1]
    return match["function"], path


def stage_of(path: str) -> str | None:
    if path.split("/", 1)[0] in ("router", "skills", "channels", "api"):
        return next((stage for prefix, stage in PROJECT if path.startswith(prefix)), None)
    if path.startswith("uvicorn/protocols/websockets/"):
        return DELIVERY  # the desktops' websockets (the only ones in these benches)
    if path.startswith("uvicorn/protocols/"):
        return HTTP
    top = path.split("/", 1)[0].removesuffix(".py")
    return LIBRARIES.get(top)


def classify(raw: str, sqlite: bool) -> tuple[Counter[str], int]:
    """Samples per stage, and the samples left out as waits."""
    stages: Counter[str] = Counter()
    waits = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_file(frame) for frame in stack.split(";")]
        if frames[-1] in WAITS or (sqlite and frames[-1] == SQLITE_COMMIT):
            waits += count
            continue
        stage = next(
            (s for s in (stage_of(path) for _, path in reversed(frames)) if s is not None), OTHER
        )
        stages[stage] += count
    return stages, waits


def report(
    raw: str, sqlite: bool, rate: int, cpu_seconds: float, cpu_ms_per_contact: float
) -> list[str]:
    stages, waits = classify(raw, sqlite)
    busy = sum(stages.values())
    if not busy:
        return ["  profile: no samples (is py-spy allowed to read the process?)"]
    lines = [
        f"  py-spy: {busy + waits:,} samples, {waits:,} left out as waits; the other {busy:,} "
        f"/ {rate} Hz = {busy / rate:.2f} s against {cpu_seconds:.2f} s of server CPU "
        f"(calibration {busy / rate / cpu_seconds:.0%})",
        f"  server CPU per contact by stage (total {cpu_ms_per_contact:.2f} ms):",
    ]
    for stage in STAGES:
        share = stages[stage] / busy
        lines.append(
            f"    {stage:<18} {share * cpu_ms_per_contact:6.3f} ms/contact  ({share:5.1%})"
        )
    return lines
