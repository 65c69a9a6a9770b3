"""Email: MIME parsing, the inbound-parse webhook and a real SMTP session over loopback."""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.base import BadPayload
from channels.email import html_to_text, parse_mime, strip_quoted
from tests.live import REPO, ThreadServer, admin_headers, count_rows, free_port, online_desktop
from tests.receivers import until

TOKEN = "email-webhook-token"
SERVER_CONFIG = (REPO / "config.yaml").read_text()


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {"email_webhook_token": TOKEN, "smtp_port": free_port()}


def mail(
    message_id: str,
    text: str,
    *,
    subject: str = "Bolletta di ottobre",
    sender: str = "Mario Rossi <Mario.Rossi@Example.it>",
    in_reply_to: str | None = None,
    html: str | None = None,
    attachment: bytes | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "assistenza@acme.it"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="bolletta.pdf"
        )
    return message


def smtp_port(server: ThreadServer) -> int:
    return int(server.app.state.settings.smtp_port)


async def send(server: ThreadServer, message: EmailMessage) -> None:
    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", smtp_port(server), timeout=10) as smtp:
            smtp.send_message(message)

    await asyncio.to_thread(deliver)


REPLY = """Ok, allego la bolletta. Mi rispondete oggi?

Il giorno 20 nov 2026, alle ore 10:00, Assistenza <assistenza@acme.it> ha scritto:
> Gentile cliente, può inviarci la bolletta?
> Grazie
"""


def test_quoted_reply_and_signature_are_stripped() -> None:
    assert strip_quoted(REPLY) == "Ok, allego la bolletta. Mi rispondete oggi?"
    english = "Thanks, that works.\n\nOn Mon, 20 Nov 2026 at 10:00, Support wrote:\n> hi"
    assert strip_quoted(english) == "Thanks, that works."
    assert strip_quoted("Va bene\n\nInviato da iPhone") == "Va bene"


def test_html_becomes_text_without_quoted_history() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><p>Buongiorno,</p>"
        "<p>il modem &egrave; guasto.</p><blockquote>vecchio messaggio</blockquote></body>"
    )
    assert html_to_text(html) == "Buongiorno,\nil modem è guasto."


def test_parse_mime_reads_sender_threading_and_attachments() -> None:
    parsed = parse_mime(
        mail(
            "<r2@example.it>", REPLY, in_reply_to="<q1@acme.it>", attachment=b"%PDF-1.4 fake"
        ).as_bytes()
    )
    assert parsed.sender == "mario.rossi@example.it" and parsed.sender_name == "Mario Rossi"
    assert parsed.message_id == "<r2@example.it>" and parsed.in_reply_to == ("<q1@acme.it>",)
    assert parsed.text == "Ok, allego la bolletta. Mi rispondete oggi?"
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("bolletta.pdf", "application/pdf", 13)
    ]
    event = parsed.event()
    assert event.thread_keys == ("<r2@example.it>",) and event.reply_keys == ("<q1@acme.it>",)
    assert event.contact.attributes["attachment_names"] == "bolletta.pdf"


def test_parse_mime_refuses_what_is_not_a_customer_email() -> None:
    with pytest.raises(BadPayload):
        parse_mime(b"")
    with pytest.raises(BadPayload):
        parse_mime(b"Subject: no sender\r\n\r\nhello")


