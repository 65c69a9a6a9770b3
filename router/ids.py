"""Ids: random ones, and time-ordered ones for the rows the hot path inserts.

``new_id``: a UUID version 4 as 32 hex digits, the form ``uuid.uuid4().hex`` gives.
``uuid.uuid4()`` builds a ``UUID`` object (its constructor checks and converts in Python)
only for ``.hex`` to format it again; here the same 122 random bits, version and variant
are set on an int and formatted once: the same distribution and form, about a third of
the work. For ids made one at a time, not a batch's keys (chat sessions, cluster
requests).

``ordered_id``: a UUID version 7 (RFC 9562) in the same form: the Unix time in
milliseconds, then 74 random bits. The keys of contacts, customers and outbox events,
and the indexes that hold them (a contact's customer, a message's, an offer's or an
event's contact), grow at their right end instead of at random places: a batch of new
contacts dirties a few index pages, not one page per key. With random keys, at intake on
SQLite, a new contact cost 22 ``pwrite`` and 7 ``pread`` system calls against 7 and 1
(strace; the thirtieth session in docs/hot-path-history.md has the figures). An id tells
when it was made, to the millisecond, which a contact's own record says anyway.
"""

from __future__ import annotations

import os
import time

_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # the version's nibble, the variant's two bits
_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, variant RFC 4122
_SET_ORDERED = (0x7000 << 64) | (0x8000 << 48)  # version 7, variant RFC 4122
_LOW_80 = (1 << 80) - 1


def new_id() -> str:
    """A new random id: ``uuid.uuid4().hex`` without the ``UUID`` object."""
    return f"{int.from_bytes(os.urandom(16)) & _CLEAR | _SET:032x}"


def ordered_id() -> str:
    """A new time-ordered id (UUID version 7): ids of later milliseconds sort after."""
    ms = time.time_ns() // 1_000_000
    value = (ms << 80) | (int.from_bytes(os.urandom(10)) & _LOW_80)
    return f"{value & _CLEAR | _SET_ORDERED:032x}"
