"""What a new contact for a closed queue gets: the queue's after-hours policy.

A notice (and queued), an overflow to an open queue, or a callback offer for the opening
(``after_hours`` in config.yaml; the hours and manual switches are router/hours.py's).
"""

from __future__ import annotations

from typing import Any

from router.hours import HoursBook
from router.models import RoutePolicy
from router.rules.planner import Planner
from skills.vocabulary import Channel


def after_hours_policy(
    hours: HoursBook,
    planner: Planner,
    policy: RoutePolicy,
    channel: Channel,
    extra_skills: dict[str, int] | None,
    now: float,
) -> tuple[RoutePolicy, dict[str, Any] | None]:
    """The contact's policy (another queue's if it overflows there) and what to tell of
    the closed queue (None: the queue is open)."""
    status = hours.status(policy.queue, channel, now)
    if status.open:
        return policy, None
    spec = planner.config.after_hours_for(policy.queue)
    action = spec.action
    closed = policy.queue
    if action == "overflow" and spec.queue is not None:
        if hours.status(spec.queue, channel, now).open:
            policy = planner.queue_policy(
                spec.queue, f"(after hours: {closed} closed)", extra_skills
            )
        else:
            action = "notice"  # nowhere open to go: queue with the notice
    opens = status.when_text(now) if status.change_at is not None else "as soon as possible"
    return policy, {
        "queue": closed,
        "status": status.as_dict(now),
        "text": status.text(now),
        "action": action,
        "overflow_to": policy.queue if policy.queue != closed else None,
        "callback_at": status.change_at if action == "callback" else None,
        "notice": spec.notice.replace("{opens}", opens),
    }
