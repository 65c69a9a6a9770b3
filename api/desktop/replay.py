"""An agent's last events, kept for a desktop that resumes (api/desktop/hub.py).

Each event is kept as the JSON text sent for it, with the contact it is about, and the
buffer is bounded twice: by a number of events and by the memory their texts take
(``sys.getsizeof``: a string with one emoji takes four bytes a character, a plain one
one). The newest event is always kept. With 2,000 agents and 500 offers each, a bound on
events alone held 1.7 GB (bench/replay_buffer.py); a resume needs what a reconnect of
seconds to minutes missed, and past the buffer the desktop gets a state snapshot.

Nothing here is walked by the garbage collector once it has seen it: texts and contact ids
are strings, kept in two deques side by side; the seq of each is counted from the
first's, since a stream's seqs follow each other. (A tuple per event, as before, was one
more young object a collection walked for each event of each agent.)
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from itertools import islice

DEFAULT_EVENTS = 500
DEFAULT_BYTES = 128 * 1024


class ReplayBuffer:
    __slots__ = ("_contacts", "_texts", "first_seq", "max_bytes", "max_events", "size")

    def __init__(self, max_events: int = DEFAULT_EVENTS, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.first_seq = 1  # the seq of the oldest event kept
        self.size = 0  # bytes the kept texts take
        self._contacts: deque[str | None] = deque()
        self._texts: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def texts(self) -> list[str]:
        return list(self._texts)

    def append(self, seq: int, contact_id: str | None, text: str) -> None:
        """Keep an event (seqs follow each other); drop the oldest past either bound."""
        texts = self._texts
        if not texts:
            self.first_seq = seq
        texts.append(text)
        self._contacts.append(contact_id)
        self.size += sys.getsizeof(text)
        while len(texts) > 1 and (len(texts) > self.max_events or self.size > self.max_bytes):
            self.size -= sys.getsizeof(texts.popleft())
            self._contacts.popleft()
            self.first_seq += 1

    def since(self, after_seq: int) -> list[str] | None:
        """The texts of the events after ``after_seq`` up to the newest; None when the
        buffer no longer reaches back that far (the caller checks the newest seq)."""
        if not self._texts or self.first_seq > after_seq + 1:
            return None
        return list(islice(self._texts, after_seq + 1 - self.first_seq, None))

    def rewrite(self, contacts: set[str], change: Callable[[str], str]) -> None:
        """Replace the text of each event about one of ``contacts`` by ``change(text)``."""
        for index, contact_id in enumerate(self._contacts):
            if contact_id in contacts:
                old = self._texts[index]
                new = self._texts[index] = change(old)
                self.size += sys.getsizeof(new) - sys.getsizeof(old)
