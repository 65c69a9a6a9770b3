"""Where the event loop was while something held it: one log line a stall, opt-in.

``centralino_event_loop_lag_seconds`` (api/ops/loop_lag.py) shows that the loop ran late,
and ``centralino_gc_pause_seconds`` how much of it the collector took; neither says what
held the loop the rest of the time. With ``CENTRALINO_STALL_LOG_MS`` set (off by default),
a thread of its own samples the loop thread's stack while the loop has not turned for that
long, and once it turns again logs one WARNING on ``centralino.loop``: when the stall began,
how long it held, and the stacks seen (innermost frame first, the most frequent first).

How it knows: the loop marks its turns with a callback every quarter of the threshold. A
mark that comes more than the threshold late ends a stall, which is reported (whether or
not the thread took a sample of it) as long as the mark was late: up to a quarter of the
threshold less than the loop was held. The thread wakes every quarter of the threshold
too, and samples while the mark due is more than the threshold late.

What it cannot see: the thread needs the interpreter lock to take a sample. Python code
hands it over every switch interval (5 ms by default), and so does C code that waits on
the kernel (sockets, files, sleeps); C code that keeps it (a garbage collection, a long
regular expression) does not, so such a stall shows only what ran after it (a collection:
the collector's callbacks, ``api/ops/gc_pauses.py``), or "no sample".

What it costs: the loop's mark and the thread's wake-up, each every quarter of the
threshold (200 times a second at 20 ms); while the loop is busy each wake-up takes the
interpreter lock from it for a moment. It is for finding where a router pauses, not for
running all the time; the benchmarks' figures are measured without it. Seen with it, and a
throwaway tracer before it, at a shift start (bench/intake.py --storm; the forty-third
session in docs/hot-path-history.md): stalls of 36–68 ms while the desktops logged in,
most of them around the middle generation's collections, and of 115–297 ms while 2,000 of
them closed at once.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from types import FrameType

log = logging.getLogger("centralino.loop")

DEPTH = 8  # frames of each sample, innermost first
MAX_SAMPLES = 400  # a stall's samples kept (about 100 thresholds long)


@dataclass(frozen=True, slots=True)
class Stall:
    began: float  # wall clock (time.time()) when the loop's next turn was due
    held: float  # s, from then until the loop turned
    stacks: list[tuple[str, int]]  # (frames, innermost first; samples), most frequent first

    def describe(self, most: int = 5) -> str:
        shown = "; ".join(f"{count}× {frames}" for frames, count in self.stacks[:most])
        when = time.strftime("%H:%M:%S", time.localtime(self.began))
        return f"event loop held {self.held * 1000:.0f} ms from {when}: {shown or 'no sample'}"


def frames_of(frame: FrameType | None, depth: int = DEPTH) -> str:
    """``depth`` frames from ``frame`` outwards: ``dir/file.py:function:line < ...``."""
    parts: list[str] = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        path = PurePath(code.co_filename)
        parts.append(f"{path.parent.name}/{path.name}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(parts)


class StallWatch:
    """Reports each stall of the running loop longer than ``threshold`` seconds."""

    def __init__(self, threshold: float, report: Callable[[Stall], None] | None = None) -> None:
        if threshold <= 0:
            raise ValueError("the threshold must be positive")
        self.threshold = threshold
        self.report = report or (lambda stall: log.warning("%s", stall.describe()))
        self._every = threshold / 4
        self._due = 0.0  # monotonic time the next mark is due
        self._due_wall = 0.0  # the same on the wall clock
        self._ended: deque[tuple[float, float]] = deque()  # (began, held) of ended stalls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mark: asyncio.TimerHandle | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """On the loop to watch (its thread is the one sampled); once."""
        if self._thread is not None:
            raise RuntimeError("the stall watch was started already")
        self._loop = asyncio.get_running_loop()
        self._arm()
        self._thread = threading.Thread(
            target=self._watch,
            args=(threading.get_ident(),),
            name="centralino-stall-watch",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """On the loop: a stall that its pending mark would end is reported too."""
        if self._mark is not None:
            self._mark.cancel()
            self._check()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _arm(self) -> None:
        assert self._loop is not None
        self._due = time.monotonic() + self._every
        self._due_wall = time.time() + self._every
        self._mark = self._loop.call_later(self._every, self._turn)

    def _turn(self) -> None:
        self._check()
        self._arm()

    def _check(self) -> None:
        """On the loop: how late the mark due came; past the threshold, a stall ended."""
        late = time.monotonic() - self._due
        if late > self.threshold:
            self._ended.append((self._due_wall, late))  # deque: safe from the other thread

    def _watch(self, loop_thread: int) -> None:
        samples: Counter[str] = Counter()
        while True:
            stopping = self._stopping.wait(self._every)
            while self._ended:  # stalls ended: with what was sampled while they held
                began, held = self._ended.popleft()
                self._emit(Stall(began, held, samples.most_common()))
                samples = Counter()
            if stopping:
                return
            held_now = time.monotonic() - self._due > self.threshold
            if held_now and sum(samples.values()) < MAX_SAMPLES:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    samples[frames_of(frame)] += 1

    def _emit(self, stall: Stall) -> None:
        try:
            self.report(stall)
        except Exception:  # a broken report must not stop the watch
            log.exception("reporting a stall failed")
