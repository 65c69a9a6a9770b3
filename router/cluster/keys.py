"""Every Redis key centralino uses, in one place.

All keys of a routing domain share the hash tag ``{domain}``, so on a Redis Cluster they
live in one slot and the fenced Lua scripts may touch several of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "centralino"
COMMAND_GROUP = "routers"  # the consumer group of the command stream
COMMAND_CONSUMER = "active"  # only the lease holder reads, so one consumer name is enough


CUSTOMER_CHANGES = f"{PREFIX}:customer-changes"
"""Stream: customer merges, unmerges and erasures, for every node's caches. One for all
routing domains (customers are shared); never touched by a fenced script, so it needs no
domain hash tag."""


@dataclass(frozen=True, slots=True)
class Keys:
    domain: str = "default"

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{{self.domain}}}"

    @property
    def lease(self) -> str:
        """String: the active router's lease token (expires unless renewed)."""
        return f"{self._base}:lease"

    @property
    def epoch(self) -> str:
        """Counter: the fencing token; each new lease takes the next value."""
        return f"{self._base}:epoch"

    @property
    def commands(self) -> str:
        """Stream: work for the active router (gateway requests, desktop actions)."""
        return f"{self._base}:commands"

    def reply(self, request_id: str) -> str:
        """List: the active router's answer to one command (short-lived)."""
        return f"{self._base}:reply:{request_id}"

    @property
    def takeovers(self) -> str:
        """Stream: one entry per new active router, so nodes re-attach their desktops."""
        return f"{self._base}:takeovers"

    @property
    def desk_generation(self) -> str:
        """String: names this Redis' generation of agent streams (in the desktop stream id)."""
        return f"{self._base}:desk-generation"

    def desk(self, agent_id: str) -> str:
        """Stream: the agent's sequenced desktop events; entry ids are ``0-<seq>``."""
        return f"{self._base}:desk:{agent_id}"

    def desk_control(self, agent_id: str) -> str:
        """Stream: session control for the agent (a newer login replaces older ones)."""
        return f"{self._base}:desk-control:{agent_id}"

    def chat(self, session: str) -> str:
        """Stream: what the router tells one web-chat customer (agent joined, messages)."""
        return f"{self._base}:chat:{session}"

    @property
    def customer_changes(self) -> str:
        """Stream: see ``CUSTOMER_CHANGES`` (the same key for every domain)."""
        return CUSTOMER_CHANGES

    @property
    def chat_sessions(self) -> str:
        """Hash: live web chats, contact id -> chat session (a new router re-attaches them)."""
        return f"{self._base}:chat-sessions"
