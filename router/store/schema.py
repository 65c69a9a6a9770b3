"""Tables: agents, contacts, offers (the assignments are accepted offers), routing events."""

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
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class ContactRow(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("gateway", "external_id", name="uq_contacts_gateway_message"),
        Index("ix_contacts_state", "state"),
        Index("ix_contacts_customer_arrival", "customer_id", "arrival"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
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


class RouterFenceRow(Base):
    """The fencing token of the router allowed to write routing decisions (several nodes:
    see router/cluster/lease.py). Absent in the embedded single-process mode."""

    __tablename__ = "router_fence"

    domain: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)


class QueueSwitchRow(Base):
    """A queue closed by hand ("closed now", or ``*`` for every queue) until reopened;
    kept so a restart or a router failover does not reopen it (router/hours.py)."""

    __tablename__ = "queue_switches"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[float] = mapped_column(Float)
