"""What intake knows of a contact beyond the engine: the facts rule conditions see, the
customer's open case, the profile shown with an offer and the phone numbers to confirm.
Pure functions of the contact, its triage and the customer's history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.contact import InboundContact
from router.store.histories import CustomerHistory
from skills.identity import Identity, phones_in_text
from skills.triage import TriageResult
from skills.vocabulary import Channel


@dataclass(frozen=True, slots=True)
class OpenCase:
    """The customer's most recent handled contact, unresolved, within the repeat window."""

    queue: str
    agent_id: str


def open_case(history: CustomerHistory, since: float) -> OpenCase | None:
    for handled in history.handled:  # newest first
        if handled.arrival < since:
            return None
        if handled.resolved is False:
            return OpenCase(handled.queue, handled.agent_id)
        if handled.resolved is True:
            return None  # the latest finished case was resolved
    return None


def rule_facts(
    inbound: InboundContact,
    triage: TriageResult,
    customer_id: str | None,
    history: CustomerHistory,
    case: OpenCase | None,
) -> dict[str, Any]:
    """The CEL context of rule conditions (documented in docs/rules.md)."""
    return {
        "contact": {
            "channel": inbound.channel.value,
            "language": triage.language or "",
            "intent": triage.intent or "",
            "moment_of_truth": triage.moment_of_truth,
            "emotion": triage.emotion.label,
            "subject": inbound.subject,
            "text": inbound.text,
            "attributes": inbound.attributes,
            "urgency": float(triage.urgency),
            "customer_id": customer_id or "",
            "gateway": inbound.gateway,
        },
        "customer": {
            **history.facts(),
            "open_case": case is not None,
            "open_case_queue": case.queue if case else "",
        },
    }


def customer_profile(
    customer_id: str | None,
    inbound: InboundContact,
    identities: list[Identity],
    history: CustomerHistory,
) -> dict[str, Any] | None:
    """Who the offer is about, from the customer directory: the name on file and every
    identity of the customer, not only the one this channel brought."""
    if customer_id is None:
        return None
    known = history.identities or [str(identity) for identity in identities]
    return {
        "customer_id": customer_id,
        "name": history.name or inbound.customer.name,
        "identities": [value for value in known if not value.startswith("unverified:")],
        "verified": inbound.customer.verified,
    }


def proposed_phones(
    inbound: InboundContact, profile: dict[str, Any] | None, region: str
) -> list[dict[str, str]]:
    """Phone numbers in the text or signature that are not on file: for the agent to
    confirm (POST /v1/contacts/{id}/customer/identities), never linked silently."""
    if profile is None or not inbound.customer.verified or inbound.channel is Channel.VOICE:
        return []
    on_file = set(profile["identities"])
    return [
        {"identity": str(identity), "kind": identity.kind, "value": identity.value, "found": raw}
        for identity, raw in phones_in_text(f"{inbound.subject}\n{inbound.text}", region)
        if str(identity) not in on_file
    ]
