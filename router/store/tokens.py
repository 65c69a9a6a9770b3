"""Desktop tokens: only their hashes are stored, and a login reads its agent by hash.

At a shift start 2,000 desktops log in within seconds, each with a token to look up
before its welcome. ``read_agent_ids`` looks up any number of tokens in one statement
(router/gathered_reads.py gathers the logins that come while a read is in flight).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.padding import MOST_IN_ONE, padded_parts
from router.store.schema import AgentRow

MOST_TOKENS = MOST_IN_ONE
"""The most tokens one statement looks up; more are looked up in several."""
NO_HASH = ""
"""Fills a statement's list of hashes up to a power of two: a hash is never empty."""
AGENTS_BY_TOKENS = select(AgentRow.id, AgentRow.token_hash).where(
    AgentRow.token_hash.in_(bindparam("hashes", expanding=True))
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def read_agent_ids(connection: AsyncConnection, tokens: Sequence[str]) -> list[str | None]:
    """The agent each token belongs to (None: no agent has it), in order."""
    hashes = [token_hash(token) for token in tokens]
    distinct = sorted(set(hashes))
    agents: dict[str, str] = {}
    for part in padded_parts(distinct, NO_HASH):
        for row in await connection.execute(AGENTS_BY_TOKENS, {"hashes": part}):
            agents[row.token_hash] = row.id
    return [agents.get(hashed) for hashed in hashes]
