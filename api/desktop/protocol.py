"""The agent-desktop websocket protocol: every message, as pydantic models.

Client -> server messages are JSON objects with a ``type``; any may carry a ``ref`` that
the server echoes in its ``ack`` or ``error`` reply. Server -> client events carry a
``seq`` (1, 2, 3... per agent stream) so a desktop that reconnects can ask to resume after
the last one it saw. docs/desktop-protocol.md describes the flow with examples.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from router.durations import Duration
from router.rules.model import SkillMap


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | None = Field(None, max_length=64, description="echoed in the ack/error")


class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stream: str = Field(max_length=100)
    after_seq: int = Field(ge=0)


class Login(ClientMessage):
    """``token``: the agent's desktop token; empty: the browser's signed-in session (its
    cookie, sent with the websocket handshake from this origin)."""

    type: Literal["login"]
    token: str = Field("", max_length=200)
    resume: Resume | None = None
    presence: Literal["available", "away"] = "available"


class SetPresence(ClientMessage):
    type: Literal["presence"]
    presence: Literal["available", "away", "offline"]
    code: str = Field(
        "", max_length=40, description="away reason code from config (agent_states.reasons)"
    )
    reason: str = Field("", max_length=200)


class Accept(ClientMessage):
    type: Literal["accept"]
    offer_id: str = Field(min_length=1, max_length=100)


class Reject(ClientMessage):
    type: Literal["reject"]
    offer_id: str = Field(min_length=1, max_length=100)
    reason: str = Field("", max_length=200)


class End(ClientMessage):
    """The conversation is over (the agent hung up, closed the chat...): start wrap-up."""

    type: Literal["end"]
    contact_id: str = Field(min_length=1, max_length=64)


class WrapUp(ClientMessage):
    type: Literal["wrap_up"]
    contact_id: str = Field(min_length=1, max_length=64)
    outcome: str = Field(min_length=1, max_length=200)
    resolved: bool
    notes: str = Field("", max_length=4000)
    follow_up_in: Duration | None = Field(
        None, gt=0, description="schedule a follow-up to you this long from now (e.g. 2d)"
    )
    follow_up_note: str = Field("", max_length=2000)


class Transfer(ClientMessage):
    """Exactly one target: a queue, another agent, or the skills needed."""

    type: Literal["transfer"]
    contact_id: str = Field(min_length=1, max_length=64)
    queue: str | None = Field(None, max_length=80)
    agent: str | None = Field(None, max_length=64)
    skills: SkillMap | None = Field(None, max_length=50)
    note: str = Field(
        "", max_length=2000, description="for whoever takes it next: shown with the offer"
    )

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if sum(target is not None for target in (self.queue, self.agent, self.skills)) != 1:
            raise ValueError("give exactly one of queue, agent or skills")
        return self


class TemplateRef(BaseModel):
    """A provider-approved template (WhatsApp after the 24-hour window): its name (a
    Twilio ContentSid through Twilio) and language."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    language: str = Field("en_US", min_length=2, max_length=20)


class SendMessage(ClientMessage):
    """Write to the customer of a contact you hold: live on a web chat, through the reply
    outbox on email, Meta, X and SMS (the ack says the reply is recorded; ``reply_status``
    events say what came of it)."""

    type: Literal["message"]
    contact_id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=4000)
    template: TemplateRef | None = None
    reply_key: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="a unique id the desktop gives this reply: sent again (a lost ack), it "
        "is answered from the record and never sent twice",
    )


class Ping(ClientMessage):
    type: Literal["ping"]


AnyClientMessage = Annotated[
    Login | SetPresence | Accept | Reject | End | WrapUp | Transfer | SendMessage | Ping,
    Field(discriminator="type"),
]
CLIENT_MESSAGE: TypeAdapter[Any] = TypeAdapter(AnyClientMessage)


# ----------------------------------------------------------------- server -> client


class ServerEvent(BaseModel):
    """Sequenced events; ``seq`` is set when the event enters the agent's stream."""

    seq: int = 0


