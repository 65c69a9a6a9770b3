"""Desktop tokens: only their hashes are stored, and a login reads its agent by hash.

At a shift start 2,000 desktops log in within seconds, each with a token to look up
before its welcome. ``read_agent_ids`` looks up any number of tokens in one statement
(router/gathered_reads.py gathers the logins that come while a read is in flight):
``read_agent_ids_kept`` through the driver on a connection kept for such reads
(router/store/kept_reads.py says what that saves), ``read_agent_ids`` through the engine
where there is none (an in-memory SQLite database).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.kept_reads import KeptReads
from router.store.padding import MOST_IN_ONE, padded_parts
from router.store.schema import AgentRow

MOST_TOKENS = MOST_IN_ONE
"""The most tokens one statement looks up; more are looked up in several."""
NO_HASH = ""
"""Fills a statement's list of hashes up to a power of two: a hash is never empty."""
AGENTS_BY_TOKENS = select(AgentRow.id, AgentRow.token_hash).where(
    AgentRow.token_hash.in_(bindparam("hashes", expanding=True))
)


_TABLE = AgentRow.__tablename__
POSTGRES_AGENTS_BY_TOKENS = f"SELECT id, token_hash FROM {_TABLE} WHERE token_hash = ANY($1)"
"""PostgreSQL: one statement for any number of hashes (an array parameter)."""


def sqlite_agents_by_tokens(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT id, token_hash FROM {_TABLE} WHERE token_hash IN ({marks})"


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


async def read_agent_ids_kept(reads: KeptReads, tokens: Sequence[str]) -> list[str | None]:
    """As ``read_agent_ids``, through ``reads`` (StoreError if the database cannot be
    read). On SQLite the hashes go in parts padded to a power of two (a few statements
    for the driver's cache), on PostgreSQL as one array."""
    hashes = [token_hash(token) for token in tokens]
    distinct = sorted(set(hashes))
    agents: dict[str, str] = {}
    if not distinct:
        return [None] * len(hashes)
    if reads.style == "numeric_dollar":
        for agent_id, hashed in await reads.fetch(POSTGRES_AGENTS_BY_TOKENS, [distinct]):
            agents[hashed] = agent_id
    else:
        for part in padded_parts(distinct, NO_HASH):
            for agent_id, hashed in await reads.fetch(sqlite_agents_by_tokens(len(part)), part):
                agents[hashed] = agent_id
    return [agents.get(hashed) for hashed in hashes]
