"""Reading a Redis stream "from now on" without missing an entry.

``XREAD ... STREAMS key $`` means "after the last entry *at the time of this call*". A
reader that loops on ``$`` until something arrives skips every entry added between two of
its calls: after a block that timed out, while the process was busy elsewhere, or while it
waited to retry after a Redis error. On a loaded machine that gap is long enough to miss a
router takeover, and the desktops of a node that missed it were never logged in to the new
router (they waited for offers that the new router, which counted them as logged out,
never made). So a reader resolves "now" once, to the id of the stream's last entry, and
reads after concrete ids from then on.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

EMPTY = "0-0"  # before any entry


async def tail_id(redis: Redis, key: str) -> str:
    """The id of ``key``'s last entry (``0-0`` if it has none): read after it for every
    entry added from now on."""
    last: Any = await redis.xrevrange(key, count=1)
    if not last:
        return EMPTY
    entry_id = last[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
