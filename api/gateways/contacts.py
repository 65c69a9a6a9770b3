"""Generic gateway intake: ``POST /v1/contacts``.

Returns 202 only after the contact is stored. Retrying with the same ``gateway`` and
``message_id`` returns the same contact (``duplicate: true``) and routes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from api.base.auth import require_gateway
from channels.contact import CustomerRef, InboundContact, IntakeError
from router.callbacks import CallbackRefused, check_number, check_zone
from router.dispatch import Dispatcher
from router.intake import ContactIntake, Intake
from skills.vocabulary import Channel, normalize_language

router = APIRouter(prefix="/v1", tags=["gateway"])
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
Platform = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")
]
HandleId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
AttributeValue = (
    Annotated[str, StringConstraints(max_length=1000)]
    | int
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
    | None
)


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, min_length=1, max_length=200)
    name: str = Field("", max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, min_length=3, max_length=40)
    handles: dict[Platform, HandleId] = Field(
        default_factory=dict,
        max_length=10,
        description="social platform -> user id, e.g. {'instagram': '178414...'}",
    )


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gateway: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="who sends it; scopes message_id",
    )
    message_id: str = Field(
        min_length=1,
        max_length=200,
        description="the gateway's id for this contact: the idempotency key",
    )
    channel: Channel
    customer: CustomerIn = CustomerIn()
    language: str | None = Field(None, min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")
    intent: str | None = Field(None, min_length=1, max_length=64)
    subject: str = Field("", max_length=500)
    text: str = Field("", max_length=20000)
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        max_length=50,
        description="flat key/value facts for rule conditions (contact.attributes)",
    )
    urgency: float | None = Field(
        None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="the gateway's own urgency score (used as given)",
    )
    sentiment: float | None = Field(
        None,
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="or a sentiment score: -1 upset .. +1 happy",
    )

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return normalize_language(value) if value else None

    @field_validator("attributes")
    @classmethod
    def _attribute_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not ATTRIBUTE_NAME.fullmatch(key):
                raise ValueError(f"attribute name {key[:64]!r} must be 1-64 letters, digits, _")
        return value


class ContactAccepted(BaseModel):
    contact_id: str
    duplicate: bool
    state: str
    queue: str
    notice: str | None = Field(
        None, description="for the customer: closed now, when we open (after-hours policy)"
    )
    estimated_wait: float | None = Field(
        None, description="seconds until an agent takes it (estimate); null: nobody could now"
    )
    after_hours: dict[str, Any] | None = Field(
        None, description="the queue was closed: status, action (notice|overflow|callback)"
    )


@router.post(
    "/contacts",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ContactAccepted,
    dependencies=[Depends(require_gateway)],
    responses={401: {"description": "gateway token missing"}, 422: {"description": "invalid"}},
)
async def post_contact(body: ContactIn, request: Request) -> ContactAccepted:
    # the well-formed, authorized request is answered before this route, by the same
    # accept_contact (api/gateways/fast_intake.py); the rest comes here
    return await accept_contact(body, request.app.state)


async def accept_contact(body: ContactIn, state: Any) -> ContactAccepted:
    """Take this contact in (``state``: the app's); HTTPException 422 for an intake error."""
    # several nodes on PostgreSQL: this node stores it, the router routes it (node_intake)
    intake: ContactIntake = getattr(state, "node_intake", None) or state.intake
    customer = body.customer
    inbound = InboundContact(
        gateway=body.gateway,
        external_id=body.message_id,
        channel=body.channel,
        customer=CustomerRef(
            id=customer.id,
            name=customer.name,
            email=str(customer.email).lower() if customer.email else None,
            phone=customer.phone,
            handles=dict(customer.handles),
        ),
        language=body.language,
        intent=body.intent,
        subject=body.subject,
        text=body.text,
        attributes=dict(body.attributes),
        urgency=body.urgency,
        sentiment=body.sentiment,
    )
    try:
        result = await intake.accept(inbound)
    except IntakeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return ContactAccepted(
        contact_id=result.contact_id,
        duplicate=not result.created,
        state=result.state,
        queue=result.queue,
        notice=result.notice,
        after_hours=result.after_hours,
        estimated_wait=result.estimated_wait,
    )


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str | None = Field(
        None, max_length=40, description="where to call; default: the contact's own number"
    )
    at: dt.datetime | None = Field(
        None, description="a time with its zone (ISO 8601); default: at their turn"
    )

    _zone = field_validator("at")(check_zone)
    _number = field_validator("number")(check_number)


@router.post(
    "/contacts/{contact_id}/callback",
    dependencies=[Depends(require_gateway)],
    responses={404: {"description": "no such contact"}, 409: {"description": "not waiting"}},
)
async def request_callback(contact_id: str, body: CallbackIn, request: Request) -> dict[str, Any]:
    """The waiting customer asks to be called back, now (at their turn) or at ``at``. They
    keep their place; hanging up afterwards no longer abandons the contact."""
    intake: Intake = request.app.state.intake
    live = contact_id in intake.runtime.engine.contacts
    if not live and await intake.runtime.stored_contact(contact_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}")
    at = body.at.timestamp() if body.at is not None else None
    try:
        callback = await intake.callbacks.request(contact_id, body.number, at)
    except CallbackRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {
        "contact_id": contact_id,
        "callback": callback.as_dict(),
        "estimated_wait": intake.estimated_wait(contact_id),
    }


class ContactEnded(BaseModel):
    contact_id: str
    outcome: str


@router.post(
    "/contacts/{contact_id}/end",
    response_model=ContactEnded,
    dependencies=[Depends(require_gateway)],
    responses={404: {"description": "no such contact"}},
)
async def end_contact(contact_id: str, request: Request) -> ContactEnded:
    """The customer left: before an answer it is abandoned, after one the contact ends
    (wrap-up). Ending a contact that is already over is harmless."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    try:
        return ContactEnded(**await dispatcher.end(contact_id))
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}") from None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20000)
    kind: Literal["message", "transcript"] = Field(
        "message", description="a customer message, or a live transcript segment of a call"
    )
    sentiment: float | None = Field(
        None,
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="a provider's score for this text, used instead",
    )


@router.post(
    "/contacts/{contact_id}/messages",
    dependencies=[Depends(require_gateway)],
    responses={404: {"description": "no such contact"}},
)
async def post_message(contact_id: str, body: MessageIn, request: Request) -> dict[str, Any]:
    """A new message or transcript segment: stored, and while the contact is live its
    emotion is re-scored, so an upset caller moves up the queue while still waiting."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    try:
        return await dispatcher.message(contact_id, body.text, body.kind, body.sentiment)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}") from None


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csat: int | None = Field(None, ge=1, le=5, description="satisfaction, 1 (very bad) .. 5")
    nps: int | None = Field(None, ge=0, le=10, description="would recommend, 0 .. 10")
    comment: str = Field("", max_length=2000)


@router.post("/contacts/{contact_id}/feedback", dependencies=[Depends(require_gateway)])
async def post_feedback(contact_id: str, body: FeedbackIn, request: Request) -> dict[str, Any]:
    """The customer's post-contact survey answer (CSAT and/or NPS); the latest counts."""
    if body.csat is None and body.nps is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give csat (1-5) or nps (0-10)")
    runtime = request.app.state.runtime
    row = await runtime.stored_contact(contact_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id!r}")
    await runtime.store.aftercare.record_feedback(
        row, body.csat, body.nps, body.comment, runtime.clock()
    )
    return {
        "contact_id": contact_id,
        "agent_id": row.agent_id,
        "queue": row.queue,
        "recorded": True,
    }
