"""Reading websocket frames: every endpoint speaks JSON text, and a binary frame gets a
clear refusal instead of an internal error."""

from __future__ import annotations

from fastapi import WebSocket, WebSocketDisconnect


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
