"""The reply outbox: an agent's reply to a customer on email, Meta, X or SMS.

1. ``reply`` finds the route (which sender, platform and address), enforces the provider's
   rules (Meta's 24-hour window, SMS opt-outs), then commits the reply row: only then is
   the desktop acknowledged.
2. A task sends it: the row moves to ``sending`` (committed) before the provider is
   called, then to ``sent``, ``failed`` (with the provider's reason) or ``unknown``. Each
   move is told to the agent (``on_status``).
3. A Retryable error (the provider certainly did not take it) is tried again after a pause,
   a few times; an Ambiguous one (a timeout once the request left) never is: the agent
   sees ``unknown`` and decides.
4. At start, replies left ``sending`` by a stopped server become ``unknown``; replies left
   ``pending`` (acknowledged, never handed over) are sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from channels.outbound.base import (
    Ambiguous,
    OptedOut,
    Outbound,
    Permanent,
    Retryable,
    Sender,
    Template,
)
from channels.outbound.smtp import message_id
from router.ids import ordered_id
from router.runtime import RouterRuntime
from router.store.errors import StoreError
from router.store.replies import ReplyStatus, reply_view
from router.store.schema import ContactRow, ReplyRow

log = logging.getLogger("centralino.replies")

WINDOW = 24 * 3600.0  # Meta (and WhatsApp): free-form replies within 24 h of the customer
WINDOWED = frozenset({"messenger", "instagram", "whatsapp"})
LIMITS = {"sms": 1600, "messenger": 2000, "instagram": 1000, "whatsapp": 4096, "x": 10000}
RETRY_DELAYS = (1.0, 5.0, 20.0)
COLUMNS = tuple(ReplyRow.__table__.columns)
StatusListener = Callable[[str, dict[str, Any]], None]  # (agent id, reply view)


class ReplyRefused(Exception):
    """A reply that cannot be sent at all (no route, a provider rule); nothing stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Route:
    sender: str
    platform: str
    recipient: str


def route_for(contact: ContactRow) -> Route:
    """Which sender answers this contact, on which platform, to which address."""
    customer = contact.customer or {}
    attributes = contact.attributes or {}
    if contact.channel == "voice":
        raise ReplyRefused(
            "not_deliverable", "a call is answered on the phone: its details are in the offer"
        )
    if contact.channel == "email":
        if not customer.get("email"):
            raise ReplyRefused("not_deliverable", "this email contact has no sender address")
        return Route("smtp", "email", str(customer["email"]))
    platform = str(attributes.get("platform", ""))
    if attributes.get("public"):
        raise ReplyRefused(
            "not_deliverable", f"a public {platform} post is answered on the post itself"
        )
    handles = customer.get("handles") or {}
    if platform == "sms":
        address = customer.get("phone") or handles.get("sms")
        sender = "twilio"
    elif platform in ("messenger", "instagram", "whatsapp", "x"):
        address = handles.get(platform)
        sender = {"x": "x"}.get(platform, "meta")
        if platform == "whatsapp" and contact.gateway.startswith("twilio"):
            sender = "twilio"
    else:
        raise ReplyRefused(
            "not_deliverable", f"no way to reply on {contact.channel} contacts from the desktop"
        )
    if not address:
        raise ReplyRefused("not_deliverable", f"no {platform} address for this customer")
    return Route(sender, platform, str(address))


def outbound_of(row: dict[str, Any]) -> Outbound:
    template = row.get("template") or {}
    return Outbound(
        key=row["id"],
        platform=row["platform"],
        to=row["recipient"],
        text=row["text"],
        subject=row.get("subject", ""),
        message_id=row.get("message_id", ""),
        in_reply_to=row.get("in_reply_to", ""),
        references=tuple(row.get("thread_refs") or ()),
        template=Template(template["name"], template.get("language", "en_US"))
        if template.get("name")
        else None,
    )


