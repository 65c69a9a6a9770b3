"""Carrying out a logged-in desktop's requests: the engine action, the wait for its
commit (an ack promises the decision is durable), and the ack or error to send back
(api/desktop/session.py sends it; on a standby node api/cluster/commands.py runs it on
the router)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from api.chat.session import ChatHub
from api.desktop.notes import transfer_with_note
from api.desktop.protocol import (
    Accept,
    End,
    Error,
    Login,
    Ping,
    Pong,
    Reject,
    SendMessage,
    SetPresence,
    Transfer,
    WrapUp,
    ack,
)
from api.desktop.replies import reply_through_outbox
from router.decisions import Decisions, EngineError, NotAllowed
from router.replies import ReplyOutbox
from router.runtime import RouterRuntime
from router.states import ContactState, Presence
from router.store.errors import StoreError
from skills.vocabulary import Channel

log = logging.getLogger("centralino.desktop")


async def perform(
    runtime: RouterRuntime,
    customers: ChatHub,
    agent_id: str,
    message: Any,
    *,
    replies: ReplyOutbox | None = None,
    applied: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Carry out one client message of a logged-in agent; the ack or error to send back.
    ``applied`` is called once its action is applied (the engine's decisions made and
    published), before the wait for their commit. How long that took (an ack waits for
    its decision's commit) goes to ``runtime.observe_ack``: /metrics'
    ``centralino_desktop_ack_seconds``."""
    started = time.perf_counter()
    try:
        return await _perform(runtime, customers, agent_id, message, replies, applied)
    finally:
        if runtime.observe_ack is not None:
            runtime.observe_ack(message.type, time.perf_counter() - started)


async def _perform(
    runtime: RouterRuntime,
    customers: ChatHub,
    agent_id: str,
    message: Any,
    replies: ReplyOutbox | None,
    applied: Callable[[], None] | None,
) -> dict[str, Any]:
    try:
        if isinstance(message, SendMessage):
            return await write_to_customer(runtime, customers, agent_id, message, replies)
        reply = apply_action(runtime, agent_id, message)
        if applied is not None:
            applied()
        # the ack promises the decision is durable: wait for its commit (group-committed,
        # lingering for other decisions to share it)
        if not await runtime.recorder.reached(runtime.recorder.mark, linger=True):
            return Error(
                ref=message.ref,
                code="not_recorded",
                message="the router could not record this; it was not acknowledged",
            ).model_dump()
        if isinstance(message, Transfer) and message.note:
            try:
                await runtime.store.add_message(
                    message.contact_id, runtime.clock(), "transfer_note", message.note, {}
                )
            except StoreError as exc:
                return partly_recorded(message, "the transfer was made; its note", exc)
        if isinstance(message, WrapUp) and message.follow_up_in is not None:
            now = runtime.clock()
            try:
                reply["follow_up"] = await runtime.store.aftercare.schedule(
                    message.contact_id,
                    agent_id,
                    now + message.follow_up_in,
                    message.follow_up_note,
                    now,
                )
            except StoreError as exc:
                return partly_recorded(message, "the wrap-up was recorded; its follow-up", exc)
        return reply
    except EngineError as exc:
        try:
            if await already_done(runtime, agent_id, message):
                return ack(message.ref, message.type, duplicate=True)
        except StoreError as store_error:
            return unavailable(message, "could not be checked now, send it again", store_error)
        return Error(ref=message.ref, code=exc.code, message=exc.message).model_dump()
    except StoreError as exc:  # the session goes on; nothing of it was kept
        return unavailable(message, "not done now, try again", exc)


def unavailable(message: Any, said: str, exc: StoreError) -> dict[str, Any]:
    """The store could not take this action (or check a resent one): it may be resent."""
    log.error("a desktop's %s could not be stored: %s", message.type, exc)
    return Error(ref=message.ref, code="unavailable", message=f"{said}: {exc}").model_dump()


