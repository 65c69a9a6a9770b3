"""Is an email's From address proven? The receiving relay's verdict (RFC 8601
Authentication-Results), where there is one.

centralino does not check DKIM signatures itself: the relay in front of it (the MX, or the
inbound-parse provider) does, and records the result in an Authentication-Results header.
A sender can write such a header too, so only the relay's own counts: the ones whose
authserv-id is configured (``CENTRALINO_EMAIL_AUTHSERV_IDS``), else the topmost one (the
last added, by the nearest relay).

- DMARC pass, or DKIM pass for the From domain (or a parent of it): proven.
- DMARC fail, or a verdict without either of those: not proven; the email gets a fresh,
  unverified customer (it is still routed, and an agent sees the address as a claim).
- No Authentication-Results at all: no verdict; the sender is taken as given (as before:
  run the SMTP listener behind a relay that checks, or on a private address).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

RESULT = re.compile(r"\b(dkim|dmarc)\s*=\s*([a-z]+)([^;]*)", re.IGNORECASE)
DOMAIN = re.compile(r"\bheader\.(?:d|i|from)\s*=\s*@?([^\s;()]+)", re.IGNORECASE)


def parse_authserv_ids(spec: str) -> frozenset[str]:
    return frozenset(item.strip().lower() for item in spec.split(",") if item.strip())


def _authserv_id(header: str) -> str:
    return header.split(";", 1)[0].strip().split()[0].lower() if header.strip() else ""


def _aligned(domain: str, sender_domain: str) -> bool:
    domain = domain.lower().rstrip(".").split("@")[-1]
    return sender_domain == domain or sender_domain.endswith("." + domain)


def verdict(
    headers: Iterable[str], sender: str, trusted: frozenset[str] = frozenset()
) -> bool | None:
    """True: the sender is proven; False: a relay judged and did not prove it; None: no
    verdict from a relay we listen to."""
    values = [str(header) for header in headers]
    chosen = [v for v in values if _authserv_id(v) in trusted] if trusted else values[:1]
    if not chosen:
        return None
    sender_domain = sender.rpartition("@")[2].lower()
    dkim_pass = False
    for header in chosen:
        for method, result, rest in RESULT.findall(header.split(";", 1)[-1]):
            method, result = method.lower(), result.lower()
            if method == "dmarc":
                if result == "pass":
                    return True
                if result == "fail":
                    return False
            elif result == "pass":
                domains = DOMAIN.findall(rest)
                dkim_pass = dkim_pass or any(_aligned(d, sender_domain) for d in domains)
    return dkim_pass
