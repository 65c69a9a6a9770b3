"""uvicorn's websocket protocol, plus several text messages in one write to the socket,
and keep-alive pings spread out in time.

A desktop's messages often come in twos and threes: accepting an offer ends the offer,
assigns the contact and is acknowledged. Through ASGI each message is one
``websocket.send``, and uvicorn writes each to the socket at once: one ``send()`` system
call each, and where the peer sleeps between messages, one wake-up of it each
(bench/wakeups.py: on some VMs 20 µs of the sender's CPU). ``CoalescingWebSocket``
offers the ASGI extension ``api.base.frames.SEND_TEXTS``: texts framed one by one (the
frames one ``websocket.send`` each would make) and written with one ``transport.write``.
``api.base.frames.send_texts`` uses it where it is offered and sends one by one where it
is not (another server, the test client).

It subclasses uvicorn's ``websockets-sansio`` implementation (uvicorn's Config takes a
protocol class as ``ws``) and uses what that class keeps, as its own ``send`` does: the
websockets ``ServerProtocol`` (``conn``), the transport, the handshake and close flags,
and the ``writable`` event of its flow control (hence uvicorn >= 0.55 in pyproject.toml).
uvicorn's "auto" picks that implementation too: the other websockets (chat, wallboard,
a standby's desktops) behave as they did.

Pings. uvicorn pings each websocket every ``ws_ping_interval`` (20 s) from its handshake
on, so desktops that connected within the same second (a shift start; every desktop
reconnecting after a restart or a failover) are pinged within that second, every 20 s for
as long as they stay: for 2,000 desktops about 60 ms of the server's CPU landing within a
second (bench/ws_pings.py). At half of max intake with 2,000 desktops, where the server
already uses most of a core, 43 of a traced run's 109 slowest offers were due while a
round of those pings went out (docs/hot-path-history.md, the forty-second session). Here
each ping comes after a draw of 75-100% of the interval (``ping_delay``): desktops that
connected within the same second are pinged over 5 s at first, and further apart with
every ping. The cost: about 14% more pings (a wait of 87.5% of the interval on average),
and more of the server's CPU a ping when they come apart (bench/ws_pings.py measures
both). A peer that stops answering is still dropped within the interval and the ping
timeout.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

from api.base.frames import SEND_TEXTS

PING_JITTER = 0.25  # a ping comes after 75-100% of the interval


def ping_delay(
    interval: float, rtt: float, draw: Callable[[float, float], float] = random.uniform
) -> float:
    """The wait before the next keep-alive ping: uvicorn's (the interval less the last
    ping's round trip), times a draw between 1 - ``PING_JITTER`` and 1."""
    return max(0.0, interval - rtt) * draw(1.0 - PING_JITTER, 1.0)


class CoalescingWebSocket(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # (the handshake was accepted: the app runs with this scope)
            self.scope["extensions"][SEND_TEXTS] = {"send": self.send_texts}

    async def send_texts(self, texts: Sequence[str]) -> None:
        """Each text as one text frame, all written to the socket at once. Raises
        ClientDisconnected (an OSError) when the peer has gone, RuntimeError before the
        handshake or after a close."""
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if not self.handshake_complete or self.close_sent or self.initial_response is not None:
            raise RuntimeError("the websocket is not open for messages")
        try:
            for text in texts:
                self.conn.send_text(text.encode())
        except InvalidState:
            raise ClientDisconnected() from None
        self.transport.write(b"".join(self.conn.data_to_send()))

    def schedule_ping(self) -> None:
        """uvicorn's, with the wait drawn (``ping_delay``): the module says why."""
        assert self.ping_interval is not None
        delay = ping_delay(self.ping_interval, self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay, self.send_keepalive_ping)
