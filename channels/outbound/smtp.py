"""Email replies through an SMTP relay (aiosmtplib), threaded with the customer's mail.

The reply keeps the customer's subject ("Re: " added once), carries In-Reply-To (the
customer's last Message-ID) and References (the thread so far), and a Message-ID made from
the outbox key, stable across any resend, so the customer's own reply finds the contact.

Errors by stage: before DATA nothing was sent (a 4xx or a lost connection is Retryable, a
5xx Permanent); once DATA is under way a lost connection or a timeout is Ambiguous, while
the relay's own answer (4xx / 5xx) to the data still says for certain.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from channels.outbound.base import (
    Ambiguous,
    DeliveryError,
    Outbound,
    Permanent,
    Retryable,
    Sender,
    Sent,
    register_sender,
)

_REPLY_PREFIX = re.compile(r"^\s*(re|r|aw|sv|antw)\s*:", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        return "Re: your message"
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


def message_id(key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "centralino.local"
    return f"<reply-{key}@{domain}>"


def _by_code(code: int, text: str) -> DeliveryError:
    reason = f"SMTP {code}: {text}"
    return Retryable(reason, str(code)) if 400 <= code < 500 else Permanent(reason, str(code))


@register_sender
class SmtpSender(Sender):
    name = "smtp"
    platforms = frozenset({"email"})

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender  # "Support <support@example.com>"
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def build(self, message: Outbound) -> EmailMessage:
        mail = EmailMessage()
        name, address = parseaddr(self.sender)
        mail["From"] = formataddr((name, address))
        mail["To"] = message.to
        mail["Subject"] = reply_subject(message.subject)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message.message_id or message_id(message.key, self.sender)
        if message.in_reply_to:
            mail["In-Reply-To"] = message.in_reply_to
        references = list(dict.fromkeys((*message.references, message.in_reply_to)))
        references = [ref for ref in references if ref]
        if references:
            mail["References"] = " ".join(references[-20:])
        mail["Auto-Submitted"] = "no"  # written by a person, not an autoresponder
        mail.set_content(message.text)
        return mail

    async def send(self, message: Outbound) -> Sent:
        mail = self.build(message)
        envelope_from = parseaddr(self.sender)[1]
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            start_tls=self.starttls,
            username=self.username or None,
            password=self.password or None,
        )
        try:
            await self._handshake(client, envelope_from, message.to)
            try:
                await client.data(mail.as_bytes())
            except aiosmtplib.SMTPResponseException as exc:  # the relay's own answer
                raise _by_code(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise Ambiguous(
                    f"the relay did not confirm the message ({type(exc).__name__})"
                ) from exc
        finally:
            await _abandon(client)
        return Sent(str(mail["Message-ID"]))

    @staticmethod
    async def _handshake(client: aiosmtplib.SMTP, envelope_from: str, to: str) -> None:
        """Connect, MAIL FROM, RCPT TO: nothing is sent yet, whatever fails."""
        try:
            await client.connect()
            await client.mail(envelope_from)
            await client.rcpt(to)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise Permanent(f"the relay refused our login: SMTP {exc.code}", str(exc.code)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Retryable(f"could not reach the mail relay: {type(exc).__name__}") from exc


async def _abandon(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
