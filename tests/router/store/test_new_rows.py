"""new_row: a row as a flush would fill it, each row with defaults of its own."""

from __future__ import annotations

from router.store.new_rows import new_row
from router.store.schema import ContactRow


def test_defaults_are_filled_and_given_values_win() -> None:
    row = new_row(ContactRow, {"id": "c1", "arrival": 5.0, "urgency": 0.7, "text": None})
    assert (row.id, row.arrival, row.urgency, row.text) == ("c1", 5.0, 0.7, None)
    assert (row.domain, row.history_boost, row.transfers, row.subject) == ("default", 0.0, 0, "")
    assert row.triage == {} and row.excluded_agents == [] and row.customer_id is None
    columns = {column.key for column in ContactRow.__table__.columns}
    assert set(vars(row)) == columns


def test_every_row_gets_its_own_mutable_defaults() -> None:
    first, second = new_row(ContactRow, {"id": "a"}), new_row(ContactRow, {"id": "b"})
    first.triage["x"] = 1
    first.excluded_agents.append("agent")
    assert second.triage == {} and second.excluded_agents == []
