"""What waking another process costs on this machine: a loopback TCP ping-pong between two
processes, on two CPUs and on one.

    python bench/wakeups.py [--round-trips 20000] [--reps 3]

At half of max intake most steps of a contact are a message to a process that was
asleep: the gateway's POST, a journal batch to a PostgreSQL backend, an offer to a
desktop. A send that wakes a process on the other CPU costs what the machine charges for
a cross-CPU wake-up; on a VM whose idle CPUs halt (``haltpoll.guest_halt_poll_ns=0`` on
the nineteenth session's), that is an interrupt to a halted virtual CPU, paid in part by
the sender. At max intake the peers are awake and busy. VMs differ in this more than in
plain compute: print it beside the figures of a session. (How much of the router's cost
it is: on that VM 59-73 µs a round trip across CPUs, 10-12 µs with halt polling on, and
the router's CPU at half of max only about 5% lower with it on; docs/hot-path-history.md.)

Each variant: a parent sends 200 bytes and waits for a 50-byte answer, ``--round-trips``
times (TCP_NODELAY, blocking sockets); wall time per round trip, and the parent's CPU
(user + system) per round trip and per send() call. ``two CPUs``: parent and child
pinned apart; ``one CPU``: both on CPU 0 (a wake-up is a switch on the same CPU);
``unpinned``: as the scheduler places them. Median of ``--reps`` runs (and the range).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time
from pathlib import Path

from intake import load_average


def idle_settings() -> str:
    """The kernel's idle driver and halt-polling setting, where it says."""
    found = []
    for label, path in (
        ("cpuidle driver", "/sys/devices/system/cpu/cpuidle/current_driver"),
        ("guest_halt_poll_ns", "/sys/module/haltpoll/parameters/guest_halt_poll_ns"),
    ):
        try:
            found.append(f"{label} {Path(path).read_text().strip()}")
        except OSError:
            found.append(f"{label} unknown")
    return ", ".join(found)


def echo(listener: socket.socket, cpu: int | None) -> None:
    """The child: answer every message until the parent hangs up (or never connects)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    listener.settimeout(30)
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        os._exit(1)
    connection.settimeout(None)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answer = b"a" * 50
    while connection.recv(65536):
        connection.sendall(answer)
    os._exit(0)


def ping_pong(round_trips: int, parent_cpu: int | None, child_cpu: int | None) -> tuple[float, ...]:
    """(µs wall, µs of the parent's CPU per round trip, µs wall per send())."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = listener.getsockname()
    child = os.fork()
    if child == 0:
        echo(listener, child_cpu)
    listener.close()
    mask = os.sched_getaffinity(0)
    try:
        if parent_cpu is not None:
            os.sched_setaffinity(0, {parent_cpu})
        with socket.create_connection(address) as peer:
            peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            message = b"m" * 200
            for _ in range(200):  # warm-up
                peer.sendall(message)
                peer.recv(65536)
            sending = 0.0
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(round_trips):
                before = time.perf_counter()
                peer.sendall(message)
                sending += time.perf_counter() - before
                peer.recv(65536)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
    finally:
        os.sched_setaffinity(0, mask)
        os.waitpid(child, 0)
    scale = 1e6 / round_trips
    return wall * scale, cpu * scale, sending * scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {len(cpus)} CPUs, load {load_average()}; "
        f"{idle_settings()}"
    )
    variants: list[tuple[str, int | None, int | None]] = [("unpinned", None, None)]
    if len(cpus) >= 2:
        variants.append(("two CPUs", cpus[0], cpus[1]))
    variants.append(("one CPU", cpus[0], cpus[0]))
    for label, parent_cpu, child_cpu in variants:
        runs = [ping_pong(args.round_trips, parent_cpu, child_cpu) for _ in range(args.reps)]
        columns = []
        for name, values in zip(
            ("round trip", "sender's CPU", "send()"), zip(*runs, strict=True), strict=True
        ):
            columns.append(
                f"{name} {statistics.median(values):.1f} µs ({min(values):.1f}–{max(values):.1f})"
            )
        print(f"  {label:9s} " + ", ".join(columns) + f"; load {load_average()}")


if __name__ == "__main__":
    main()
