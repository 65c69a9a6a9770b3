"""Email identity follows the receiving relay's DKIM/DMARC verdict (Authentication-Results)."""

from __future__ import annotations

import pytest

from channels.email import parse_mime
from channels.email_auth import parse_authserv_ids, verdict

SENDER = "vera@example.com"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("mx.acme.it; dmarc=pass (p=reject) header.from=example.com", True),
        ("mx.acme.it; dkim=pass header.d=example.com header.s=s1; spf=pass", True),
        ("mx.acme.it; dkim=pass header.d=mail.example.com", False),  # not the From domain
        ("mx.acme.it; dkim=pass header.i=@example.com", True),
        ("mx.acme.it; dkim=pass header.d=evil.example; dmarc=fail header.from=example.com", False),
        ("mx.acme.it; dkim=fail header.d=example.com; spf=pass", False),
        ("mx.acme.it; spf=pass smtp.mailfrom=example.com", False),  # SPF alone proves no From
        ("mx.acme.it; none", False),
    ],
)
def test_the_topmost_verdict(header: str, expected: bool) -> None:
    assert verdict([header], SENDER) is expected


def test_no_header_is_no_verdict() -> None:
    assert verdict([], SENDER) is None


def test_only_the_configured_relays_count() -> None:
    forged = "mx.acme.it.evil; dmarc=pass header.from=example.com"  # written by the sender
    ours = "mx.acme.it; dmarc=fail header.from=example.com"
    trusted = parse_authserv_ids("MX.acme.it, mx2.acme.it")
    assert verdict([forged, ours], SENDER, trusted) is False
    assert verdict([forged], SENDER, trusted) is None


def mime(auth: str | None) -> bytes:
    header = f"Authentication-Results: {auth}\r\n" if auth else ""
    return (
        f"{header}From: Vera <{SENDER}>\r\nTo: help@acme.it\r\nMessage-ID: <m1@example.com>\r\n"
        "Subject: carta\r\n\r\nmi hanno rubato la carta\r\n"
    ).encode()


def test_a_failed_verdict_makes_an_unverified_customer() -> None:
    failed = parse_mime(mime("mx.acme.it; dmarc=fail header.from=example.com")).event()
    customer = failed.contact.customer
    assert customer.verified is False and customer.email == SENDER
    assert [str(i) for i in customer.identities("email", "IT")] == [
        "unverified:email:<m1@example.com>"
    ]
    passed = parse_mime(mime("mx.acme.it; dmarc=pass header.from=example.com")).event()
    assert passed.contact.customer.verified is True
    assert [str(i) for i in passed.contact.customer.identities("email", "IT")] == [
        "email:vera@example.com"
    ]
    assert parse_mime(mime(None)).event().contact.customer.verified is True


def test_nul_characters_are_dropped_from_an_email() -> None:
    """PostgreSQL refuses NUL in text: an email carrying one must still be taken."""
    raw = mime(None).replace(b"mi hanno", b"mi\x00 hanno").replace(b"Vera <", b"Ve\x00ra <")
    contact = parse_mime(raw).event().contact
    assert "\x00" not in contact.text and "mi hanno" in contact.text
    assert "\x00" not in contact.customer.name
