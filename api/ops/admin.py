"""Ops and supervisor endpoints: agent admin, queue and agent state, contact explain.

All need the admin bearer token.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.base.auth import require_admin, require_supervisor
from router.rules.model import SkillMap
from router.runtime import RouterRuntime, profile_from_row
from router.views import (
    agent_view,
    contact_view,
    live_agent_view,
    queue_contacts,
    queue_summary,
    why_waiting,
)
from skills.vocabulary import (
    MAX_PROFICIENCY,
    MIN_PROFICIENCY,
    Channel,
    normalize_language,
    normalize_skill,
)

router = APIRouter(prefix="/v1", tags=["ops"])
ADMIN = [Depends(require_admin)]  # changes: agents, tokens
SUPERVISOR = [Depends(require_supervisor)]  # reading: admin or supervisor token
AGENT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class AgentEndpoint(BaseModel):
    """Where a gateway connects this agent's calls and chats (named in ``contact.assigned``
    events): a Twilio Client identity, a phone number, a SIP URI or a platform user id."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["client", "phone", "sip", "user"]
    value: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _value(self) -> AgentEndpoint:
        if self.kind == "sip" and not self.value.startswith(("sip:", "sips:")):
            raise ValueError("a SIP endpoint is a URI: sip:agent@pbx.example.com")
        if self.kind == "phone" and not PHONE.match(self.value):
            raise ValueError("a phone endpoint is an E.164 number: +390212345678")
        return self


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=200)
    endpoint: AgentEndpoint | None = None
    skills: SkillMap = Field(default_factory=dict, max_length=100)
    languages: list[str] = Field(default_factory=list, max_length=20)
    capacity: dict[Channel, int] = Field(default_factory=dict)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: SkillMap) -> SkillMap:
        out = {}
        for name, level in value.items():
            if not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY:
                raise ValueError(
                    f"skill {name!r}: level must be {MIN_PROFICIENCY}..{MAX_PROFICIENCY}"
                )
            out[normalize_skill(name)] = level
        return out

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return sorted({normalize_language(code) for code in value})

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: dict[Channel, int]) -> dict[Channel, int]:
        for channel, n in value.items():
            if not 0 <= n <= 100:
                raise ValueError(f"capacity for {channel.value} must be 0..100")
        return value


def runtime_of(request: Request) -> RouterRuntime:
    runtime: RouterRuntime = request.app.state.runtime
    return runtime


@router.put("/agents/{agent_id}", dependencies=ADMIN)
async def put_agent(
    body: AgentIn,
    request: Request,
    agent_id: str = Path(pattern=AGENT_ID_PATTERN, description="1-64 of A-Z a-z 0-9 . _ -"),
) -> dict[str, Any]:
    """Create or update an agent. A new agent gets a desktop token, shown only this once."""
    runtime = runtime_of(request)
    values = {
        "id": agent_id,
        "name": body.name,
        "skills": body.skills,
        "languages": body.languages,
        "capacity": {channel.value: n for channel, n in body.capacity.items()},
        "endpoint": body.endpoint.model_dump() if body.endpoint else None,
    }
    token: str | None = secrets.token_urlsafe(24)  # kept only if the agent is new
    row, created = await runtime.store.save_agent(values, runtime.clock(), new_token=token)
    if not created:
        token = None
    runtime.set_endpoint(agent_id, row.endpoint)
    runtime.submit(lambda now: runtime.engine.upsert_agent(profile_from_row(row), now))
    reply: dict[str, Any] = {
        "created": created,
        "agent": {
            **agent_view(runtime.engine.agents[agent_id], runtime.clock()),
            "endpoint": runtime.endpoints.get(agent_id),
        },
    }
    if token:
        reply["token"] = token
    return reply


@router.post("/agents/{agent_id}/token", dependencies=ADMIN)
async def rotate_token(agent_id: str, request: Request) -> dict[str, str]:
    """Issue a new desktop token; the old one stops working for new logins."""
    runtime = runtime_of(request)
    token = secrets.token_urlsafe(24)
    if not await runtime.store.set_agent_token(agent_id, token):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id!r}")
    return {"agent_id": agent_id, "token": token}


@router.get("/agents", dependencies=SUPERVISOR)
async def list_agents(request: Request) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    now = runtime.clock()
    return [
        live_agent_view(runtime.engine, agent, now)
        for _, agent in sorted(runtime.engine.agents.items())
    ]


@router.get("/agents/{agent_id}", dependencies=SUPERVISOR)
async def get_agent(agent_id: str, request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    agent = runtime.engine.agents.get(agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id!r}")
    return {
        **live_agent_view(runtime.engine, agent, runtime.clock()),
        "endpoint": runtime.endpoints.get(agent_id),
    }


@router.get("/queues", dependencies=SUPERVISOR)
async def list_queues(request: Request) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    return queue_summary(runtime.engine, runtime.clock())


@router.get("/queues/{queue}/contacts", dependencies=SUPERVISOR)
async def waiting_contacts(
    queue: str, request: Request, limit: int = Query(100, ge=1, le=1000)
) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    if queue not in runtime.engine.config.queues:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no queue {queue!r}")
    return queue_contacts(runtime.engine, queue, runtime.clock(), limit)


async def stored_contact(runtime: RouterRuntime, contact_id: str) -> Any:
    row = await runtime.stored_contact(contact_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}")
    return row


@router.get("/contacts/{contact_id}", dependencies=SUPERVISOR)
async def get_contact(contact_id: str, request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    row = await stored_contact(runtime, contact_id)
    live = runtime.engine.contacts.get(contact_id)
    return {
        "contact_id": row.id,
        "gateway": row.gateway,
        "message_id": row.external_id,
        "channel": row.channel,
        "customer_id": row.customer_id,
        "customer": row.customer,
        "language": row.language,
        "intent": row.intent,
        "subject": row.subject,
        "queue": row.queue,
        "rule": row.rule,
        "state": live.state.value if live else row.state,
        "arrival": row.arrival,
        "agent_id": live.agent_id if live else row.agent_id,
        "transfers": row.transfers,
        "outcome": row.outcome,
        "resolved": row.resolved,
        "ended_at": row.ended_at,
        "live": contact_view(runtime.engine, live, runtime.clock()) if live else None,
        "estimated_wait": request.app.state.intake.estimated_wait(contact_id) if live else None,
    }


@router.get("/contacts/{contact_id}/explain", dependencies=SUPERVISOR)
async def explain_contact(contact_id: str, request: Request) -> dict[str, Any]:
    """Why this contact went where it went, or why it is still waiting."""
    runtime = runtime_of(request)
    row = await stored_contact(runtime, contact_id)
    events = await runtime.store.events(contact_id)
    live = runtime.engine.contacts.get(contact_id)
    now = runtime.clock()
    waiting = hours = None
    if live is not None and live.state.value in ("queued", "offered"):
        waiting = why_waiting(runtime.engine, live, now)
        book = request.app.state.intake.hours
        hours = book.status(live.policy.queue, live.channel, now).as_dict(now)
    return {
        "contact_id": row.id,
        "state": live.state.value if live else row.state,
        "triage": row.triage,
        "decisions": [{"at": e.at, "kind": e.kind, **e.detail} for e in events],
        "now": contact_view(runtime.engine, live, now) if live else None,
        "why_waiting": waiting,
        "hours": hours,
    }


@router.get("/feedback", dependencies=SUPERVISOR)
async def feedback_summary(request: Request) -> dict[str, Any]:
    """CSAT and NPS overall, per agent and per queue."""
    summary: dict[str, Any] = await runtime_of(request).store.aftercare.feedback_summary()
    return summary
