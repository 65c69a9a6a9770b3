"""The interval aggregation on a known sequence of events: exact figures."""

from __future__ import annotations

from router.reports.aggregate import (
    ContactFacts,
    EventFacts,
    FeedbackFacts,
    Inputs,
    StateFacts,
    aggregate,
)
from router.rules.model import ReportsSpec
from tests.engine_helpers import RULES
from tests.router.reports.day import CONTACTS, FEEDBACK, STATES, TIME, S

CONFIG = RULES.config.model_copy(update={"reports": ReportsSpec(short_abandon=5)})


def known_inputs() -> Inputs:
    inputs = Inputs()
    for contact_id, arrival, events in CONTACTS:
        inputs.contacts[contact_id] = ContactFacts(contact_id, "chat", "billing", arrival)
        inputs.events += [
            EventFacts(contact_id, S + offset, kind, detail)
            for offset, kind, detail in events
            if S + offset < S + 900
        ]
    for _contact_id, agent, at, csat, nps in FEEDBACK:
        inputs.feedback.append(FeedbackFacts(agent, "billing", "chat", at, csat, nps))
    for agent, at, presence, code in STATES:
        state = StateFacts(agent, at, presence, code)
        if at < S:
            inputs.states_before[agent] = state
        else:
            inputs.states.append(state)
    return inputs


def test_known_interval_gives_exact_figures() -> None:
    figures = aggregate(S, S + 900, known_inputs(), CONFIG)
    unattributed = figures.counts[("billing", "chat", "")]
    assert (unattributed.offered, unattributed.abandoned, unattributed.short_abandoned) == (4, 2, 1)
    anna = figures.counts[("billing", "chat", "anna")]
    assert (anna.answered, anna.answered_within, anna.wait_total) == (1, 1, 30.0)
    assert (anna.handled, anna.handle_total, anna.csat_sum, anna.nps_promoters) == (1, 90.0, 5, 1)
    bruno = figures.counts[("billing", "chat", "bruno")]
    assert (bruno.answered, bruno.answered_within, bruno.transfers) == (1, 0, 1)
    assert (bruno.handled, bruno.handle_total, bruno.nps_detractors) == (2, 290.0, 1)
    assert set(figures.counts) == {
        ("billing", "chat", ""),
        ("billing", "chat", "anna"),
        ("billing", "chat", "bruno"),
    }
    assert figures.time == TIME


def test_the_interval_in_progress_counts_time_only_up_to_now() -> None:
    figures = aggregate(S, S + 600, known_inputs(), CONFIG)
    assert figures.time[("anna", "available", "")] == 500.0
    assert figures.time[("anna", "away", "break")] == 100.0
    assert figures.time[("anna", "busy", "")] == 90.0 + 280.0
    assert figures.time[("bruno", "available", "")] == 500.0
