"""A transfer's note for whoever takes the contact next (``{"type": "transfer", ...,
"note": "..."}``): it rides with the contact's offer context as ``transfer_note`` and is kept
among the contact's messages (kind ``transfer_note``)."""

from __future__ import annotations

from typing import Any

from api.desktop.protocol import Transfer, ack
from router.decisions import Decisions, EngineError
from router.runtime import RouterRuntime


def transfer_with_note(
    runtime: RouterRuntime, agent_id: str, message: Transfer, call: Any
) -> dict[str, Any]:
    """A transfer whose note rides with the contact's offer context (set before the engine
    re-offers it, taken back if the transfer is refused); ``perform`` also keeps it among the
    contact's messages."""
    context = runtime.contexts.get(message.contact_id)
    previous = context.get("transfer_note") if context is not None else None
    if context is not None:
        agent = runtime.engine.agents.get(agent_id)
        context["transfer_note"] = {
            "from": agent_id,
            "name": (agent.profile.name if agent is not None else "") or agent_id,
            "note": message.note,
        }
    try:
        decisions: Decisions = runtime.submit(call)
    except EngineError:
        if context is not None:
            context["transfer_note"] = previous
        raise
    return ack(message.ref, message.type, decisions=len(decisions))
