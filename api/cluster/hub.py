"""Desktop delivery when nodes share Redis: the router's hub writes each agent's events to
the agent's Redis stream (router/cluster/desk.py) instead of a local buffer, so whichever
node holds the agent's websocket delivers them, and a desktop resumes on any node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.desktop.hub import AgentStream, DesktopHub
from api.desktop.protocol import ServerEvent
from router.cluster.desk import DeskWriter
from router.runtime import RouterRuntime


class RedisAgentStream(AgentStream):
    def __init__(
        self, agent_id: str, stream_id: str, seq: int, writer: DeskWriter, mark: Callable[[], int]
    ) -> None:
        super().__init__(stream_id, buffer_size=1)
        self.agent_id = agent_id
        self.seq = seq
        self.writer = writer
        self.mark = mark

    def push(self, event: ServerEvent) -> None:
        self.seq += 1
        event.seq = self.seq
        self.writer.enqueue(self.agent_id, self.seq, event.model_dump(mode="json"), self.mark())

    def push_fields(self, kind: type[ServerEvent], fields: dict[str, Any]) -> None:
        """Through the model, as every event here: Redis gets its JSON-ready dict."""
        self.push(kind(**fields))

    def missed_since(self, after_seq: int) -> None:
        return None  # nodes replay from Redis (DeskReader.since), not from here


class RedisDesktopHub(DesktopHub):
    def __init__(self, runtime: RouterRuntime, writer: DeskWriter, generation: str) -> None:
        super().__init__(runtime)
        self.writer = writer
        self.generation = generation
        self._last_seq: dict[str, int] = {}

    async def prepare(self, agent_ids: list[str]) -> None:
        self._last_seq.update(await self.writer.last_seqs(agent_ids))

    async def ensure(self, agent_id: str) -> None:
        """Know where this agent's stream stands (an agent added after the takeover)."""
        if agent_id not in self.streams and agent_id not in self._last_seq:
            self._last_seq.update(await self.writer.last_seqs([agent_id]))

    def _new_stream(self, agent_id: str) -> AgentStream:
        return RedisAgentStream(
            agent_id,
            f"{self.generation}:{agent_id}",
            self._last_seq.pop(agent_id, 0),
            self.writer,
            lambda: self.runtime.recorder.mark,
        )
