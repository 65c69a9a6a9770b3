"""The customer 360 and personal data on real SQLite and PostgreSQL: reading, correcting,
merging and unmerging customers, export, erasure and retention."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from router.store.errors import CustomerRecordError
from router.store.repository import Store
from router.store.schema import (
    ContactRow,
    FeedbackRow,
    MessageRow,
    OutboxEventRow,
    ReplyRow,
    RoutingEventRow,
    ThreadRow,
)
from skills.identity import Identity, email_identity, phone_identity
from tests.engine_helpers import policy

PAOLO_PHONE = phone_identity("+39 347 123 4567")
PAOLO_EMAIL = email_identity("paolo.neri@example.it")
ANNA_EMAIL = email_identity("anna.neri@example.it")


def contact(contact_id: str, customer_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": contact_id,
        "gateway": "gw",
        "external_id": f"m-{contact_id}",
        "channel": "email",
        "customer_id": customer_id,
        "customer": {"email": "paolo.neri@example.it", "name": "Paolo Neri"},
        "subject": f"subject of {contact_id}",
        "text": f"text of {contact_id}, call me on 347 123 4567",
        "queue": "billing",
        "rule": "billing",
        "policy": policy("billing").to_dict(),
        "triage": {"rule": "billing", "queue": "billing", "identities": ["email:x"]},
        "state": "completed",
        "agent_id": "giulia",
        "outcome": "wrap_up_timeout",
        "resolved": None,
        "arrival": 1000.0,
        "updated_at": 1000.0,
    }
    values.update(fields)
    return values


async def feedback(store: Store, contact_id: str, csat: int, comment: str = "") -> None:
    row = await store.contact(contact_id)
    assert row is not None
    await store.aftercare.record_feedback(row, csat, None, comment, 2000.0)


async def rows(store: Store, model: Any, **where: Any) -> list[Any]:
    async with store.engine.connect() as connection:
        statement = select(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return list((await connection.execute(statement)).mappings().all())


async def two_people(store: Store) -> tuple[str, str]:
    """Paolo (phone + email, two contacts) and Anna (email, one contact)."""
    paolo = (
        await store.customers.resolve([PAOLO_PHONE, PAOLO_EMAIL], "Paolo Neri", 10.0)
    ).customer_id
    anna = (await store.customers.resolve([ANNA_EMAIL], "Anna Neri", 20.0)).customer_id
    await store.add_contact(contact("p1", paolo, channel="voice", arrival=1000.0))
    await store.add_contact(
        contact("p2", paolo, arrival=2000.0, outcome="rimborso emesso", resolved=False)
    )
    await store.add_contact(contact("a1", anna, arrival=1500.0, outcome="ok", resolved=True))
    return paolo, anna


async def test_profile_has_name_identities_open_case_and_dated_history(store: Store) -> None:
    paolo, _ = await two_people(store)
    await feedback(store, "p2", 2)
    profile = await store.records.profile(paolo)
    assert profile is not None
    assert profile["name"] == "Paolo Neri"
    assert {(i["kind"], i["value"]) for i in profile["identities"]} == {
        ("phone", "+393471234567"),
        ("email", "paolo.neri@example.it"),
    }
    newest, oldest = profile["history"]
    assert newest["contact_id"] == "p2" and newest["at"] == 2000.0
    assert newest["subject"] == "subject of p2" and newest["csat"] == 2
    assert newest["outcome_label"] == "rimborso emesso" and newest["agent_id"] == "giulia"
    assert oldest["channel"] == "voice" and oldest["csat"] is None
    assert oldest["outcome_label"] == "closed automatically: no wrap-up in time"  # not the code
    assert profile["open_case"]["contact_id"] == "p2"  # ended unresolved
    history = await store.customer_history(paolo, 0.0)
    assert history.name == "Paolo Neri" and "phone:+393471234567" in history.identities
    assert history.recent[0]["csat"] == 2 and history.recent[0]["subject"] == "subject of p2"


async def test_search_update_and_identities(store: Store) -> None:
    paolo, anna = await two_people(store)
    (found,) = await store.records.search(PAOLO_PHONE)
    assert found["customer_id"] == paolo
    assert await store.records.search(email_identity("nobody@example.it")) == []
    await store.records.update(paolo, 3000.0, "admin", "Paolo G. Neri", "prefers email")
    profile = await store.records.profile(paolo)
    assert profile is not None
    assert (profile["name"], profile["notes"]) == ("Paolo G. Neri", "prefers email")
    extra = Identity("instagram", "1784")
    assert await store.records.add_identity(paolo, extra, 3000.0, "admin")
    assert not await store.records.add_identity(paolo, extra, 3000.0, "admin")  # already his
    with pytest.raises(CustomerRecordError) as taken:
        await store.records.add_identity(anna, extra, 3000.0, "admin")
    assert taken.value.status == 409
    await store.records.remove_identity(paolo, extra, 3001.0, "admin")
    with pytest.raises(CustomerRecordError) as missing:
        await store.records.remove_identity(paolo, extra, 3001.0, "admin")
    assert missing.value.status == 404
    with pytest.raises(CustomerRecordError) as unknown:
        await store.records.update("nobody", 1.0, "admin", "x", None)
    assert unknown.value.status == 404
    actions = [entry["action"] for entry in await store.records.audit(paolo)]
    assert actions == ["updated", "identity_added", "identity_removed"]


async def test_an_automatic_merge_is_recorded_and_can_be_undone(store: Store) -> None:
    """A shared family phone: Anna writes with the phone Paolo called from, and the two
    are merged; undoing it gives Anna back her email and her contact."""
    paolo, anna = await two_people(store)
    linked = await store.customers.resolve([ANNA_EMAIL, PAOLO_PHONE], "", 4000.0)
    assert linked.customer_id == paolo and linked.merged == (anna,)
    profile = await store.records.profile(anna)  # a merged id answers with the primary
    assert profile is not None and profile["customer_id"] == paolo
    assert [h["contact_id"] for h in profile["history"]] == ["p2", "a1", "p1"]
    (merge,) = profile["merges"]
    assert merge["by"] == "intake" and merge["identities"] == ["email:anna.neri@example.it"]
    undone = await store.merges.unmerge(merge["merge_id"], 5000.0, "admin:lucia")
    assert undone.merged_id == anna and undone.contacts == ["a1"]
    anna_again = await store.records.profile(anna)
    paolo_again = await store.records.profile(paolo)
    assert anna_again is not None and paolo_again is not None
    assert anna_again["customer_id"] == anna
    assert [i["value"] for i in anna_again["identities"]] == ["anna.neri@example.it"]
    assert [h["contact_id"] for h in anna_again["history"]] == ["a1"]
    assert [h["contact_id"] for h in paolo_again["history"]] == ["p2", "p1"]
    assert (await store.customers.resolve([ANNA_EMAIL], "", 6000.0)).customer_id == anna
    with pytest.raises(CustomerRecordError) as again:
        await store.merges.unmerge(merge["merge_id"], 5001.0, "admin")
    assert again.value.status == 409


async def test_admin_merge_then_unmerge(store: Store) -> None:
    paolo, anna = await two_people(store)
    result = await store.merges.merge(paolo, anna, 4000.0, "admin")
    assert result.identities == ["email:anna.neri@example.it"] and result.contacts == ["a1"]
    with pytest.raises(CustomerRecordError) as merged:
        await store.merges.merge(anna, paolo, 4001.0, "admin")
    assert merged.value.status == 409
    assert (await store.customers.resolve([ANNA_EMAIL], "", 4002.0)).customer_id == paolo
    await store.merges.unmerge(result.merge_id, 4003.0, "admin")
    assert (await store.customers.resolve([ANNA_EMAIL], "", 4004.0)).customer_id == anna
    assert [a["action"] for a in await store.records.audit(anna)] == ["merged", "unmerged"]


async def test_export_holds_everything(store: Store) -> None:
    paolo, _ = await two_people(store)
    await store.add_message("p2", 2100.0, "message", "another message", {})
    await feedback(store, "p2", 2, "slow answer")
    await store.link_threads("gw", ["<m-p2@example.it>"], "p2", 2000.0)
    await store.records.update(paolo, 3000.0, "admin", None, "prefers email")
    exported = await store.privacy.export(paolo)
    assert exported is not None
    assert exported["customers"][0]["name"] == "Paolo Neri"
    assert exported["notes"][0]["notes"] == "prefers email"
    assert {i["value"] for i in exported["identities"]} == {
        "+393471234567",
        "paolo.neri@example.it",
    }
    assert [c["id"] for c in exported["contacts"]] == ["p1", "p2"]
    assert exported["contacts"][1]["messages"][0]["text"] == "another message"
    assert exported["feedback"][0]["comment"] == "slow answer"
    assert exported["conversation_keys"][0]["key"] == "<m-p2@example.it>"
    assert await store.privacy.export("nobody") is None


async def test_erasure_removes_personal_data_and_keeps_statistics(store: Store) -> None:
    paolo, anna = await two_people(store)
    await store.customers.resolve([ANNA_EMAIL, PAOLO_PHONE], "", 4000.0)  # merged: one person
    await store.add_message("p2", 2100.0, "message", "my IBAN is IT60X...", {})
    await feedback(store, "p2", 2, "slow answer")
    await store.link_threads("gw", ["<m-p2@example.it>"], "p2", 2000.0)
    await store.add_contact(contact("live", paolo, state="queued", arrival=5000.0))
    async with store.engine.begin() as connection:
        await connection.execute(
            RoutingEventRow.__table__.insert().values(
                contact_id="p2",
                at=2500.0,
                kind="completed",
                detail={"agent_id": "giulia", "outcome": "rimborso a Paolo Neri"},
            )
        )
    async with store.engine.begin() as connection:
        for reply_id, status in (("r-sent", "sent"), ("r-going", "sending")):
            await connection.execute(
                ReplyRow.__table__.insert().values(
                    id=reply_id,
                    contact_id="p2",
                    agent_id="giulia",
                    sender="smtp",
                    platform="email",
                    recipient="paolo.neri@example.it",
                    text="Gentile Paolo",
                    subject="Re: bolletta",
                    status=status,
                    created_at=2600.0,
                    updated_at=2600.0,
                )
            )
        await connection.execute(
            OutboxEventRow.__table__.insert().values(
                event_id="ev-1",
                contact_id="p2",
                type="contact.completed",
                at=2700.0,
                payload={
                    "id": "ev-1",
                    "contact": {"id": "p2", "external_id": "<m@x>"},
                    "data": {"agent_id": "giulia", "outcome": "rimborso a Paolo"},
                },
            )
        )
    refused = await store.privacy.erase(paolo, 6000.0, "admin")
    assert refused.status == "live" and refused.contact_ids == ("live",)
    async with store.engine.begin() as connection:
        await connection.execute(
            ContactRow.__table__.update().where(ContactRow.id == "live").values(state="abandoned")
        )
    sending = await store.privacy.erase(paolo, 6000.0, "admin")
    assert sending.status == "replying" and sending.contact_ids == ("r-going",)
    async with store.engine.begin() as connection:
        await connection.execute(
            ReplyRow.__table__.update().where(ReplyRow.id == "r-going").values(status="sent")
        )
    erasure = await store.privacy.erase(anna, 6000.0, "admin")  # the merged id: whole person
    assert erasure.status == "erased"
    assert set(erasure.customer_ids) == {paolo, anna}
    assert set(erasure.contact_ids) == {"p1", "p2", "a1", "live"}
    assert await store.records.profile(paolo) is None
    assert await store.records.search(PAOLO_PHONE) == []
    assert await rows(store, MessageRow) == []
    assert await rows(store, ThreadRow) == []
    (score,) = await rows(store, FeedbackRow)
    assert (score["csat"], score["comment"]) == (2, "")  # the statistic stays, the words go
    for row in await rows(store, ContactRow):
        assert row["customer_id"] is None and row["customer"] == {}
        assert row["text"] == "" and row["subject"] == ""
        assert row["queue"] == "billing" and row["triage"]["erased"] is True
        assert "identities" not in row["triage"]
    for reply in await rows(store, ReplyRow):
        assert (reply["recipient"], reply["text"], reply["status"]) == ("", "", "sent")
    (event,) = await rows(store, OutboxEventRow)
    assert event["payload"]["contact"]["external_id"] == "erased:p2"
    assert event["payload"]["data"] == {"agent_id": "giulia", "erased": True}
    (completed,) = await rows(store, RoutingEventRow, kind="completed")
    assert completed["detail"] == {"agent_id": "giulia", "outcome": "(erased)"}
    summary = await store.aftercare.feedback_summary()
    assert summary["overall"]["csat_average"] == 2
    # a new contact from the same phone is a new customer
    fresh = await store.customers.resolve([PAOLO_PHONE], "", 7000.0)
    assert fresh.created and fresh.customer_id not in erasure.customer_ids
    audit = await store.records.audit(paolo)
    assert audit[-1]["action"] == "erased" and audit[-1]["detail"]["messages"] == 1
    assert "Paolo" not in repr(audit)
    assert (await store.privacy.erase(paolo, 8000.0, "admin")).status == "unknown"


async def test_retention_purges_old_texts_and_messages(store: Store) -> None:
    paolo, _ = await two_people(store)
    await store.add_contact(contact("new", paolo, arrival=9000.0))
    await store.add_message("p1", 1100.0, "message", "old words", {})
    await store.add_message("new", 9100.0, "message", "recent words", {})
    await feedback(store, "p1", 4, "old comment")
    purged = await store.privacy.purge(before=5000.0, now=10_000.0)
    assert purged["contacts"] == 3 and purged["messages"] == 1
    texts = {row["id"]: row["text"] for row in await rows(store, ContactRow)}
    assert texts["p1"] == "" and texts["a1"] == "" and texts["new"].startswith("text of new")
    assert [m["text"] for m in await rows(store, MessageRow)] == ["recent words"]
    (comment,) = await rows(store, FeedbackRow)
    assert (comment["csat"], comment["comment"]) == (4, "")
    assert (await store.privacy.purge(before=5000.0, now=10_001.0))["contacts"] == 0
    profile = await store.records.profile(paolo)  # the customer and identities stay
    assert profile is not None and len(profile["identities"]) == 2