def partly_recorded(message: Any, done: str, exc: StoreError) -> dict[str, Any]:
    """The action was done and recorded, what followed it was not: not to be resent (a
    resent wrap-up would be answered as done, its follow-up still missing)."""
    log.error("a desktop's %s was recorded, not all of it: %s", message.type, exc)
    return Error(
        ref=message.ref, code="partly_recorded", message=f"{done} was not stored: {exc}"
    ).model_dump()


async def already_done(runtime: RouterRuntime, agent_id: str, message: Any) -> bool:
    """An accept or wrap-up sent again (its ack was lost with a dying connection) that
    already took effect: answered like the first time, from the record."""
    if isinstance(message, Accept):
        await runtime.recorder.flush()
        offer = await runtime.store.offer(message.offer_id)
        return offer is not None and offer.agent_id == agent_id and offer.outcome == "accepted"
    if isinstance(message, WrapUp):
        row = await runtime.stored_contact(message.contact_id)
        return (
            row is not None
            and row.agent_id == agent_id
            and row.state == ContactState.COMPLETED.value
            and row.outcome == message.outcome
        )
    return False


def apply_action(runtime: RouterRuntime, agent_id: str, message: Any) -> dict[str, Any]:
    """One engine action of an agent (presence, accept, reject, end, wrap-up, transfer)."""
    engine = runtime.engine
    if isinstance(message, Ping):
        return Pong(ref=message.ref).model_dump()
    if isinstance(message, Login):
        return Error(
            ref=message.ref,
            code="already_logged_in",
            message="this connection is already logged in",
        ).model_dump()
    call: Any
    if isinstance(message, SetPresence):
        presence = Presence(message.presence)
        call = lambda now: engine.set_presence(  # noqa: E731
            agent_id, presence, now, message.reason, code=message.code
        )
    elif isinstance(message, Accept):
        call = lambda now: engine.accept(agent_id, message.offer_id, now)  # noqa: E731
    elif isinstance(message, Reject):
        call = lambda now: engine.reject(agent_id, message.offer_id, now, message.reason)  # noqa: E731
    elif isinstance(message, End):
        call = lambda now: engine.end_contact(message.contact_id, now, "agent", agent_id)  # noqa: E731
    elif isinstance(message, WrapUp):
        call = lambda now: engine.wrap_up(  # noqa: E731
            agent_id,
            message.contact_id,
            now,
            outcome=message.outcome,
            resolved=message.resolved,
            notes=message.notes,
        )
    else:
        assert isinstance(message, Transfer)
        call = lambda now: engine.transfer(  # noqa: E731
            agent_id,
            message.contact_id,
            now,
            queue=message.queue,
            skills=message.skills,
            to_agent=message.agent,
        )
        if message.note:
            return transfer_with_note(runtime, agent_id, message, call)
    decisions: Decisions = runtime.submit(call)
    return ack(message.ref, message.type, decisions=len(decisions))


async def write_to_customer(
    runtime: RouterRuntime,
    customers: ChatHub,
    agent_id: str,
    message: SendMessage,
    replies: ReplyOutbox | None = None,
) -> dict[str, Any]:
    engine = runtime.engine
    contact = engine.contacts.get(message.contact_id)
    if (
        contact is None
        or contact.agent_id != agent_id
        or contact.state is not ContactState.ASSIGNED
    ):
        raise NotAllowed(f"contact {message.contact_id} is not assigned to you")
    if contact.channel is not Channel.CHAT:
        return await reply_through_outbox(runtime, agent_id, message, replies)
    agent = engine.agents[agent_id]
    if not customers.deliver(message.contact_id, agent.profile.name or agent_id, message.text):
        return Error(
            ref=message.ref,
            code="not_deliverable",
            message="no live customer connection for this chat (the customer left)",
        ).model_dump()
    try:
        await runtime.store.add_message(
            message.contact_id, runtime.clock(), "agent", message.text, {}
        )
    except StoreError as exc:
        return partly_recorded(message, "the message reached the customer; its record", exc)
    return ack(message.ref, message.type)
