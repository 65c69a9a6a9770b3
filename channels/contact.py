"""The normalized inbound contact: what every channel adapter (and the generic HTTP intake)
produces from its wire format, before triage and routing.

Nothing here knows about agents or queues; router/intake.py takes it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skills.identity import (
    Identity,
    InvalidIdentity,
    email_identity,
    handle_identity,
    phone_identity,
)
from skills.vocabulary import Channel


class IntakeError(ValueError):
    """Input that cannot be taken (e.g. an invalid phone number); safe to show."""


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """Who the customer says they are. ``verified=False``: nothing here was proven (a web
    chat without the site's signature, an email failing DKIM/DMARC): the contact gets a
    customer of its own (keyed by ``id``, scoped as ``unverified:<gateway>``), never an
    existing customer's, and the claimed email and phone are only shown to the agent."""

    id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None
    handles: dict[str, str] = field(default_factory=dict)  # platform -> user id
    verified: bool = True

    def identities(self, gateway: str, region: str) -> list[Identity]:
        """Normalized identities; raises IntakeError naming the bad one."""
        if not self.verified:
            return [Identity(f"unverified:{gateway}", self.id)] if self.id else []
        return self.claimed_identities(gateway, region)

    def claimed_identities(self, gateway: str, region: str) -> list[Identity]:
        """The identities this reference names, proven or not (an agent links an unverified
        customer to them after checking)."""
        found: list[Identity] = []
        try:
            if self.email:
                found.append(email_identity(self.email))
            if self.phone:
                found.append(phone_identity(self.phone, region))
            for platform, user_id in sorted(self.handles.items()):
                found.append(handle_identity(platform, user_id))
        except InvalidIdentity as exc:
            raise IntakeError(f"customer: {exc}") from exc
        if self.id:
            found.append(Identity(f"gateway:{gateway}", self.id))
        return sorted(set(found))

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "handles": self.handles,
        }
        if not self.verified:
            shown["verified"] = False
        return shown


@dataclass(frozen=True, slots=True)
class InboundContact:
    gateway: str
    external_id: str
    channel: Channel
    customer: CustomerRef = CustomerRef()
    language: str | None = None
    language_hint: str | None = None  # a browser locale: breaks a tie, never overrides the text
    intent: str | None = None
    subject: str = ""
    text: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    urgency: float | None = None  # a gateway's own urgency score, 0..1
    sentiment: float | None = None  # or its sentiment, -1 (upset) .. +1 (happy)
    customer_id: str | None = None  # already known (a follow-up): no identity lookup
