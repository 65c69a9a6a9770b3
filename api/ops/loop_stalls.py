"""Where the event loop was while something held it: one log line a stall, opt-in.

``centralino_event_loop_lag_seconds`` (api/ops/loop_lag.py) shows that the loop ran late,
and ``centralino_gc_pause_seconds`` how much of it the collector took; neither says what
held the loop the rest of the time. With ``CENTRALINO_STALL_LOG_MS`` set (off by default),
a thread of its own samples the loop thread's stack while the loop has not turned for that
long, and once it turns again logs one WARNING on ``centralino.loop``: when the stall began,
how long it held, and the stacks seen (innermost frame first, the most frequent first).

How it knows: the loop marks its turns with a callback every quarter of the threshold, and
the thread looks as often: a mark due more than the threshold ago and not yet made is a
stall. Its length is how late the mark came (up to a quarter of the threshold more, the
thread's own interval); a loop late by less than the threshold is not reported.

What it cannot see: the thread needs the interpreter lock to take a sample. Python code
hands it over every switch interval (5 ms by default), and so does C code that waits on
the kernel (sockets, files, sleeps); C code that keeps it (a garbage collection, a long
regular expression) does not, so such a stall shows only what ran after it (a collection:
the collector's callbacks, ``api/ops/gc_pauses.py``), or no sample at all.

What it costs: the thread wakes four times a threshold (200 times a second at 20 ms), and
while the loop is busy each wake-up takes the interpreter lock from it for a moment. It is
for finding where a router pauses, not for running all the time; the benchmarks' figures
are measured without it. Seen with it at a shift start (bench/intake.py --storm; the
forty-third session in docs/hot-path-history.md): stalls of 36–63 ms around the middle
generation's collections while the desktops logged in, and of 115–297 ms while 2,000 of
them closed at once.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter
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
        self._turned = (time.monotonic(), time.time())  # one attribute: read whole
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mark: asyncio.TimerHandle | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """On the loop to watch (its thread is the one sampled)."""
        self._loop = asyncio.get_running_loop()
        self._turn()
        self._thread = threading.Thread(
            target=self._watch,
            args=(threading.get_ident(),),
            name="centralino-stall-watch",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._mark is not None:
            self._mark.cancel()
        if self._thread is not None:
            self._thread.join()

    def _turn(self) -> None:
        self._turned = (time.monotonic(), time.time())
        assert self._loop is not None
        self._mark = self._loop.call_later(self._every, self._turn)

    def _watch(self, loop_thread: int) -> None:
        samples: Counter[str] = Counter()
        held: tuple[float, float] | None = None  # the last turn before the stall
        while not self._stopping.wait(self._every):
            turned = self._turned
            if held is not None and turned != held:  # the loop turned again
                late = turned[0] - held[0] - self._every
                self._emit(Stall(held[1] + self._every, late, samples.most_common()))
                held = None
            elif time.monotonic() - turned[0] - self._every > self.threshold:
                if held is None:  # a new stall
                    held, samples = turned, Counter()
                if sum(samples.values()) < MAX_SAMPLES:
                    samples[frames_of(sys._current_frames().get(loop_thread))] += 1

    def _emit(self, stall: Stall) -> None:
        try:
            self.report(stall)
        except Exception:  # a broken report must not stop the watch
            log.exception("reporting a stall failed")
