"""Supervisor actions: force an agent's state, reassign or pull a contact, change its
priority, write to an agent. Every action is kept in the audit log (``GET /v1/ops/actions``)
and, for a contact, in its explain log with the reason given.

Who may act is decided by ``supervisor_actor`` alone (the admin token for now), so that
one function is what changes when people sign in with roles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.base.auth import bearer, require_admin, session_of
from router.decisions import Decisions, EngineError, UnknownAgent, UnknownContact
from router.runtime import RouterRuntime
from router.states import Presence
from router.views import live_agent_view

router = APIRouter(prefix="/v1", tags=["supervisor"])


async def supervisor_actor(request: Request) -> str:
    """Who may take supervisor actions, and the name kept in the audit log: a user signed
    in as supervisor or admin (by name, with the CSRF header), or the admin token ("admin")."""
    if bearer(request) is None and (principal := await session_of(request, "supervisor")):
        return principal.user
    await require_admin(request)
    return "admin"


Actor = Depends(supervisor_actor)


class ForceState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    presence: Literal["available", "away", "offline"]
    code: str = Field("", max_length=40, description="away reason code (agent_states.reasons)")
    reason: str = Field("", max_length=200)


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: str = Field(min_length=1, max_length=64, description="the agent to give it to")
    reason: str = Field(min_length=1, max_length=500)


class Pull(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class NewPriority(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: float = Field(ge=0, le=1000, description="the new rule (base) priority")
    reason: str = Field(min_length=1, max_length=500)


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


def runtime_of(request: Request) -> RouterRuntime:
    runtime: RouterRuntime = request.app.state.runtime
    return runtime


async def decide(runtime: RouterRuntime, call: Callable[[float], Decisions]) -> Decisions:
    """Run one engine call for a supervisor and wait until what it decided is committed."""
    try:
        decisions = runtime.submit(call)
    except (UnknownAgent, UnknownContact) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, exc.message) from None
    except EngineError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, exc.message) from None
    if not await runtime.recorder.reached(runtime.recorder.mark):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the router could not record this decision"
        )
    return decisions


@router.post("/agents/{agent_id}/presence")
async def force_state(
    agent_id: str, body: ForceState, request: Request, actor: str = Actor
) -> dict[str, Any]:
    """Set an agent's presence (and away reason) for them; the desktop is told who did."""
    runtime = runtime_of(request)
    engine = runtime.engine
    presence = Presence(body.presence)
    await decide(
        runtime,
        lambda now: engine.set_presence(
            agent_id, presence, now, body.reason, code=body.code, forced_by=actor
        ),
    )
    await runtime.store.ops.log(
        runtime.clock(),
        actor,
        "force_state",
        agent_id=agent_id,
        reason=body.reason,
        detail={"presence": body.presence, "code": body.code},
    )
    return live_agent_view(engine, engine.agents[agent_id], runtime.clock())


def contact_state(runtime: RouterRuntime, contact_id: str) -> dict[str, Any]:
    live = runtime.engine.contacts.get(contact_id)
    if live is None:
        return {"contact_id": contact_id, "state": "finished"}
    offer = runtime.engine.offers.get(live.offer_id or "")
    return {
        "contact_id": contact_id,
        "state": live.state.value,
        "agent_id": offer.agent_id if offer is not None else live.agent_id,
        "queue": live.policy.queue,
        "base_priority": live.policy.base_priority,
    }


@router.post("/contacts/{contact_id}/reassign")
async def reassign(
    contact_id: str, body: Move, request: Request, actor: str = Actor
) -> dict[str, Any]:
    """Offer a waiting, offered or assigned contact to this agent now (who must be
    available with free capacity); whoever had it is told."""
    runtime = runtime_of(request)
    engine = runtime.engine
    await decide(
        runtime,
        lambda now: engine.reassign(
            contact_id, now, to_agent=body.agent, reason=body.reason, by=actor
        ),
    )
    await runtime.store.ops.log(
        runtime.clock(),
        actor,
        "reassign",
        contact_id=contact_id,
        agent_id=body.agent,
        reason=body.reason,
    )
    return contact_state(runtime, contact_id)


@router.post("/contacts/{contact_id}/pull")
async def pull(contact_id: str, body: Pull, request: Request, actor: str = Actor) -> dict[str, Any]:
    """Take a contact from the agent offered or holding it, back to its queue (original
    arrival kept); that agent is skipped for it for offers.retry_same_agent_after."""
    runtime = runtime_of(request)
    engine = runtime.engine
    await decide(
        runtime,
        lambda now: engine.reassign(contact_id, now, to_agent=None, reason=body.reason, by=actor),
    )
    await runtime.store.ops.log(
        runtime.clock(), actor, "pull", contact_id=contact_id, reason=body.reason
    )
    return contact_state(runtime, contact_id)


@router.post("/contacts/{contact_id}/priority")
async def change_priority(
    contact_id: str, body: NewPriority, request: Request, actor: str = Actor
) -> dict[str, Any]:
    """Replace a waiting contact's rule priority, with the reason (in its explain log)."""
    runtime = runtime_of(request)
    engine = runtime.engine
    await decide(
        runtime,
        lambda now: engine.set_priority(
            contact_id, body.priority, now, reason=body.reason, by=actor
        ),
    )
    await runtime.store.ops.log(
        runtime.clock(),
        actor,
        "priority",
        contact_id=contact_id,
        reason=body.reason,
        detail={"priority": body.priority},
    )
    return contact_state(runtime, contact_id)


@router.post("/agents/{agent_id}/message")
async def message_agent(
    agent_id: str, body: AgentMessage, request: Request, actor: str = Actor
) -> dict[str, Any]:
    """Write to an agent's desktop (a ``supervisor_message`` event on its stream)."""
    runtime = runtime_of(request)
    if agent_id not in runtime.engine.agents:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id!r}")
    request.app.state.hub.supervisor_message(agent_id, body.text, actor)
    await runtime.store.ops.log(
        runtime.clock(), actor, "message", agent_id=agent_id, detail={"text": body.text}
    )
    return {"agent_id": agent_id, "delivered": runtime.engine.agents[agent_id].connected}


@router.get("/ops/actions", dependencies=[Depends(require_admin)])
async def ops_actions(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    contact_id: str | None = Query(None, max_length=40),
) -> list[dict[str, Any]]:
    """The supervisors' audit log, newest first."""
    rows = await runtime_of(request).store.ops.recent(limit, contact_id)
    return [
        {
            "at": row.at,
            "actor": row.actor,
            "action": row.action,
            "contact_id": row.contact_id,
            "agent_id": row.agent_id,
            "reason": row.reason,
            "detail": row.detail,
        }
        for row in rows
    ]