class ReplyOutbox:
    def __init__(
        self,
        runtime: RouterRuntime,
        senders: dict[str, Sender],
        *,
        email_from: str = "",
        retry_delays: Sequence[float] = RETRY_DELAYS,
        on_status: StatusListener | None = None,
    ) -> None:
        self.runtime = runtime
        self.senders = senders
        self.email_from = email_from
        self.retry_delays = tuple(retry_delays)
        self._listeners: list[StatusListener] = [on_status] if on_status else []
        self._tasks: set[asyncio.Task[None]] = set()

    async def reply(
        self,
        agent_id: str,
        contact: ContactRow,
        text: str,
        client_ref: str | None = None,
        template: Template | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Commit a reply and start sending it: (its view, created). Raises ReplyRefused."""
        route = route_for(contact)
        if route.sender not in self.senders:
            raise ReplyRefused(
                "not_deliverable",
                f"replies on {route.platform} need the {route.sender!r} sender configured",
            )
        await self.check_rules(contact, route, text, template)
        now = self.runtime.clock()
        reply_id = ordered_id()
        values: dict[str, Any] = {
            "id": reply_id,
            "contact_id": contact.id,
            "agent_id": agent_id,
            "client_ref": client_ref,
            "sender": route.sender,
            "platform": route.platform,
            "recipient": route.recipient,
            "text": text,
            "subject": contact.subject,
            "message_id": "",
            "in_reply_to": "",
            "thread_refs": [],
            "template": {"name": template.name, "language": template.language} if template else {},
            "status": ReplyStatus.PENDING.value,
            "reason": "",
            "provider_id": "",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        thread = None
        if route.platform == "email":
            in_reply_to, references = await self.runtime.store.replies.email_thread(contact)
            values["message_id"] = message_id(reply_id, self.email_from)
            values["in_reply_to"], values["thread_refs"] = in_reply_to, list(references)
            thread = (contact.gateway, values["message_id"])
        row, created = await self.runtime.store.replies.create(values, thread)
        if created:
            self.start(row)
        return reply_view(row), created

    async def check_rules(
        self, contact: ContactRow, route: Route, text: str, template: Template | None
    ) -> None:
        limit = LIMITS.get(route.platform)
        if limit is not None and template is None and len(text) > limit:
            raise ReplyRefused(
                "too_long", f"{route.platform} takes at most {limit} characters, not {len(text)}"
            )
        if template is not None and route.platform != "whatsapp":
            raise ReplyRefused("not_allowed", "templates are for WhatsApp only")
        if route.platform in WINDOWED and template is None:
            last = await self.runtime.store.replies.last_customer_message(contact)
            if self.runtime.clock() - last > WINDOW:
                raise ReplyRefused(
                    "window_closed",
                    f"the customer last wrote over 24 hours ago: {route.platform} allows only "
                    + ("an approved template now" if route.platform == "whatsapp" else "no reply"),
                )
        if route.platform == "sms" and await self.runtime.store.replies.opted_out(
            "sms", route.recipient
        ):
            raise ReplyRefused("opted_out", "the customer replied STOP: no SMS may be sent")

    def start(self, row: dict[str, Any]) -> None:
        task = asyncio.create_task(self._deliver(row), name=f"reply-{row['id']}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def listen(self, listener: StatusListener) -> None:
        """Be told of every status move (the desktop hub, metrics)."""
        self._listeners.append(listener)

    def _tell(self, row: dict[str, Any] | None) -> None:
        if row is None:
            return
        view = reply_view(row)
        for listener in self._listeners:
            try:
                listener(row["agent_id"], view)
            except Exception:  # a broken listener must not stop sending
                log.exception("reply status listener failed")

    async def _move(
        self, reply_id: str, target: ReplyStatus, **fields: Any
    ) -> dict[str, Any] | None:
        moved = await self.runtime.store.replies.move(
            reply_id, target, self.runtime.clock(), **fields
        )
        self._tell(moved)
        return moved

    async def _deliver(self, row: dict[str, Any]) -> None:
        sender = self.senders.get(row["sender"])
        if sender is None:
            await self._move(row["id"], ReplyStatus.FAILED, reason="no such sender configured")
            return
        message = outbound_of(row)
        delays = (0.0, *self.retry_delays)
        for attempt, delay in enumerate(delays, 1):
            if delay:
                await asyncio.sleep(delay)
            try:
                if await self._move(row["id"], ReplyStatus.SENDING) is None:
                    return  # already final (or another writer took it)
                try:
                    sent = await sender.send(message)
                except Retryable as exc:
                    if attempt == len(delays):
                        await self._move(
                            row["id"],
                            ReplyStatus.FAILED,
                            reason=f"gave up after {attempt} tries: {exc.reason}",
                        )
                        return
                    await self._move(row["id"], ReplyStatus.PENDING, reason=exc.reason)
                    continue
                except OptedOut as exc:
                    await self.runtime.store.replies.set_opted_out(
                        message.platform, message.to, True, self.runtime.clock(), "provider"
                    )
                    await self._move(row["id"], ReplyStatus.FAILED, reason=exc.reason)
                except Permanent as exc:
                    await self._move(row["id"], ReplyStatus.FAILED, reason=exc.reason)
                except Ambiguous as exc:
                    await self._move(row["id"], ReplyStatus.UNKNOWN, reason=exc.reason)
                except Exception as exc:  # a sender bug: it may have sent, so never resend
                    log.exception("reply %s: sender %s failed", row["id"], row["sender"])
                    await self._move(
                        row["id"], ReplyStatus.UNKNOWN, reason=f"unexpected {type(exc).__name__}"
                    )
                else:
                    await self._move(row["id"], ReplyStatus.SENT, provider_id=sent.provider_id)
                return
            except StoreError as exc:
                log.error("reply %s: could not record its status: %s", row["id"], exc)
                return  # left pending or sending: the next start settles it

    async def recover(self) -> int:
        """Settle the replies a stopped server left behind; how many it found."""
        rows = await self.runtime.store.replies.unfinished()
        for found in rows:
            if found.status == ReplyStatus.SENDING.value:
                await self._move(
                    found.id,
                    ReplyStatus.UNKNOWN,
                    reason="the server stopped while sending it: check before sending again",
                )
            else:
                row = {column.key: getattr(found, column.key) for column in COLUMNS}
                self.start(row)
        return len(rows)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sender in self.senders.values():
            await sender.close()
