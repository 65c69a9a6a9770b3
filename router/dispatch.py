"""Apply channel events to intake: new contacts, messages on live ones, endings.

Threading lives here: a message on a thread (email Message-ID, chat session, call id,
platform user) that has a live contact becomes a message on that contact; a reply to a
finished contact becomes a new contact offered first to the agent who handled it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.base import Ended, Inbound, InboundEvent, Message, OptOut, UnknownThread
from router.decisions import Abandoned
from router.intake import Intake

MessageListener = Callable[..., None]
"""(contact id, text, kind, attachments): told of every new message on a live contact."""


class Dispatcher:
    def __init__(self, intake: Intake, on_message: MessageListener | None = None) -> None:
        self.intake = intake
        self.on_message = on_message

    def _told(
        self,
        result: dict[str, Any],
        text: str,
        kind: str,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Tell the listener (the agent holding it) of a new message on a live contact."""
        if self.on_message is not None and result.get("live"):
            self.on_message(result["contact_id"], text, kind, attachments or [])
        return result

    async def message(
        self, contact_id: str, text: str, kind: str, sentiment: float | None = None
    ) -> dict[str, Any]:
        """A message for a contact known by id (the generic gateway API)."""
        result = await self.intake.add_message(contact_id, text, kind, sentiment)
        return self._told(result, text, kind)

    async def apply(self, events: list[InboundEvent]) -> list[dict[str, Any]]:
        return [await self._apply(event) for event in events]

    async def _apply(self, event: InboundEvent) -> dict[str, Any]:
        if isinstance(event, Inbound):
            return await self._inbound(event)
        if isinstance(event, Message):
            row = await self.intake.runtime.store.thread_contact(event.gateway, [event.thread_key])
            if row is None:
                raise UnknownThread(f"no contact for {event.thread_key!r}")
            result = await self.intake.add_message(
                row.id, event.text, event.kind, event.sentiment, event.external_id, row
            )
            return self._told(result, event.text, event.kind)
        if isinstance(event, OptOut):
            return await self._opt_out(event)
        return await self._ended(event)

    async def _opt_out(self, event: OptOut) -> dict[str, Any]:
        """STOP / START: recorded, so the reply outbox refuses (or again allows) SMS."""
        runtime = self.intake.runtime
        await runtime.store.replies.set_opted_out(
            event.platform, event.address, event.opted_out, runtime.clock(), event.keyword
        )
        return {"opted_out": event.opted_out, "platform": event.platform}

    async def _inbound(self, event: Inbound) -> dict[str, Any]:
        runtime = self.intake.runtime
        store = runtime.store
        contact = event.contact
        found = await store.inbound_lookup(contact.gateway, contact.external_id, event.thread_keys)
        existing = found.opened
        if existing is not None:  # a retried delivery of the message that opened a contact
            return {
                "contact_id": existing.id,
                "duplicate": True,
                "state": existing.state,
                "language": existing.language,
            }
        on_thread = found.on_thread  # its own thread first (read with the message id)
        if on_thread is not None and on_thread.id in runtime.engine.contacts:
            # a thread of one key that found the contact points at it already (a number
            # texting again, a social user, a call)
            return await self._continued(event, on_thread, len(event.thread_keys) > 1)
        replied = await store.thread_contact(contact.gateway, event.reply_keys)
        if replied is not None and replied.id in runtime.engine.contacts:
            return await self._continued(event, replied, True)
        return await self._new_contact(event, replied)

    async def _continued(self, event: Inbound, row: Any, link: bool) -> dict[str, Any]:
        """A message on a live contact's thread: added to that contact (``row`` as read);
        ``link``: its own ids join the thread, so a reply to this message finds it too."""
        runtime = self.intake.runtime
        contact = event.contact
        text = contact.text or contact.subject  # the new words, not "Re: ..." again
        reply = await self.intake.add_message(
            row.id, text, "message", contact.sentiment, contact.external_id, row
        )
        if link:
            await runtime.store.link_threads(
                contact.gateway, event.thread_keys, row.id, runtime.clock()
            )
        return self._told(
            {**reply, "continued": True},
            text,
            "message",
            list(contact.attributes.get("attachment_list") or []),
        )

    async def start(self, event: Inbound) -> dict[str, Any]:
        """A contact that opens a thread this server has just made (a web chat's session,
        api/chat/session.py): no contact or message can be on it yet and it replies to
        none, so nothing is read before its intake (``apply`` reads what is stored under
        its message id and its thread first)."""
        return await self._new_contact(event, None)

    async def _new_contact(self, event: Inbound, replied: Any | None) -> dict[str, Any]:
        runtime = self.intake.runtime
        contact = event.contact
        prefer = replied.agent_id if replied is not None else None
        # its thread keys are stored with it, in its commit: never a contact that the next
        # message on its thread cannot find (a chat's session, say)
        keys = (*event.thread_keys, *(event.reply_keys if replied is None else ()))
        result = await self.intake.accept(contact, prefer_agent=prefer, threads=keys)
        context = runtime.contexts.get(result.contact_id) or {}
        return {
            "contact_id": result.contact_id,
            "duplicate": not result.created,
            "state": result.state,
            "queue": result.queue,
            "language": context.get("language"),
            "notice": result.notice,
            "after_hours": result.after_hours,
            "estimated_wait": result.estimated_wait,
        }

    async def _ended(self, event: Ended) -> dict[str, Any]:
        row = await self.intake.runtime.store.thread_contact(event.gateway, [event.thread_key])
        if row is None:
            raise UnknownThread(f"no contact for {event.thread_key!r}")
        return await self.end(row.id)

    async def end(self, contact_id: str) -> dict[str, Any]:
        """The customer left: abandoned before an answer, the end of it (wrap-up) after one;
        harmless for a contact already over. Raises KeyError for an unknown contact."""
        runtime = self.intake.runtime
        engine = runtime.engine
        if contact_id not in engine.contacts:
            row = await runtime.stored_contact(contact_id)
            if row is None:
                raise KeyError(contact_id)
            return {"contact_id": contact_id, "outcome": f"already {row.state}"}
        if self.intake.callbacks.keeps(contact_id):  # hung up after asking for a callback
            return {"contact_id": contact_id, "outcome": "callback_kept"}
        decisions = runtime.submit(lambda now: engine.abandon(contact_id, now))
        if decisions.of(Abandoned):
            return {"contact_id": contact_id, "outcome": "abandoned"}
        live = engine.contacts.get(contact_id)
        return {"contact_id": contact_id, "outcome": live.state.value if live else "ended"}
