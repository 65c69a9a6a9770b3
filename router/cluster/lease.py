"""The active router's lease, and the fencing token that comes with it.

One router per routing domain is active: the one holding the lease, a Redis key that
expires ``ttl`` seconds after its last renewal. Taking the lease also takes the next value
of a counter, the *fencing token* (epoch). Everything the active router writes checks that
its lease is still the current one: Redis writes in Lua scripts (below), database writes
against the epoch kept in the database (``Store.claim_fence``). A router that was paused
past its lease (GC, a stopped VM) therefore cannot write over its successor's work; it
learns at its next renewal that it lost the lease and stops.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from router.cluster.keys import Keys

log = logging.getLogger("centralino.lease")

# KEYS[1] lease, KEYS[2] epoch; ARGV[1] holder, ARGV[2] ttl ms -> epoch or false
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', ARGV[2])
return epoch
"""
# KEYS[1] lease; ARGV[1] value, ARGV[2] ttl ms -> 1 kept, 0 lost
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] lease, KEYS[2] stream; ARGV[1] value, ARGV[2] maxlen, ARGV[3] entry id ('*' = auto),
# ARGV[4..] field, value...
FENCED_XADD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], ARGV[3], unpack(ARGV, 4))
"""
# KEYS[1] lease, KEYS[2] command stream, KEYS[3..] a reply list a command;
# ARGV[1] value, ARGV[2] group, ARGV[3] ttl s, then a command's entry id and reply ('' = none)
# for each reply list, in order
FENCED_REPLIES_ACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
local acked = 0
for i = 3, #KEYS do
  local reply = ARGV[2 * i - 1]
  if reply ~= '' then
    redis.call('RPUSH', KEYS[i], reply)
    redis.call('EXPIRE', KEYS[i], ARGV[3])
  end
  acked = acked + redis.call('XACK', KEYS[2], ARGV[2], ARGV[2 * i - 2])
end
return acked
"""


# KEYS[1] epoch; ARGV[1] floor -> the counter, at least the floor
_RAISE_EPOCH = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return current
"""


class Fenced(RuntimeError):
    """This router's lease is no longer current: a newer router took over."""


def is_fenced(error: RedisError) -> bool:
    return isinstance(error, ResponseError) and "FENCED" in str(error)


class FencedXadd:
    """XADD that only the holder of ``lease`` may do: Fenced once a newer router holds
    the lease. ``entry`` is the entry id, ``*`` for an automatic one."""

    def __init__(self, redis: Redis, keys: Keys, lease: Lease) -> None:
        self._script: Any = redis.register_script(FENCED_XADD)
        self.lease_key = keys.lease
        self.lease = lease

    def _args(self, entry: str, maxlen: int, fields: dict[str, str]) -> list[Any]:
        args: list[Any] = [self.lease.value, maxlen, entry]
        for name, value in fields.items():
            args += [name, value]
        return args

    async def __call__(self, stream: str, entry: str, maxlen: int, fields: dict[str, str]) -> str:
        try:
            answer = await self._script(
                keys=[self.lease_key, stream], args=self._args(entry, maxlen, fields)
            )
        except RedisError as exc:
            if is_fenced(exc):
                raise Fenced("lease lost") from exc
            raise
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    async def queue(
        self, pipe: Any, stream: str, entry: str, maxlen: int, fields: dict[str, str]
    ) -> None:
        """The same XADD, queued on a pipeline (its result comes with the pipeline's)."""
        await self._script(
            keys=[self.lease_key, stream], args=self._args(entry, maxlen, fields), client=pipe
        )


@dataclass
class Lease:
    epoch: int
    value: str  # what the lease key holds while this lease is current


class RouterLease:
    """Take, renew and give back the lease of one routing domain."""

    def __init__(self, redis: Redis, keys: Keys, node: str, ttl: float) -> None:
        self.redis = redis
        self.keys = keys
        self.node = node
        self.ttl_ms = max(100, int(ttl * 1000))
        self._acquire: Any = redis.register_script(_ACQUIRE)
        self._renew: Any = redis.register_script(_RENEW)
        self._release: Any = redis.register_script(_RELEASE)
        self._raise_epoch: Any = redis.register_script(_RAISE_EPOCH)

    async def try_acquire(self) -> Lease | None:
        """The lease, if nobody holds it now."""
        holder = f"{self.node}:{secrets.token_hex(6)}"
        epoch = await self._acquire(
            keys=[self.keys.lease, self.keys.epoch], args=[holder, self.ttl_ms]
        )
        if epoch is None:
            return None
        return Lease(int(epoch), f"{int(epoch)}:{holder}")

    async def renew(self, lease: Lease) -> bool:
        """Extend the lease; False if it lapsed and another router may hold it now."""
        kept = await self._renew(keys=[self.keys.lease], args=[lease.value, self.ttl_ms])
        return bool(kept)

    async def release(self, lease: Lease) -> None:
        """Give the lease back at once (a clean shutdown), so a standby need not wait."""
        try:
            await self._release(keys=[self.keys.lease], args=[lease.value])
        except RedisError as exc:
            log.warning("could not release the router lease: %s", exc)

    async def raise_epoch(self, floor: int) -> None:
        """Make the next lease's epoch greater than ``floor``: Redis lost its counter
        (restarted empty) while the database still holds a later router's fence."""
        await self._raise_epoch(keys=[self.keys.epoch], args=[floor])

    async def holder(self) -> str | None:
        value = await self.redis.get(self.keys.lease)
        return value.decode() if isinstance(value, bytes) else value
