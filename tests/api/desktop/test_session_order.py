"""The order and grouping of what a desktop session writes (api/desktop/session.py's
pump, the only writer once logged in): a request's events wait for its reply and go out
with it; anything else goes out at once, after what was held. The socket here records
each write (one list of texts a write, as the server's SEND_TEXTS extension takes them);
tests/api/desktop/test_session.py checks the same over a real server and socket."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from starlette.websockets import WebSocketState

from api.base.frames import SEND_TEXTS
from api.desktop.hub import RELOADED, Delivery
from api.desktop.session import DesktopSession


class RecordingSocket:
    def __init__(self) -> None:
        self.writes: list[list[str]] = []
        self.closed: int | None = None
        self.scope = {"extensions": {SEND_TEXTS: {"send": self.send_texts}}}
        self.application_state = WebSocketState.CONNECTED

    async def send_texts(self, texts: list[str]) -> None:
        self.writes.append(list(texts))

    async def send_text(self, text: str) -> None:  # one text: send_texts sends it so
        self.writes.append([text])

    async def close(self, code: int, reason: str) -> None:
        self.closed = code


def session() -> tuple[DesktopSession, RecordingSocket]:
    socket = RecordingSocket()
    runtime = SimpleNamespace(observe_offer_sent=None, clock=lambda: 0.0)
    return DesktopSession(
        cast(Any, socket), cast(Any, runtime), cast(Any, None), cast(Any, None)
    ), socket


async def settled() -> None:
    """Let the pump take and write what is queued (no timing: the loop's own turns)."""
    for _ in range(10):
        await asyncio.sleep(0)


def event(name: str) -> Delivery:
    return Delivery(f'{{"type":"{name}"}}')


async def test_a_requests_events_go_out_with_its_reply_in_one_write() -> None:
    desk, socket = session()
    pump = asyncio.create_task(desk.pump())
    desk.outbox.put_nowait(event("offer_ended"))
    desk.outbox.put_nowait(event("assigned"))
    desk._applied()  # what the accept set off is queued: it waits for the ack
    await settled()
    assert socket.writes == []
    await desk.reply({"type": "ack"})
    assert socket.writes == [['{"type":"offer_ended"}', '{"type":"assigned"}', '{"type":"ack"}']]
    desk.outbox.put_nowait(event("presence"))  # no request in flight: at once
    await settled()
    assert socket.writes[-1] == ['{"type":"presence"}']
    pump.cancel()


async def test_an_offer_or_an_unrelated_event_is_not_held() -> None:
    desk, socket = session()
    pump = asyncio.create_task(desk.pump())
    desk.outbox.put_nowait(event("wrap_up"))
    desk._applied()
    await settled()
    desk.outbox.put_nowait(Delivery('{"type":"offer"}', offer=True, arrival=1.0))
    await settled()  # the offer at once, after what was held before it
    assert socket.writes == [['{"type":"wrap_up"}', '{"type":"offer"}']]
    desk.outbox.put_nowait(event("message"))  # the request's events are out: at once
    await settled()
    assert socket.writes[-1] == ['{"type":"message"}']
    desk._applied()
    desk.outbox.put_nowait(event("supervisor_message"))  # set off by no request of its own
    await settled()
    assert socket.writes[-1] == ['{"type":"supervisor_message"}']
    await desk.reply({"type": "ack"})
    assert socket.writes[-1] == ['{"type":"ack"}']
    # going available sets off offers: they go out at once, not with the ack
    desk.outbox.put_nowait(event("presence"))
    desk.outbox.put_nowait(Delivery('{"type":"offer"}', offer=True, arrival=2.0))
    desk._applied()
    await settled()
    assert socket.writes[-1] == ['{"type":"presence"}', '{"type":"offer"}']
    await desk.reply({"type": "ack"})
    assert socket.writes[-1] == ['{"type":"ack"}']
    pump.cancel()


async def test_what_was_held_goes_out_before_the_session_closes() -> None:
    for sentinel, code in ((None, 4001), (RELOADED, 1012)):
        desk, socket = session()
        pump = asyncio.create_task(desk.pump())
        desk.outbox.put_nowait(event("completed"))
        desk._applied()
        await settled()
        desk.outbox.put_nowait(sentinel)
        await pump
        assert socket.writes == [['{"type":"completed"}']] and socket.closed == code
