"""Email: a real SMTP listener (aiosmtpd) and an inbound-parse webhook, one MIME parser.

The text is the plain part (else the HTML made text), with quoted replies stripped so the
agent sees what is new. Attachments are noted (name, type, size), not kept. Threading:
the Message-ID opens a thread; a reply (In-Reply-To / References) lands on the same contact
while it is live, and after that becomes a new contact offered first to the same agent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from channels import strict_json
from channels.base import (
    Attachment,
    BadPayload,
    ChannelAdapter,
    Forbidden,
    Inbound,
    InboundEvent,
    RawRequest,
    Unauthorized,
    register,
    same,
)
from channels.contact import CustomerRef, InboundContact
from channels.email_auth import parse_authserv_ids, verdict
from skills.vocabulary import Channel

MAX_TEXT = 20000
GATEWAY = "email"

_QUOTE_HEADERS = re.compile(
    r"^\s*("
    r"on .{3,200} wrote:|il giorno .{3,200} ha scritto:|il .{3,200} ha scritto:|"
    r"-{2,}\s*(original message|messaggio originale|forwarded message|messaggio inoltrato)"
    r"\s*-{2,}|(from|da|sent|inviato|date|data):\s.+\n\s*(to|a|sent|inviato|subject|oggetto):"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(
    r"^\s*(sent from my \w+|inviato da .{0,40}(iphone|android|smartphone))",
    re.IGNORECASE | re.MULTILINE,
)


class _TextOfHtml(HTMLParser):
    SKIP = frozenset({"script", "style", "head", "title"})
    BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        if tag == "blockquote":
            self._quote += 1
        if tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1
        if tag == "blockquote" and self._quote:
            self._quote -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and not self._quote:  # quoted history lives in <blockquote>
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t\r\f\v]+", " ", text)).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: cut at the quoted message's header, drop "> " lines."""
    cut = _QUOTE_HEADERS.search(text)
    if cut is not None and cut.start() > 0:
        text = text[: cut.start()]
    signature = _SIGNATURE.search(text)
    if signature is not None and signature.start() > 0:
        text = text[: signature.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    message_id: str
    sender: str
    sender_name: str
    subject: str
    text: str
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    language: str | None = None
    recipients: tuple[str, ...] = field(default=())
    authenticated: bool | None = None  # the relay's DKIM/DMARC verdict (email_auth.py)

    def event(self, gateway: str = GATEWAY) -> Inbound:
        attributes: dict[str, Any] = {"attachments": len(self.attachments)}
        if self.attachments:
            attributes["attachment_names"] = ", ".join(a.filename for a in self.attachments)[:500]
            attributes["attachment_list"] = [
                {**a.as_dict(), "filename": a.filename[:200]} for a in self.attachments[:20]
            ]
        if self.recipients:
            attributes["to"] = ", ".join(self.recipients)[:200]
        contact = InboundContact(
            gateway=gateway,
            external_id=self.message_id,
            channel=Channel.EMAIL,
            customer=self.customer(),
            language=self.language,
            subject=self.subject[:500].replace("\x00", ""),  # PostgreSQL refuses NUL in text
            text=self.text[:MAX_TEXT].replace("\x00", ""),
            attributes=attributes,
        )
        replies = tuple(dict.fromkeys((*self.in_reply_to, *reversed(self.references))))
        return Inbound(contact, thread_keys=(self.message_id,), reply_keys=replies)

    def customer(self) -> CustomerRef:
        """The sender; when a relay's verdict did not prove the From address, a fresh
        unverified customer that only claims it."""
        if self.authenticated is False:
            return CustomerRef(
                id=self.message_id[:200],
                name=self.sender_name[:200].replace("\x00", ""),
                email=self.sender,
                verified=False,
            )
        return CustomerRef(name=self.sender_name[:200].replace("\x00", ""), email=self.sender)


def _sender(value: str) -> tuple[str, str]:
    name, address = parseaddr(value or "")
    if "@" not in address:
        raise BadPayload(f"no sender address in From: {value!r}")
    return address.lower(), name


def _message_id(explicit: str | None, *parts: str) -> str:
    found = _ids(explicit)
    if found:
        return found[0]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"<{digest}@no-message-id.centralino>"  # stable, so a redelivery is recognized


def parse_mime(raw: bytes, trusted: frozenset[str] = frozenset()) -> ParsedEmail:
    """Parse a whole RFC 5322 message. Raises BadPayload for what cannot be a customer email.
    ``trusted``: the authserv-ids whose Authentication-Results count (email_auth.py)."""
    if not raw.strip():
        raise BadPayload("empty message")
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    try:
        sender, name = _sender(str(message.get("From", "")))
        subject = str(message.get("Subject", ""))
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        if plain is not None:
            text = strip_quoted(plain.get_content())
        elif html is not None:
            text = strip_quoted(html_to_text(html.get_content()))
        else:
            text = ""
        attachments = tuple(
            Attachment(
                part.get_filename() or "unnamed",
                part.get_content_type(),
                len(part.get_payload(decode=True) or b""),
            )
            for part in message.iter_attachments()
        )
    except (LookupError, ValueError, TypeError, AttributeError) as exc:  # broken MIME parts
        raise BadPayload(f"unreadable email: {exc}") from exc
    return _assemble(message, sender, name, subject, text, attachments, trusted)


def _assemble(
    headers: Message,
    sender: str,
    name: str,
    subject: str,
    text: str,
    attachments: tuple[Attachment, ...],
    trusted: frozenset[str] = frozenset(),
) -> ParsedEmail:
    """A ParsedEmail from the message's headers (ids, threading, recipients, language)."""
    language = str(headers.get("Content-Language", "")).split(",")[0].strip()[:2].lower()
    return ParsedEmail(
        message_id=_message_id(headers.get("Message-ID"), sender, subject, text),
        sender=sender,
        sender_name=name,
        subject=subject,
        text=text,
        in_reply_to=tuple(_ids(headers.get("In-Reply-To"))),
        references=tuple(_ids(headers.get("References"))),
        attachments=attachments,
        language=language if language.isalpha() else None,
        recipients=tuple(a.lower() for _, a in getaddresses([str(headers.get("To", ""))]) if a),
        authenticated=verdict(headers.get_all("Authentication-Results") or [], sender, trusted),
    )


@register
class EmailWebhook(ChannelAdapter):
    """Inbound-parse webhook as email providers post it: multipart form with from, to,
    subject, text, html, headers, attachment files (or the whole message as ``email``).
    Authenticated with a shared token (``?token=`` or ``Authorization: Bearer``)."""

    name = "email"

    def __init__(self, token: str, gateway: str = GATEWAY, authserv_ids: str = "") -> None:
        self.token = token
        self.gateway = gateway
        self.trusted = parse_authserv_ids(authserv_ids)

    def parse(self, request: RawRequest) -> list[InboundEvent]:
        scheme, _, bearer = (request.header("authorization") or "").partition(" ")
        given = bearer.strip() if scheme.lower() == "bearer" else ""
        given = given or request.query.get("token", "")
        if not given:
            raise Unauthorized("missing token (?token= or Authorization: Bearer)")
        if not same(given, self.token):
            raise Forbidden("wrong token")
        form = request.form
        if form.get("email"):
            return [parse_mime(form["email"].encode(), self.trusted).event(self.gateway)]
        if not form.get("from"):
            raise BadPayload("form needs 'from' (or the raw message in 'email')")
        headers = HeaderParser().parsestr(form.get("headers", ""))
        if form.get("to") and not headers.get("To"):
            headers["To"] = form["to"]
        sender, name = _sender(form["from"])
        text = strip_quoted(form.get("text") or html_to_text(form.get("html", "")))
        attachments = request.files or self._attachment_info(form.get("attachment-info"))
        parsed = _assemble(
            headers, sender, name, form.get("subject", ""), text, attachments, self.trusted
        )
        return [parsed.event(self.gateway)]

    @staticmethod
    def _attachment_info(raw: str | None) -> tuple[Attachment, ...]:
        if not raw:
            return ()
        try:
            info = strict_json.loads(raw)
            return tuple(
                Attachment(str(v.get("filename", k)), str(v.get("type", "")), int(v.get("size", 0)))
                for k, v in info.items()
            )
        except (AttributeError, TypeError, ValueError) as exc:  # UnsafeJson is a ValueError
            raise BadPayload(f"attachment-info is not valid JSON: {exc}") from exc