async def test_smtp_message_is_stored_and_routed(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await send(
        server, mail("<m1@example.it>", "La bolletta di ottobre è sbagliata", attachment=b"%PDF")
    )
    database = tmp_path / "centralino.db"
    assert count_rows(database, "contacts", "channel = 'email'") == 1  # stored before the 250
    assert count_rows(database, "identities", "value = 'mario.rossi@example.it'") == 1
    routed = "channel = 'email' and queue = 'billing'"  # the plan is written after it
    await until(lambda: count_rows(database, "contacts", routed) == 1, what="routed to billing")
    await send(server, mail("<m1@example.it>", "La bolletta di ottobre è sbagliata"))
    assert count_rows(database, "contacts") == 1  # redelivery of the same Message-ID


async def test_smtp_refuses_a_message_without_sender(server: ThreadServer, tmp_path: Path) -> None:
    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", smtp_port(server), timeout=10) as smtp:
            smtp.sendmail(
                "bounce@example.it",
                ["assistenza@acme.it"],
                b"Subject: hi\r\nMessage-ID: <x@y>\r\n\r\nno From header",
            )

    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(deliver)
    assert refused.value.smtp_code == 550
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


async def test_smtp_asks_the_sender_to_retry_when_the_store_cannot_be_read(
    server: ThreadServer, tmp_path: Path
) -> None:
    """The contacts' table is gone from under the server: the message gets 451 (the
    sending server retries later) where a driver error gave a permanent 5xx, which makes
    the sender bounce the customer's email; once the store reads again, it is stored."""
    database = tmp_path / "centralino.db"
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE contacts RENAME TO contacts_gone")
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        await send(server, mail("<m9@example.it>", "La bolletta di ottobre è sbagliata"))
    assert deferred.value.smtp_code == 451
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE contacts_gone RENAME TO contacts")
    await send(server, mail("<m9@example.it>", "La bolletta di ottobre è sbagliata"))
    assert count_rows(database, "contacts", "channel = 'email'") == 1


async def test_an_email_whose_thread_cannot_be_stored_is_retried_whole(
    server: ThreadServer, tmp_path: Path
) -> None:
    """The store refuses the email's Message-ID as a thread key: 451 and nothing stored,
    where before the contact was stored without its thread, so the sender's retry was a
    duplicate and the customer's reply to it became a second contact."""
    database = tmp_path / "centralino.db"
    with sqlite3.connect(database) as db:
        db.execute(
            "CREATE TRIGGER refuse_threads BEFORE INSERT ON threads "
            "BEGIN SELECT RAISE(ABORT, 'threads refused'); END"
        )
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        await send(server, mail("<t8@example.it>", "La fattura di ottobre non torna"))
    assert deferred.value.smtp_code == 451
    assert count_rows(database, "contacts") == 0
    with sqlite3.connect(database) as db:
        db.execute("DROP TRIGGER refuse_threads")
    await send(server, mail("<t8@example.it>", "La fattura di ottobre non torna"))
    await send(server, mail("<t9@example.it>", REPLY, in_reply_to="<t8@example.it>"))
    assert count_rows(database, "contacts") == 1  # the reply found the thread
    assert count_rows(database, "messages", "text like 'Ok, allego%'") == 1


async def test_reply_lands_on_the_live_contact_then_on_the_same_agent(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    database = tmp_path / "centralino.db"
    await send(server, mail("<t1@example.it>", "La fattura di ottobre non torna"))
    await send(server, mail("<t2@example.it>", REPLY, in_reply_to="<t1@example.it>"))
    assert count_rows(database, "contacts") == 1
    assert count_rows(database, "messages", "text like 'Ok, allego%' and text not like '%>%'") == 1
    other = await online_desktop(server, client, "other", skills={"billing": 5}, languages=["it"])
    offer = await other.next_event("offer")
    await other.request("accept", offer_id=offer["offer_id"])
    anna = await online_desktop(server, client, "anna", skills={"billing": 5}, languages=["it"])
    # "other" handles it and finishes; the customer's later reply comes back to "other"
    # even though "anna" has been idle longer by now
    await other.request(
        "wrap_up", contact_id=offer["contact"]["contact_id"], outcome="risposto", resolved=True
    )
    await asyncio.sleep(0.05)
    await send(
        server,
        mail(
            "<t3@example.it>",
            "Grazie, un'ultima domanda sulla stessa fattura",
            in_reply_to="<t2@example.it>",
        ),
    )
    follow = await other.next_event("offer")
    assert follow["contact"]["contact_id"] != offer["contact"]["contact_id"]
    assert follow["explanation"]["preferred"] == {"agent": "other", "result": "offered"}
    assert anna.events == []
    for desk in (other, anna):
        await desk.close()


async def test_webhook_multipart_with_attachment(client: httpx.AsyncClient, tmp_path: Path) -> None:
    form = {
        "from": "Anna Bianchi <anna@example.it>",
        "to": "assistenza@acme.it",
        "subject": "Carta rubata",
        "text": "Mi hanno rubato la carta ieri sera",
        "headers": "Message-ID: <w1@example.it>\nSubject: Carta rubata\n",
    }
    files = {"attachment1": ("denuncia.jpg", b"\xff\xd8\xff fake jpeg", "image/jpeg")}
    reply = await client.post(f"/v1/channels/email/webhook?token={TOKEN}", data=form, files=files)
    assert reply.status_code == 200, reply.text
    waiting = (await client.get("/v1/queues/cards/contacts", headers=admin_headers())).json()
    assert len(waiting) == 1 and waiting[0]["rule"] == "lost-or-stolen-card"
    raw = mail("<w2@example.it>", "Una domanda sulla bolletta").as_string()
    by_raw = await client.post(
        "/v1/channels/email/webhook",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"email": raw},
    )
    assert by_raw.status_code == 200
    assert count_rows(tmp_path / "centralino.db", "contacts") == 2


async def test_webhook_refuses_bad_token_and_malformed_form(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    form = {"from": "anna@example.it", "text": "ciao"}
    assert (await client.post("/v1/channels/email/webhook", data=form)).status_code == 401
    wrong = await client.post("/v1/channels/email/webhook?token=nope", data=form)
    assert wrong.status_code == 403
    missing = await client.post(
        f"/v1/channels/email/webhook?token={TOKEN}", data={"text": "no sender"}
    )
    assert missing.status_code == 422 and "from" in missing.json()["detail"]
    not_an_address = await client.post(
        f"/v1/channels/email/webhook?token={TOKEN}", data={"from": "nobody"}
    )
    assert not_an_address.status_code == 422
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0
