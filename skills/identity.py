"""Customer identities, normalized so one person is recognized across channels.

Email addresses are lower-cased; phone numbers become E.164 (phonenumbers, with the
config's default region for national numbers); social handles are platform + user id.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidIdentity(ValueError):
    """An address or number that cannot identify anyone; the message says why."""


@dataclass(frozen=True, slots=True, order=True)
class Identity:
    kind: str  # email | phone | <platform> (whatsapp, instagram...) | gateway:<name>
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def email_identity(raw: str) -> Identity:
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity(f"email {raw!r}: {exc}") from exc
    return Identity("email", checked.normalized.lower())


def phone_identity(raw: str, region: str = "IT") -> Identity:
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"phone {raw!r}: {exc}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentity(f"phone {raw!r}: not a possible number")
    return Identity(
        "phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    )


def handle_identity(platform: str, user_id: str) -> Identity:
    platform = platform.strip().lower()
    user_id = user_id.strip()
    if not platform or not user_id:
        raise InvalidIdentity("a social handle needs a platform and a user id")
    if platform == "whatsapp":  # WhatsApp ids are phone numbers
        return Identity("phone", phone_identity("+" + user_id.lstrip("+")).value)
    return Identity(platform, user_id)


PHONE_SCAN_CHARS = 4_000  # the end of a message: where signatures are
PHONE_SCAN_TRIES = 20  # candidates looked at, at most: bounded time (~0.3 ms) on any text


def phones_in_text(text: str, region: str = "IT", limit: int = 5) -> list[tuple[Identity, str]]:
    """Phone numbers written in a message or its signature (phonenumbers' matcher, valid
    numbers only, in the last 4,000 characters), as (identity, the text as written); at
    most ``limit``, first seen first. They are proposals for an agent to confirm, never
    linked on their own."""
    found: dict[Identity, str] = {}
    matcher = phonenumbers.PhoneNumberMatcher(
        text[-PHONE_SCAN_CHARS:],
        region.upper(),
        leniency=phonenumbers.Leniency.VALID,
        max_tries=PHONE_SCAN_TRIES,
    )
    for match in matcher:
        identity = Identity(
            "phone", phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        )
        found.setdefault(identity, match.raw_string)
        if len(found) >= limit:
            break
    return list(found.items())
