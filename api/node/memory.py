"""The ``memory`` state backend: one process, the router stack in it, no Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import WebSocket

from api.chat.session import serve_chat
from api.desktop.session import serve_desktop
from api.node.backend import StateBackend
from api.node.stack import RouterStack, close_stack, open_stack
from api.ops.wallboard import serve_wallboard


class MemoryBackend(StateBackend):
    name = "memory"

    async def start(self) -> None:
        self.stack: RouterStack = await open_stack(
            self.app, self.settings, self.rules, only_process=True
        )

    async def stop(self) -> None:
        await close_stack(self.app, self.stack)

    def health(self) -> dict[str, Any]:
        engine = self.stack.runtime.engine
        return {
            "status": "ok",
            "backend": self.name,
            "agents": len(engine.agents),
            "live_contacts": len(engine.contacts),
        }

    async def serve_desktop(self, websocket: WebSocket) -> None:
        await serve_desktop(websocket)

    async def serve_chat(self, websocket: WebSocket) -> None:
        await serve_chat(websocket)

    async def serve_wallboard(self, websocket: WebSocket, closed: asyncio.Task[None]) -> None:
        await serve_wallboard(websocket, closed)
