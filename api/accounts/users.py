"""Users of the pages, for admins: create or change one, list, remove, revoke sessions.

``PUT /v1/users/{name}`` {"role": "agent"|"supervisor"|"admin", "agent_id"?, "password"?,
"display_name"?, "oidc_subject"?, "disabled"?}: an agent user signs in to the desktop of
its roster entry ``agent_id``. A changed password or a disabled user revokes its sessions.
The CLI does the same offline: ``centralino user add``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.accounts.passwords import WeakPassword, hash_in_thread
from api.base.auth import require_admin
from router.store.schema import UserRow

router = APIRouter(prefix="/v1/users", tags=["users"], dependencies=[Depends(require_admin)])
NAME = r"^[A-Za-z0-9_.@-]{1,64}$"


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["agent", "supervisor", "admin"] | None = None
    agent_id: str | None = Field(None, min_length=1, max_length=64)
    display_name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=1024)
    oidc_subject: str | None = Field(None, min_length=1, max_length=255)
    disabled: bool | None = None


def user_view(row: UserRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "display_name": row.display_name,
        "role": row.role,
        "agent_id": row.agent_id,
        "password": row.password_hash is not None,
        "oidc_subject": row.oidc_subject,
        "disabled": row.disabled,
    }


async def save_user(store: Any, name: str, body: UserIn) -> tuple[UserRow, bool]:
    """Validate and save (shared by the API and the CLI); ValueError says what is wrong."""
    existing = await store.accounts.user(name)
    values: dict[str, Any] = {
        key: value
        for key, value in body.model_dump(exclude={"password"}).items()
        if value is not None
    }
    role = values.get("role") or (existing.role if existing else None)
    if role is None:
        raise ValueError("a new user needs a role: agent, supervisor or admin")
    agent_id = values.get("agent_id") or (existing.agent_id if existing else None)
    if role == "agent":
        if not agent_id:
            raise ValueError("an agent user needs agent_id (its roster entry)")
        if await store.agent(agent_id) is None:
            raise ValueError(f"no agent {agent_id!r}: create it first (PUT /v1/agents/...)")
    if body.password is not None:
        try:
            values["password_hash"] = await hash_in_thread(body.password)
        except WeakPassword as exc:
            raise ValueError(str(exc)) from None
    row, created = await store.accounts.save_user({**values, "name": name}, time.time())
    if not created and (body.password is not None or body.disabled):
        await store.accounts.revoke_user_sessions(name, time.time())
    return row, created


@router.put("/{name}")
async def put_user(name: str, body: UserIn, request: Request) -> dict[str, Any]:
    if not _valid(name):
        raise HTTPException(422, "a user name has 1-64 letters, digits or _ . @ -")
    try:
        row, created = await save_user(request.app.state.runtime.store, name, body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"created": created, "user": user_view(row)}


@router.get("")
async def list_users(request: Request) -> list[dict[str, Any]]:
    accounts = request.app.state.runtime.store.accounts
    now = time.time()
    return [
        {**user_view(row), "sessions": len(await accounts.user_sessions(row.name, now))}
        for row in await accounts.users()
    ]


@router.delete("/{name}")
async def delete_user(name: str, request: Request) -> dict[str, Any]:
    if not await request.app.state.runtime.store.accounts.delete_user(name, time.time()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {name!r}")
    return {"deleted": name}


@router.post("/{name}/revoke")
async def revoke(name: str, request: Request) -> dict[str, Any]:
    """End every session of this user (they must sign in again)."""
    accounts = request.app.state.runtime.store.accounts
    if await accounts.user(name) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {name!r}")
    return {"revoked": await accounts.revoke_user_sessions(name, time.time())}


def _valid(name: str) -> bool:
    import re

    return re.fullmatch(NAME, name) is not None
