"""The simulator's own record of a day, in the trace format.

``record_day`` turns a finished simulation into trace rows (what each contact brought and
what happened to it), so that a replay of it can be checked against its record
(router.simulation.recorded) and so that tests have a day whose truth is known.
"""

from __future__ import annotations

from router.simulation.loop import Simulation
from router.simulation.trace import TraceRow


def record_day(simulation: Simulation) -> list[TraceRow]:
    """The contacts of a finished run as trace rows, with what happened to each."""
    rows = []
    for number, (contact_id, outcome) in enumerate(simulation.contacts.items(), start=2):
        caller = simulation.callers[contact_id]
        drawn = simulation.drawn[contact_id]
        state = ""
        if outcome.answered_at is not None:
            state = "answered"
        elif outcome.abandoned_at is not None:
            state = "abandoned"
        rows.append(
            TraceRow(
                row=number,
                arrival=outcome.arrival,
                channel=outcome.channel,
                language=caller.language,
                intent=caller.intent,
                text=caller.text,
                urgency=outcome.urgency,
                customer=outcome.customer,
                handle_time=drawn.handle_time,
                patience=drawn.patience,
                resolved=drawn.resolved,
                outcome=state,
                wait=outcome.time_in_queue,
            )
        )
    return rows
