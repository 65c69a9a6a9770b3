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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.kept_reads import KeptReads, Rows, fetch_statement
from router.store.padding import MOST_IN_ONE, padded_parts
from router.store.schema import AgentRow

MOST_TOKENS = MOST_IN_ONE
"""The most tokens one statement looks up on SQLite (or through the engine); more are
looked up in several."""
NO_HASH = ""
"""Fills a statement's list of hashes up to a power of two: a hash is never empty."""
AGENTS_BY_TOKEN_ARRAY = select(AgentRow.id, AgentRow.token_hash).where(
    AgentRow.token_hash == any_(bindparam("hashes", type_=ARRAY(String)))
)
"""PostgreSQL through the driver: one statement for any number of hashes."""
Lookup = Callable[[list[str]], Awaitable[Iterable[Sequence[Any]]]]
"""(agent id, token hash) rows for these distinct hashes."""


@cache
def agents_by_tokens(count: int) -> Select[str, str | None]:
    """The agents of this many token hashes, bound one by one (``hash_0`` and on): no
    expanding parameter, which the kept reads' compiled statements do not take; the
    engine's path reads with the same statements."""
    hashes: list[BindParameter[str]] = [bindparam(f"hash_{n}") for n in range(count)]
    return select(AgentRow.id, AgentRow.token_hash).where(AgentRow.token_hash.in_(hashes))


def numbered(hashes: Sequence[str]) -> dict[str, str]:
    """``agents_by_tokens``' values: ``hash_0`` and on."""
    return {f"hash_{n}": hashed for n, hashed in enumerate(hashes)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def read_agent_ids(connection: AsyncConnection, tokens: Sequence[str]) -> list[str | None]:
    """The agent each token belongs to (None: no agent has it), in order."""

    async def lookup(hashes: list[str]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = []
        for part in padded_parts(hashes, NO_HASH):
            statement = agents_by_tokens(len(part))
            rows.extend((await connection.execute(statement, numbered(part))).all())
        return rows

    return await _in_order(tokens, lookup)


async def read_agent_ids_kept(reads: KeptReads, tokens: Sequence[str]) -> list[str | None]:
    """As ``read_agent_ids``, through ``reads`` (StoreError if the database cannot be
    read). On SQLite the hashes go in parts padded to a power of two (a few statements
    for the driver's cache), on PostgreSQL as one array."""

    async def lookup(hashes: list[str]) -> Rows:
        if reads.style == "numeric_dollar":
            return await fetch_statement(reads, AGENTS_BY_TOKEN_ARRAY, {"hashes": hashes})
        rows: Rows = []
        for part in padded_parts(hashes, NO_HASH):
            rows.extend(await fetch_statement(reads, agents_by_tokens(len(part)), numbered(part)))
        return rows

    return await _in_order(tokens, lookup)


async def _in_order(tokens: Sequence[str], lookup: Lookup) -> list[str | None]:
    hashes = [token_hash(token) for token in tokens]
    distinct = sorted(set(hashes))
    agents = {hashed: agent_id for agent_id, hashed in await lookup(distinct)} if distinct else {}
    return [agents.get(hashed) for hashed in hashes]
