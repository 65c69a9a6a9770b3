"""Intake's history rules: what counts as an open case."""

from __future__ import annotations

from router.intake_facts import OpenCase, open_case
from router.store.histories import CustomerHistory, HandledContact


def history(*handled: HandledContact) -> CustomerHistory:
    return CustomerHistory(previous_contacts=len(handled), handled=list(handled))


def test_latest_unresolved_case_within_window_is_open() -> None:
    found = open_case(history(HandledContact(90.0, "anna", "billing", False)), since=50.0)
    assert found == OpenCase("billing", "anna")


def test_case_older_than_the_repeat_window_is_not_open() -> None:
    assert open_case(history(HandledContact(10.0, "anna", "billing", False)), since=50.0) is None


def test_a_later_resolved_case_closes_the_matter() -> None:
    latest_resolved = history(
        HandledContact(95.0, "bruno", "cards", True), HandledContact(90.0, "anna", "billing", False)
    )
    assert open_case(latest_resolved, since=50.0) is None


def test_a_contact_still_in_progress_is_skipped() -> None:
    in_progress = history(
        HandledContact(99.0, "carla", "tech", None), HandledContact(90.0, "anna", "billing", False)
    )
    assert open_case(in_progress, since=50.0) == OpenCase("billing", "anna")


def test_no_history_no_case() -> None:
    assert open_case(CustomerHistory(), since=0.0) is None
