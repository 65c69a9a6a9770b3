"""uvicorn's HTTP protocol, with a response's head and body written to the socket at once.

uvicorn writes a response's status line and headers when the app sends
``http.response.start`` and its body at ``http.response.body``: two ``transport.write``
calls, so two ``send()`` system calls and two TCP segments for every 202 a gateway gets,
and where the client sleeps between them, two wake-ups of it. ``HeadWithBody`` keeps the
head of a response that gives its length (``content-length``: not a stream, whose head
must go out at once) until the body's first write, and writes the two together.

What is not held: ``100 Continue`` (written before the response starts), a HEAD
request's head (no body follows), a chunked response's. If the connection is closed
before a body is written (the app failed after starting), the head goes out first, as
it did. It wraps the transport of each request's ``RequestResponseCycle`` (uvicorn's
Config takes a protocol class as ``http``), which is all the cycle writes through.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class HeadWithBody(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # a new request's
            cycle.transport = _HeldHead(self.transport, cycle)  # type: ignore[assignment]


class _HeldHead:
    """The transport of one request's cycle: its response's head kept until its body. It
    refers to its cycle weakly: the cycle refers to it, and a reference cycle would leave
    every request's objects to the garbage collector instead of freeing them at once."""

    __slots__ = ("_cycle", "_head", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = weakref.ref(cycle)
        self._head: bytes | None = None
        self._started = False  # the response's head was written (or is held)

    def write(self, data: bytes) -> None:
        if not self._started:
            cycle = self._cycle()
            if cycle is not None and cycle.response_started:
                self._started = True  # this is the head
                if cycle.chunked_encoding is False and cycle.scope["method"] != "HEAD":
                    self._head = data
                    return
        elif self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
