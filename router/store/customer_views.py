"""How a customer's contacts read to people: dated history lines with outcomes in words,
the open case, merges. The offer (through Store.customer_history) and the customer 360
show the same lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from router.states import FINISHED_STATES
from router.store.schema import ContactRow, MergeRow

HISTORY_LIMIT = 50
FINISHED = [state.value for state in FINISHED_STATES]

OUTCOME_LABELS = {
    "wrap_up_timeout": "closed automatically: no wrap-up in time",
}
STATE_LABELS = {
    "queued": "waiting",
    "offered": "being offered",
    "assigned": "in progress",
    "wrap_up": "in wrap-up",
    "abandoned": "customer left before an answer",
}


def outcome_label(state: str, outcome: str | None) -> str:
    """What an agent reads in a history line: never a raw code."""
    if outcome:
        return OUTCOME_LABELS.get(outcome, outcome)
    return STATE_LABELS.get(state, state)


class HistoryLine(Protocol):
    """What a history line reads of a contact: its row, or a row of its columns."""

    id: str
    arrival: float
    channel: str
    subject: str
    queue: str
    agent_id: str | None
    state: str
    outcome: str | None
    resolved: bool | None


def history_entry(row: HistoryLine, csat: int | None) -> dict[str, Any]:
    """One dated line of a customer's history (the desktop and the 360 show the same)."""
    return {
        "contact_id": row.id,
        "at": row.arrival,
        "arrival": row.arrival,
        "channel": row.channel,
        "subject": row.subject[:120],
        "queue": row.queue,
        "agent_id": row.agent_id,
        "state": row.state,
        "outcome": row.outcome,
        "outcome_label": outcome_label(row.state, row.outcome),
        "resolved": row.resolved,
        "csat": csat,
    }


def open_case_of(rows: Sequence[ContactRow]) -> dict[str, Any] | None:
    """The customer's open case (rows newest first): a live contact, else the latest
    handled contact if it ended unresolved."""
    for row in rows:
        if row.state not in FINISHED:
            return {
                "contact_id": row.id,
                "queue": row.queue,
                "agent_id": row.agent_id,
                "since": row.arrival,
                "state": row.state,
                "subject": row.subject[:120],
            }
    for row in rows:
        if row.agent_id is None or row.resolved is None:
            continue
        if row.resolved:
            return None
        return {
            "contact_id": row.id,
            "queue": row.queue,
            "agent_id": row.agent_id,
            "since": row.arrival,
            "state": row.state,
            "subject": row.subject[:120],
        }
    return None


def merge_view(row: MergeRow) -> dict[str, Any]:
    return {
        "merge_id": row.id,
        "primary_id": row.primary_id,
        "merged_id": row.merged_id,
        "at": row.at,
        "by": row.by,
        "identities": [f"{kind}:{value}" for kind, value in row.identities],
        "contacts": len(row.contacts),
        "undone_at": row.undone_at,
        "undone_by": row.undone_by,
    }
