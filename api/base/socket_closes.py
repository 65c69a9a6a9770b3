"""Websocket close codes shared by the desktop, the wallboard and the web chat, and the
"try again later" answer.

A client reads the code to know what to do next: 4401 means sign in again (a retry with
the same credentials gets the same answer), 1013 means the same login or start may work
in a moment (the store or the active router could not answer), so a client retries it.
"""

from __future__ import annotations

import contextlib

from fastapi import WebSocket, WebSocketDisconnect

CLOSE_UNAUTHORIZED = 4401  # unknown, revoked or ended sign-in: log in again
CLOSE_UNAVAILABLE = 1013  # "try again later": the store or the router cannot answer now


async def close_try_again(websocket: WebSocket, message: str) -> None:
    """Tell the client ``unavailable`` and close with 1013 (a socket already gone: done)."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json({"type": "error", "code": "unavailable", "message": message})
        await websocket.close(CLOSE_UNAVAILABLE, "try again later")
