"""uvicorn's websocket protocol, plus several text messages in one write to the socket.

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
"""

from __future__ import annotations

from collections.abc import Sequence

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

from api.base.frames import SEND_TEXTS


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