class Welcome(BaseModel):
    type: Literal["welcome"] = "welcome"
    stream: str
    seq: int = Field(description="the last seq of this stream so far")
    resumed: bool = Field(description="true when missed events follow; false: use the state")
    agent: dict[str, Any]
    state: dict[str, Any]


class OfferEvent(ServerEvent):
    type: Literal["offer"] = "offer"
    offer_id: str
    contact: dict[str, Any]
    channel: str
    expires_at: float
    explanation: dict[str, Any]


class OfferEndedEvent(ServerEvent):
    type: Literal["offer_ended"] = "offer_ended"
    offer_id: str
    contact_id: str
    outcome: str
    reason: str


class AssignedEvent(ServerEvent):
    type: Literal["assigned"] = "assigned"
    contact_id: str
    offer_id: str


class WrapUpEvent(ServerEvent):
    type: Literal["wrap_up"] = "wrap_up"
    contact_id: str
    until: float
    ended_by: str


class CompletedEvent(ServerEvent):
    type: Literal["completed"] = "completed"
    contact_id: str
    outcome: str
    resolved: bool | None


class TransferredEvent(ServerEvent):
    type: Literal["transferred"] = "transferred"
    contact_id: str
    target: dict[str, str]


class ContactUpdateEvent(ServerEvent):
    """A contact you hold changed: a new message, a new emotion score."""

    type: Literal["contact_update"] = "contact_update"
    contact: dict[str, Any]


class MessageEvent(ServerEvent):
    """The customer wrote (chat, social, email reply) or a call transcript segment arrived."""

    type: Literal["message"] = "message"
    contact_id: str
    text: str
    kind: str = Field(description="message | transcript")
    at: float
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, description="name, content_type and size of each attachment"
    )


class ReplyStatusEvent(ServerEvent):
    """What came of a reply sent through the outbox: sending, sent, failed (``reason`` is
    the provider's), unknown (it may or may not have arrived: never resent by itself), or
    pending again before a retry."""

    type: Literal["reply_status"] = "reply_status"
    reply_id: str
    contact_id: str
    status: str
    reason: str = ""
    platform: str
    text: str = ""
    provider_id: str = ""
    message_id: str = ""
    at: float


class PresenceEvent(ServerEvent):
    type: Literal["presence"] = "presence"
    presence: str
    reason: str
    code: str = Field("", description="away reason code, if any")
    since: float = Field(0.0, description="when this state began (epoch s)")
    forced_by: str = Field("", description="the supervisor who set it, if one did")


class StateLimitEvent(ServerEvent):
    """You have been in an away reason longer than its configured limit."""

    type: Literal["state_limit"] = "state_limit"
    code: str
    since: float
    limit: float


class ReassignedEvent(ServerEvent):
    """A supervisor took a contact you held, to another agent or back to its queue."""

    type: Literal["reassigned"] = "reassigned"
    contact_id: str
    to: str = Field(description="the agent it went to, or 'queue'")
    by: str
    reason: str


class SupervisorMessageEvent(ServerEvent):
    """A supervisor wrote to you."""

    type: Literal["supervisor_message"] = "supervisor_message"
    text: str
    sender: str = Field(alias="from")
    at: float

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Ack(BaseModel):
    type: Literal["ack"] = "ack"
    ref: str | None
    of: str


def ack(ref: str | None, of: str, **extra: Any) -> dict[str, Any]:
    """An ``Ack`` as the dict its ``model_dump()`` gives, plus ``extra`` fields (how many
    decisions, ``duplicate``, a reply's view). Two acks a contact: built directly, not
    validated into a model only to be dumped again (2.6 against 0.2 µs)."""
    return {"type": "ack", "ref": ref, "of": of, **extra}


class Error(BaseModel):
    type: Literal["error"] = "error"
    ref: str | None = None
    code: str
    message: str


class Pong(BaseModel):
    type: Literal["pong"] = "pong"
    ref: str | None = None
