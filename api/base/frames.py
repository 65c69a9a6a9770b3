"""Websocket frames: every endpoint speaks JSON text, and a binary frame gets a clear
refusal instead of an internal error; several messages ready at once go out in one write
where the server can (``send_texts``)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState


class BinaryFrame(ValueError):
    def __init__(self) -> None:
        super().__init__("binary frames are not accepted: send JSON as text")


async def receive_text(websocket: WebSocket) -> str:
    """The next text frame. Raises BinaryFrame for a binary one, WebSocketDisconnect when
    the peer has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise BinaryFrame
    return str(text)


SEND_TEXTS = "centralino.websocket.send_texts"
"""The ASGI extension (``scope["extensions"]``) through which our server writes several
text messages to a websocket in one write to its socket: ``{"send": async (texts) ->
None}`` (api/server/ws_protocol.py)."""


async def send_texts(websocket: WebSocket, texts: Sequence[str]) -> None:
    """Send each of ``texts`` as a text message, in order. Where the server offers
    ``SEND_TEXTS`` they go out in one write to the socket (one system call, one wake-up
    of the peer), not one each; otherwise one ``send_text`` each. Raises
    WebSocketDisconnect when the peer has gone, as ``send_text`` does."""
    extension = (websocket.scope.get("extensions") or {}).get(SEND_TEXTS)
    if (
        extension is None
        or len(texts) < 2
        or websocket.application_state is not WebSocketState.CONNECTED
    ):
        for text in texts:  # (and starlette's errors for a socket not open)
            await websocket.send_text(text)
        return
    try:
        await extension["send"](texts)
    except OSError:  # uvicorn's ClientDisconnected
        websocket.application_state = WebSocketState.DISCONNECTED
        raise WebSocketDisconnect(code=1006) from None
