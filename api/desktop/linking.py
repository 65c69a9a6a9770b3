"""An agent links an unverified customer to who they claim to be, after checking.

A web chat without the embedding site's signature gets a fresh customer of its own; the
agent sees "claims to be vera@... (unverified)". Having checked (security questions, a
code sent to the address...), the agent holding the contact, or an admin, may link it:

``POST /v1/contacts/{id}/customer/link`` (``Authorization: Bearer <agent or admin token>``,
or a signed-in session with ``X-CSRF-Token``; ``{"checked": "how it was checked"}``): the
claimed identities join the contact's customer to the existing one (their history
follows), and a ``customer_linked`` event with who, what and why goes to the contact's
audit trail (shown by explain) and to the customer's (``GET /v1/customers/{id}/audit``).

``POST /v1/contacts/{id}/customer/identities`` (same tokens, ``{"identity": "phone:+39..."}``):
the agent confirms a phone number the offer proposed (found in the email's text or
signature) and it is put on file for the contact's customer; 409 if another customer
holds it (an admin merges the two, if they are one person).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.base.auth import bearer
from api.base.sessions import CSRF_HEADER, csrf_ok, principal_from_cookies
from api.desktop.session import agent_for_token
from channels.contact import CustomerRef, IntakeError
from router.customer_changes import CHANGED, MERGED, CustomerChange
from router.runtime import RouterRuntime
from router.store.audit import CUSTOMER_LINKED, AuditTrail
from router.store.errors import CustomerRecordError
from skills.identity import Identity

router = APIRouter(prefix="/v1", tags=["desktop"])
audit_log = logging.getLogger("centralino.audit")


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checked: str = Field(
        min_length=3, max_length=500, description="how the agent checked who this is"
    )


class Linked(BaseModel):
    contact_id: str
    customer_id: str
    identities: list[str]
    merged: list[str]


async def _who(request: Request, runtime: RouterRuntime, contact_id: str) -> str:
    token = bearer(request)
    if token is None:
        principal = await principal_from_cookies(request.app, request.cookies)
        if principal is not None:  # a signed-in desktop: its agent, with the CSRF header
            if not csrf_ok(principal, request.method, request.headers.get(CSRF_HEADER)):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong X-CSRF-Token")
            if principal.role == "admin":
                return f"admin:{principal.user}"
            live = runtime.engine.contacts.get(contact_id)
            if live is None or principal.agent_id is None or live.agent_id != principal.agent_id:
                raise HTTPException(status.HTTP_403_FORBIDDEN, "only the agent holding the contact")
            return f"agent:{principal.agent_id}"
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "agent or admin token required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if hmac.compare_digest(token.encode(), request.app.state.settings.admin_token.encode()):
        return "admin"
    agent_id = await agent_for_token(runtime, token)
    if agent_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "unknown or revoked token")
    live = runtime.engine.contacts.get(contact_id)
    if live is None or live.agent_id != agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the agent holding the contact")
    return f"agent:{agent_id}"


def _claimed(customer: dict[str, Any], gateway: str, region: str) -> list[Identity]:
    claims = CustomerRef(
        email=customer.get("email"),
        phone=customer.get("phone"),
        handles=dict(customer.get("handles") or {}),
    )
    try:
        return claims.claimed_identities(gateway, region)
    except IntakeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post(
    "/contacts/{contact_id}/customer/link",
    response_model=Linked,
    responses={403: {"description": "not the agent holding it"}, 409: {"description": "verified"}},
)
async def link_customer(contact_id: str, body: LinkIn, request: Request) -> Linked:
    runtime: RouterRuntime = request.app.state.runtime
    who = await _who(request, runtime, contact_id)
    row = await runtime.stored_contact(contact_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}")
    customer = dict(row.customer or {})
    if customer.get("verified", True) is not False or not customer.get("id"):
        raise HTTPException(status.HTTP_409_CONFLICT, "this contact's customer is not unverified")
    region = request.app.state.intake.planner.config.triage.default_region
    claimed = _claimed(customer, row.gateway, region)
    if not claimed:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "nothing claimed to link")
    own = Identity(f"unverified:{row.gateway}", str(customer["id"]))
    now = runtime.clock()
    resolved = await runtime.store.customers.resolve(
        [own, *claimed], customer.get("name", ""), now, by=who
    )
    detail = {
        "by": who,
        "checked": body.checked,
        "identities": [str(identity) for identity in claimed],
        "from_customer": row.customer_id,
        "customer_id": resolved.customer_id,
        "merged": list(resolved.merged),
    }
    await AuditTrail(runtime.store.engine).record(contact_id, now, CUSTOMER_LINKED, detail)
    await runtime.store.records.record(
        resolved.customer_id,
        now,
        "linked",
        who,
        contact_id=contact_id,
        kinds=sorted({identity.kind for identity in claimed}),
        merged=list(resolved.merged),
    )
    if resolved.merged:
        change = CustomerChange(MERGED, (resolved.customer_id, *resolved.merged))
        await runtime.customer_changes.publish(change)
    audit_log.info("contact %s: customer linked by %s to %s", contact_id, who, resolved.customer_id)
    context = runtime.contexts.get(contact_id)
    if context is not None:  # whoever is offered it next (a transfer) sees it checked
        context["customer"] = {**(context.get("customer") or {}), "verified": True}
    return Linked(
        contact_id=contact_id,
        customer_id=resolved.customer_id,
        identities=detail["identities"],
        merged=list(resolved.merged),
    )


class ProposedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity: str = Field(min_length=3, max_length=240, description="as proposed: phone:+39...")


@router.post(
    "/contacts/{contact_id}/customer/identities",
    responses={403: {"description": "not the agent holding it"}, 409: {"description": "taken"}},
)
async def confirm_identity(contact_id: str, body: ProposedIn, request: Request) -> dict[str, Any]:
    """Put on file an identity the offer proposed (``proposed_identities``)."""
    runtime: RouterRuntime = request.app.state.runtime
    who = await _who(request, runtime, contact_id)
    row = await runtime.stored_contact(contact_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}")
    proposed = {
        item["identity"]: item for item in (row.triage or {}).get("proposed_identities", [])
    }
    item = proposed.get(body.identity)
    if item is None or row.customer_id is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "not one of this contact's proposed identities"
        )
    identity = Identity(item["kind"], item["value"])
    try:
        added = await runtime.store.records.add_identity(
            row.customer_id, identity, runtime.clock(), who
        )
    except CustomerRecordError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    await runtime.customer_changes.publish(CustomerChange(CHANGED, (row.customer_id,)))
    audit_log.info("contact %s: identity confirmed by %s", contact_id, who)
    return {
        "contact_id": contact_id,
        "customer_id": row.customer_id,
        "identity": str(identity),
        "added": added,
    }
