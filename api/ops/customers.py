"""The customer 360 and personal data, for ops (docs/privacy.md).

Reading a customer or searching by identity: admin or supervisor token. Changing one
(name, notes, identities), merging, undoing a merge, exporting and erasing: admin only.
Each change and each export goes to the customer's audit trail (``GET .../audit``), with
who made it: ``admin``, or ``admin:<name>`` when the request names its operator in the
``X-Centralino-Operator`` header. Every merge, unmerge, identity change and erasure is
announced to every node's caches (router/customer_changes.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.base.auth import require_admin, require_supervisor
from router.customer_changes import CHANGED, ERASED, MERGED, UNMERGED, CustomerChange
from router.runtime import RouterRuntime
from router.store.errors import CustomerRecordError
from router.store.merges import MergeResult
from skills.identity import (
    Identity,
    InvalidIdentity,
    email_identity,
    handle_identity,
    phone_identity,
)

router = APIRouter(prefix="/v1", tags=["customers"])
ADMIN = [Depends(require_admin)]
SUPERVISOR = [Depends(require_supervisor)]
audit_log = logging.getLogger("centralino.audit")
OPERATOR = re.compile(r"^[\w.@ -]{1,80}$")
CUSTOMER_ID = r"^[A-Za-z0-9_-]{1,40}$"


class CustomerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=8000)

    @model_validator(mode="after")
    def _something(self) -> CustomerPatch:
        if self.name is None and self.notes is None:
            raise ValueError("give name and/or notes")
        return self


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(
        min_length=1, max_length=40, description="email, phone, or a platform (instagram...)"
    )
    value: str = Field(min_length=1, max_length=200)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merge: str = Field(
        pattern=CUSTOMER_ID, description="the customer folded into this one (same person)"
    )


def runtime_of(request: Request) -> RouterRuntime:
    runtime: RouterRuntime = request.app.state.runtime
    return runtime


def region_of(request: Request) -> str:
    region: str = request.app.state.intake.planner.config.triage.default_region
    return region


def operator(request: Request) -> str:
    name = request.headers.get("x-centralino-operator", "").strip()
    if not name:
        return "admin"
    if not OPERATOR.match(name):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "X-Centralino-Operator: 1-80 letters, digits, spaces or . @ _ -",
        )
    return f"admin:{name}"


def parse_identity(kind: str, value: str, region: str) -> Identity:
    """An identity as the directory stores it (normalized), or 422 saying why not."""
    kind = kind.strip().lower()
    try:
        if kind == "email":
            return email_identity(value)
        if kind == "phone":
            return phone_identity(value, region)
        if kind.startswith(("gateway:", "unverified:")):
            return Identity(kind, value.strip())
        return handle_identity(kind, value)
    except InvalidIdentity as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


def record_error(exc: CustomerRecordError) -> HTTPException:
    return HTTPException(exc.status, str(exc))


async def profile_or_404(runtime: RouterRuntime, customer_id: str) -> dict[str, Any]:
    profile = await runtime.store.records.profile(customer_id)
    if profile is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id!r}")
    return profile


@router.get("/customers", dependencies=SUPERVISOR)
async def search_customers(
    request: Request,
    email: str | None = Query(None, max_length=200),
    phone: str | None = Query(None, max_length=60),
    handle: str | None = Query(
        None, max_length=240, description="platform:user_id, e.g. instagram:1784..."
    ),
) -> dict[str, Any]:
    """The customer holding an email address, a phone number or a platform handle."""
    given = [(kind, value) for kind, value in (("email", email), ("phone", phone)) if value]
    if handle:
        platform, _, user_id = handle.partition(":")
        given.append((platform, user_id))
    if len(given) != 1:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give exactly one of email, phone or handle"
        )
    identity = parse_identity(*given[0], region_of(request))
    return {"customers": await runtime_of(request).store.records.search(identity)}


@router.get("/customers/{customer_id}", dependencies=SUPERVISOR)
async def get_customer(customer_id: str, request: Request) -> dict[str, Any]:
    """Name, notes, every identity, the open case and a dated history across channels
    (newest first, 50 lines); a merged id answers with the customer it was merged into."""
    return await profile_or_404(runtime_of(request), customer_id)


@router.patch("/customers/{customer_id}", dependencies=ADMIN)
async def patch_customer(customer_id: str, body: CustomerPatch, request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    try:
        await runtime.store.records.update(
            customer_id, runtime.clock(), operator(request), body.name, body.notes
        )
    except CustomerRecordError as exc:
        raise record_error(exc) from None
    return await profile_or_404(runtime, customer_id)


@router.post("/customers/{customer_id}/identities", dependencies=ADMIN)
async def add_identity(customer_id: str, body: IdentityIn, request: Request) -> dict[str, Any]:
    """Put an identity on file for this customer; 409 if another customer holds it."""
    runtime = runtime_of(request)
    identity = parse_identity(body.kind, body.value, region_of(request))
    try:
        added = await runtime.store.records.add_identity(
            customer_id, identity, runtime.clock(), operator(request)
        )
    except CustomerRecordError as exc:
        raise record_error(exc) from None
    await runtime.customer_changes.publish(CustomerChange(CHANGED, (customer_id,)))
    return {"identity": str(identity), "added": added, **await profile_or_404(runtime, customer_id)}


@router.delete("/customers/{customer_id}/identities/{kind}/{value}", dependencies=ADMIN)
async def remove_identity(
    customer_id: str, kind: str, value: str, request: Request
) -> dict[str, Any]:
    """Take an identity off this customer (e.g. a shared family phone)."""
    runtime = runtime_of(request)
    identity = parse_identity(kind, value, region_of(request))
    try:
        await runtime.store.records.remove_identity(
            customer_id, identity, runtime.clock(), operator(request)
        )
    except CustomerRecordError as exc:
        raise record_error(exc) from None
    await runtime.customer_changes.publish(CustomerChange(CHANGED, (customer_id,)))
    return await profile_or_404(runtime, customer_id)


def merge_reply(result: MergeResult) -> dict[str, Any]:
    return {
        "merge_id": result.merge_id,
        "primary_id": result.primary_id,
        "merged_id": result.merged_id,
        "identities": result.identities,
        "contacts": len(result.contacts),
    }


@router.post("/customers/{customer_id}/merge", dependencies=ADMIN)
async def merge_customers(customer_id: str, body: MergeIn, request: Request) -> dict[str, Any]:
    """Fold another customer (``merge``) into this one: the same person. Undo with
    ``POST /v1/customers/merges/{merge_id}/undo``."""
    runtime = runtime_of(request)
    try:
        result = await runtime.store.merges.merge(
            customer_id, body.merge, runtime.clock(), operator(request)
        )
    except CustomerRecordError as exc:
        raise record_error(exc) from None
    await runtime.customer_changes.publish(
        CustomerChange(MERGED, (result.primary_id, result.merged_id))
    )
    return merge_reply(result)


@router.post("/customers/merges/{merge_id}/undo", dependencies=ADMIN)
async def undo_merge(merge_id: int, request: Request) -> dict[str, Any]:
    """Split a merge (any, automatic or made here): the merged customer gets back the
    identities and contacts it brought."""
    runtime = runtime_of(request)
    try:
        result = await runtime.store.merges.unmerge(merge_id, runtime.clock(), operator(request))
    except CustomerRecordError as exc:
        raise record_error(exc) from None
    await runtime.customer_changes.publish(
        CustomerChange(UNMERGED, (result.primary_id, result.merged_id))
    )
    return merge_reply(result)


@router.get("/customers/{customer_id}/audit", dependencies=ADMIN)
async def customer_audit(customer_id: str, request: Request) -> dict[str, Any]:
    """Who exported, erased, linked, merged or changed this customer, and when."""
    return {
        "customer_id": customer_id,
        "audit": await runtime_of(request).store.records.audit(customer_id),
    }


@router.get("/customers/{customer_id}/export", dependencies=ADMIN)
async def export_customer(customer_id: str, request: Request) -> dict[str, Any]:
    """Everything held about the customer, as JSON (GDPR access and portability)."""
    runtime = runtime_of(request)
    exported = await runtime.store.privacy.export(customer_id)
    if exported is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id!r}")
    who = operator(request)
    await runtime.store.records.record(
        exported["customer_id"],
        runtime.clock(),
        "exported",
        who,
        contacts=len(exported["contacts"]),
    )
    audit_log.info("customer %s exported by %s", exported["customer_id"], who)
    return exported


@router.delete("/customers/{customer_id}", dependencies=ADMIN)
@router.post("/customers/{customer_id}/erase", dependencies=ADMIN)
async def erase_customer(customer_id: str, request: Request) -> dict[str, Any]:
    """Erase the customer (and customers merged into them): identities, texts, messages,
    notes, feedback comments removed; contacts kept anonymous for statistics. 409 while
    one of their contacts is live."""
    runtime = runtime_of(request)
    who = operator(request)
    await runtime.recorder.flush()  # the contacts' states as the engine knows them
    erasure = await runtime.store.privacy.erase(customer_id, runtime.clock(), who)
    if erasure.status == "unknown":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id!r}")
    if erasure.status == "live":
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"the customer has live contacts ({', '.join(erasure.contact_ids)}): "
            "end them, then erase",
        )
    if erasure.status == "replying":
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "a reply to the customer is still being sent: erase once it is sent or failed",
        )
    await runtime.customer_changes.publish(
        CustomerChange(ERASED, erasure.customer_ids, erasure.contact_ids, erasure.chat_sessions)
    )
    audit_log.info("customer %s erased by %s", ", ".join(erasure.customer_ids), who)
    return {"erased": list(erasure.customer_ids), "counts": erasure.counts}
