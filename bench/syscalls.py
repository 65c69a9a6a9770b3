"""The server's system calls during a phase, counted by the kernel (``perf stat`` on the
syscall tracepoints of the server's process, every thread): how many a contact, and of
which kinds.

Counts, unlike the timed figures, move little from run to run: the same code at the same
rate makes about the same calls (they do move with the rate, as batching does). They show
the work the interpreter's profile and callgrind (bench/instructions.py) do not see: the
kernel's, in the router's process only (PostgreSQL's processes are not counted). On these
VMs a system call that wakes a process on the other CPU (a send to a client, to
PostgreSQL; a futex to another thread) costs the caller several to tens of
microseconds of CPU, by the VM (bench/wakeups.py), and a SQLite
commit writes each page it changed into the write-ahead log as two ``pwrite64`` calls
(the frame's header, then the page): the calls a contact show what the kernel is asked
to do, and the /proc split below how much of a contact's cost it is.

With the counts, the server's CPU in the block split between the process and the kernel
(/proc: user and system time). ``with SystemCalls(pid) as calls: ...`` then
``calls.report(contacts)``: a line, or a line
saying why there are no counts (``perf`` missing, or not allowed to trace: the syscall
tracepoints need root, or a readable tracefs); it never fails the bench. A kind this
kernel has no tracepoint for (``epoll_wait`` on arm64, say) is left out, the rest counted.
perf attaches a few milliseconds into the phase, so the counts a contact are a little low.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType

from intake import user_and_system

KINDS = (
    "getpid",
    "fcntl",
    "pwrite64",
    "pread64",
    "fdatasync",
    "fsync",
    "futex",
    "epoll_wait",
    "epoll_ctl",
    "sendto",
    "recvfrom",
    "write",
    "read",
    "getrandom",
    "madvise",
    "munmap",
    "mmap",
    "brk",
    "accept4",
    "close",
)
"""The kinds counted one by one; the others are counted together."""

TOTAL = "raw_syscalls:sys_enter"

TRACEFS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))


def traced(kinds: tuple[str, ...]) -> list[str]:
    """The kinds this kernel has a syscall tracepoint for (all of them if tracefs cannot be
    read: perf then says what is wrong)."""
    for root in TRACEFS:
        events = root / "events" / "syscalls"
        if events.is_dir():
            return [kind for kind in kinds if (events / f"sys_enter_{kind}").is_dir()]
    return list(kinds)


class SystemCalls:
    """Counts the system calls of process ``pid`` (all its threads) while in the block."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._perf: subprocess.Popen[str] | None = None
        self._counts: dict[str, int] = {}
        self._problem = ""
        self._times = (0.0, 0.0)  # the server's user and system CPU in the block, seconds

    def __enter__(self) -> SystemCalls:
        self._times = user_and_system(self._pid)
        perf = shutil.which("perf")
        if perf is None:
            self._problem = "perf is not installed (Debian package linux-perf)"
            return self
        events = ",".join([TOTAL, *(f"syscalls:sys_enter_{kind}" for kind in traced(KINDS))])
        self._perf = subprocess.Popen(
            [perf, "stat", "-x", ",", "-e", events, "-p", str(self._pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        user, system = user_and_system(self._pid)
        self._times = (user - self._times[0], system - self._times[1])
        if self._perf is None:
            return  # (the reason is in self._problem)
        self._perf.send_signal(signal.SIGINT)  # perf prints its counts and ends
        try:
            _out, err = self._perf.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self._perf.kill()
            self._problem = "perf did not end"
            return
        self._counts = parse(err)
        if TOTAL not in self._counts:
            last = err.strip().splitlines()[-1] if err.strip() else "no output"
            self._problem = f"perf counted nothing: {last}"

    def report(self, contacts: int) -> str:
        """The counts a contact, the busiest kinds first, and the CPU's split (which needs no
        perf: it is given when the counts are not)."""
        if contacts <= 0:
            return "  server system calls: no contact in the phase"
        user, system = self._times
        kernel = system / (user + system) if user + system > 0 else 0.0
        split = (
            f"the server's CPU a contact {user / contacts * 1000:.2f} ms in the process and"
            f" {system / contacts * 1000:.2f} ms in the kernel ({kernel:.0%})"
        )
        if self._problem or not self._counts:
            return f"  server system calls: not counted ({self._problem or 'no counts'}); {split}"
        total = self._counts[TOTAL]
        kinds = {k.rsplit("sys_enter_", 1)[1]: n for k, n in self._counts.items() if k != TOTAL}
        kinds["other"] = total - sum(kinds.values())
        busiest = sorted(((n, k) for k, n in kinds.items() if n > 0), reverse=True)
        listed = ", ".join(f"{k} {n / contacts:.1f}" for n, k in busiest)
        return (
            f"  server system calls a contact (perf, every thread): {total / contacts:.1f}"
            f" ({listed}); {total:,} for {contacts:,} contacts; {split}"
        )


def parse(text: str) -> dict[str, int]:
    """Event name -> count, from ``perf stat -x ,``'s lines (count,unit,event,...); an event
    perf could not count is left out."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) >= 3 and fields[0].strip().isdigit():
            counts[fields[2].strip()] = int(fields[0])
    return counts
