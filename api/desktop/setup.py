"""``GET /v1/desktop/setup``: what the desktop offers the agent besides the live stream:
queues (with their canned replies per language) and agents to transfer to, and the wrap-up
outcome codes, all from config.yaml and the roster (so a reload shows at the next load).

For a desktop token (``Authorization: Bearer``), an ops token, or a signed-in session.

``GET /v1/desktop/contacts/{id}/conversation``: the messages of a contact after its first
(customer messages, transcripts, the agents' replies, transfer notes), for the agent who
holds it or has it on offer, or a supervisor: a transferred conversation arrives whole.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from api.base.auth import bearer, is_supervisor
from api.base.sessions import principal_from_cookies
from api.desktop.session import agent_for_token

router = APIRouter(tags=["desktop"])


async def caller(request: Request) -> tuple[str | None, bool]:
    """(agent id, supervisor?) of the caller; 401 if neither."""
    runtime = request.app.state.runtime
    token = bearer(request)
    if token is not None:
        if is_supervisor(token, request.app.state.settings):
            return None, True
        agent_id = await agent_for_token(runtime, token)
    else:
        principal = await principal_from_cookies(request.app, request.cookies)
        if principal is not None and principal.at_least("supervisor"):
            return principal.agent_id, True
        agent_id = principal.agent_id if principal is not None else None
    if agent_id is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in, or send a desktop token")
    return agent_id, False


@router.get("/v1/desktop/contacts/{contact_id}/conversation")
async def conversation(contact_id: str, request: Request) -> list[dict[str, Any]]:
    agent_id, supervisor = await caller(request)
    runtime = request.app.state.runtime
    contact = runtime.engine.contacts.get(contact_id)
    offer = runtime.engine.offers.get(contact.offer_id or "") if contact is not None else None
    offered = offer is not None and agent_id is not None and offer.agent_id == agent_id
    holds = contact is not None and agent_id is not None and contact.agent_id == agent_id
    if not (supervisor or holds or offered):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not a contact you hold or are offered")
    return [
        {"at": row.at, "kind": row.kind, "text": row.text}
        for row in await runtime.store.messages(contact_id)
    ]


@router.get("/v1/desktop/setup")
async def desktop_setup(request: Request) -> dict[str, Any]:
    runtime = request.app.state.runtime
    await caller(request)
    config = runtime.engine.config
    return {
        "languages": list(config.languages),
        "queues": [
            {
                "name": name,
                "description": spec.description,
                "canned_replies": {
                    lang: list(texts) for lang, texts in spec.canned_replies.items()
                },
            }
            for name, spec in config.queues.items()
        ],
        "agents": [
            {"agent_id": agent_id, "name": agent.profile.name or agent_id}
            for agent_id, agent in sorted(runtime.engine.agents.items())
        ],
        "outcomes": [outcome.model_dump() for outcome in config.outcomes],
    }
