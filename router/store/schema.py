"""Tables: agents, contacts, offers (the assignments are accepted offers), routing events,
customers with their identities, notes, merge history and audit trail."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    skills: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    capacity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # where a gateway connects this agent's calls: {"kind": phone|sip|client|user, "value": ...}
    endpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class ContactRow(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("gateway", "external_id", name="uq_contacts_gateway_message"),
        Index("ix_contacts_state", "state"),
        Index("ix_contacts_customer_arrival", "customer_id", "arrival"),
        Index("ix_contacts_ended_at", "ended_at"),
        Index("ix_contacts_domain_state", "domain", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # the routing domain whose router routes it (CENTRALINO_ROUTING_DOMAIN; docs/cluster.md)
    domain: Mapped[str] = mapped_column(String(64), default="default")
    gateway: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    customer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    urgency: Mapped[float] = mapped_column(Float, default=0.0)
    history_boost: Mapped[float] = mapped_column(Float, default=0.0)
    preferred_agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    queue: Mapped[str] = mapped_column(String(80))
    rule: Mapped[str] = mapped_column(String(120))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    triage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    excluded_agents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    arrival: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Float)


class OfferRow(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    made_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RoutingEventRow(Base):
    """Every decision about a contact, in order, with its explanation (the explain log)."""

    __tablename__ = "routing_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


Index("ix_routing_events_at", RoutingEventRow.at)


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[float] = mapped_column(Float)
    merged_into: Mapped[str | None] = mapped_column(String(40), nullable=True)


class IdentityRow(Base):
    """One way to recognize a customer: email, E.164 phone, platform handle, gateway id."""

    __tablename__ = "identities"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float)


class MessageRow(Base):
    """Messages and transcript segments that arrive while a contact is live."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("contact_id", "external_id", name="uq_messages_contact_external"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    emotion: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ThreadRow(Base):
    """A gateway's conversation key (Message-ID, call id, chat session, platform user)
    pointing at the contact it belongs to."""

    __tablename__ = "threads"

    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float)


class FeedbackRow(Base):
    """Post-contact survey: CSAT 1-5 and/or NPS 0-10 (the latest answer counts)."""

    __tablename__ = "feedback"

    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    queue: Mapped[str] = mapped_column(String(80))
    csat: Mapped[int | None] = mapped_column(Integer, nullable=True)
    nps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[float] = mapped_column(Float)


class FollowUpRow(Base):
    """A task to get back to the customer, routed to the same agent when due."""

    __tablename__ = "follow_ups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[float] = mapped_column(Float, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_contact_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class OutboxEventRow(Base):
    """A gateway event, committed in the same transaction as the decision it announces
    (the durable outbox of router/outbox/). ``seq`` is the delivery order."""

    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class SubscriptionRow(Base):
    """Who receives gateway events: a signed webhook, or a built-in sink such as Twilio
    call control. ``cursor``: every event up to this seq is delivered."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="webhook")
    url: Mapped[str] = mapped_column(String(2000), default="")
    types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failing_since: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_delivery_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class RouterFenceRow(Base):
    """The fencing token of the router allowed to write routing decisions (several nodes:
    see router/cluster/lease.py). Absent in the embedded single-process mode."""

    __tablename__ = "router_fence"

    domain: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)


class CustomerNoteRow(Base):
    """What agents and admins wrote down about a customer (PATCH /v1/customers/{id})."""

    __tablename__ = "customer_notes"

    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Float)


class MergeRow(Base):
    """One customer folded into another, with what moved, so the merge can be undone."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    primary_id: Mapped[str] = mapped_column(String(40), index=True)
    merged_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[float] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(120))
    identities: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[kind, value], ...]
    contacts: Mapped[list[Any]] = mapped_column(JSON, default=list)  # contact ids moved
    undone_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(120), nullable=True)


class CustomerAuditRow(Base):
    """Who looked at, exported, changed, linked, merged or erased a customer, and when.
    Holds no personal data of its own (ids, counts, identity kinds), so it outlives an
    erasure."""

    __tablename__ = "customer_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ReplyRow(Base):
    """An agent's reply to a customer on a provider (email, Meta, X, SMS): the outbox. The
    row is committed before anything is sent; ``status`` follows pending -> sending ->
    sent | failed | unknown (router/store/replies.py guards the moves)."""

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("contact_id", "agent_id", "client_ref", name="uq_replies_client_ref"),
        Index("ix_replies_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    client_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sender: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    in_reply_to: Mapped[str] = mapped_column(String(300), default="")
    thread_refs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    template: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500), default="")
    provider_id: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class UserRow(Base):
    """Someone who signs in to the pages: an agent (linked to its roster entry), a
    supervisor or an admin. The password is kept only as an argon2 hash; ``oidc_subject``
    ties the user to the company identity provider's ``sub``."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class OptOutRow(Base):
    """A customer address that asked for no more messages (SMS STOP) on a platform."""

    __tablename__ = "opt_outs"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64), default="")


class UserSessionRow(Base):
    """A signed-in browser: the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # password | oidc
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AgentStateRow(Base):
    """Every presence change of an agent (with its away reason code and who forced it),
    and every alert for an away state held past its limit (kind ``limit``). Time in each
    state and reason for reports is read from the ``state`` rows."""

    __tablename__ = "agent_states"
    __table_args__ = (Index("ix_agent_states_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="state")  # state | limit
    presence: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    forced_by: Mapped[str] = mapped_column(String(64), default="")


class OpsActionRow(Base):
    """What a supervisor did (reassign, pull, priority, message, forced state), by whom,
    with the reason they gave: the supervisors' audit log."""

    __tablename__ = "ops_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ReportIntervalRow(Base):
    """Counters of one 15-minute interval for one queue, channel and agent (``""``: none,
    e.g. offered and abandoned contacts); router/kpis.py defines each, days are sums."""

    __tablename__ = "report_intervals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    start: Mapped[float] = mapped_column(Float, index=True)
    queue: Mapped[str] = mapped_column(String(80), default="")
    channel: Mapped[str] = mapped_column(String(16), default="")
    agent_id: Mapped[str] = mapped_column(String(64), default="")
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_within: Mapped[int] = mapped_column(Integer, default=0)
    wait_total: Mapped[float] = mapped_column(Float, default=0.0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    short_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    handle_total: Mapped[float] = mapped_column(Float, default=0.0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    csat_count: Mapped[int] = mapped_column(Integer, default=0)
    csat_sum: Mapped[int] = mapped_column(Integer, default=0)
    csat_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    nps_count: Mapped[int] = mapped_column(Integer, default=0)
    nps_promoters: Mapped[int] = mapped_column(Integer, default=0)
    nps_detractors: Mapped[int] = mapped_column(Integer, default=0)


class ReportAgentTimeRow(Base):
    """Seconds an agent spent in a presence (and away reason code) in one interval; state
    ``busy`` is the time it held at least one contact (it overlaps the presences)."""

    __tablename__ = "report_agent_time"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    start: Mapped[float] = mapped_column(Float, index=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(40), default="")
    seconds: Mapped[float] = mapped_column(Float)


class ReportProgressRow(Base):
    """Intervals before ``done_until`` are final (aggregated after their end and a grace)."""

    __tablename__ = "report_progress"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    done_until: Mapped[float] = mapped_column(Float)


class QueueSwitchRow(Base):
    """A queue closed by hand ("closed now", or ``*`` for every queue) until reopened;
    kept so a restart or a router failover does not reopen it (router/hours.py)."""

    __tablename__ = "queue_switches"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[float] = mapped_column(Float)
