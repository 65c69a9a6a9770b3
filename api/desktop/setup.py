"""``GET /v1/desktop/setup``: what the desktop offers the agent besides the live stream:
queues (with their canned replies per language) and agents to transfer to, and the wrap-up
outcome codes, all from config.yaml and the roster (so a reload shows at the next load).

For a desktop token (``Authorization: Bearer``), an ops token, or a signed-in session.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from api.base.auth import bearer, is_supervisor
from api.base.sessions import principal_from_cookies
from api.desktop.session import agent_for_token

router = APIRouter(tags=["desktop"])


@router.get("/v1/desktop/setup")
async def desktop_setup(request: Request) -> dict[str, Any]:
    runtime = request.app.state.runtime
    token = bearer(request)
    if token is not None:
        allowed = is_supervisor(token, request.app.state.settings) or (
            await agent_for_token(runtime, token) is not None
        )
    else:
        allowed = await principal_from_cookies(request.app, request.cookies) is not None
    if not allowed:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in, or send a desktop token")
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
