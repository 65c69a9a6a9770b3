"""The retention job with the rules in force: texts older than ``retention.texts`` are
purged, younger ones and the contacts' statistics stay; retention 0 purges nothing."""

from __future__ import annotations

from router.engine import Engine
from router.intake import Intake
from router.retention import purge_due
from router.rules.loader import parse_rules
from router.rules.planner import Planner
from router.runtime import RouterRuntime
from router.store.repository import Store
from tests.engine_helpers import CONFIG, policy

DAY = 86_400.0
NOW = 1_000 * DAY


def contact(contact_id: str, age_days: float) -> dict[str, object]:
    at = NOW - age_days * DAY
    return {
        "id": contact_id,
        "gateway": "gw",
        "external_id": contact_id,
        "channel": "email",
        "customer_id": "c1",
        "subject": "La mia bolletta",
        "text": "Sono Paolo Neri, il mio IBAN è IT60X0542811101000000123456",
        "queue": "billing",
        "rule": "billing",
        "policy": policy("billing").to_dict(),
        "state": "completed",
        "outcome": "fatto",
        "arrival": at,
        "updated_at": at,
    }


def intake(store: Store, retention: str) -> Intake:
    rules = parse_rules(CONFIG + retention, "test-config.yaml")
    runtime = RouterRuntime(Engine(rules.config), store, clock=lambda: NOW)
    return Intake(runtime, Planner(rules))


async def test_old_texts_are_purged_and_recent_ones_kept(store: Store) -> None:
    await store.add_contact(contact("old", age_days=40))
    await store.add_contact(contact("recent", age_days=10))
    await store.add_message("old", NOW - 40 * DAY, "message", "vecchio messaggio", {})
    await store.add_message("recent", NOW - 10 * DAY, "message", "messaggio recente", {})
    counts = await purge_due(intake(store, "retention: {texts: 30d}\n"))
    assert counts == {"contacts": 1, "messages": 1, "feedback_comments": 0, "replies": 0}
    old, recent = await store.contact("old"), await store.contact("recent")
    assert old is not None and recent is not None
    assert (old.text, old.subject, old.outcome, old.queue) == ("", "", "fatto", "billing")
    assert recent.text.startswith("Sono Paolo Neri")
    history = await store.customer_history("c1", 0.0)
    assert history.previous_contacts == 2  # the contacts themselves stay


async def test_retention_off_purges_nothing(store: Store) -> None:
    await store.add_contact(contact("ancient", age_days=900))
    assert await purge_due(intake(store, "")) == {}
    kept = await store.contact("ancient")
    assert kept is not None and kept.text.startswith("Sono Paolo Neri")
