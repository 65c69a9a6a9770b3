"""A known interval of events, shared by the report tests, with its exact figures.

S is the start of a 15-minute interval. Chat, queue billing (SLA 60 s), short abandon 5 s:

- c1 arrives S+10, answered by anna at S+40 (30 s wait), completed at S+130;
- c2 arrives S+20, answered by bruno at S+120 (100 s: late), transferred by bruno to cards
  at S+300, answered there by anna at S+320, completed at S+1000 (next interval);
- c3 arrives S+30 and hangs up at S+33 (a short abandon); c4 arrives S+50, leaves at S+250;
- c5 arrived S-100, answered by bruno at S-50, completed at S+60;
- feedback: c1 CSAT 5 / NPS 10 at S+200 (anna), c5 CSAT 2 / NPS 3 at S+400 (bruno);
- anna available since S-1000, on break S+500 to S+800; bruno logs in at S+100, off at S+700.
"""

from __future__ import annotations

from typing import Any

S = 1_800_000_000.0  # a multiple of 900

# (contact, arrival, events: (offset from S, kind, detail))
CONTACTS: list[tuple[str, float, list[tuple[float, str, dict[str, Any]]]]] = [
    (
        "c1",
        S + 10,
        [
            (10, "offered", {"agent_id": "anna", "explanation": {"queue": "billing"}}),
            (40, "assigned", {"agent_id": "anna", "waited_seconds": 30.0}),
            (100, "wrap_up", {"agent_id": "anna"}),
            (130, "completed", {"agent_id": "anna"}),
        ],
    ),
    (
        "c2",
        S + 20,
        [
            (20, "queued", {"queue": "billing", "reason": "arrival"}),
            (120, "offered", {"agent_id": "bruno", "explanation": {"queue": "billing"}}),
            (120, "assigned", {"agent_id": "bruno", "waited_seconds": 100.0}),
            (300, "transferred", {"from_agent": "bruno", "queue": "cards"}),
            (300, "queued", {"queue": "cards", "reason": "transfer"}),
            (320, "offered", {"agent_id": "anna", "explanation": {"queue": "cards"}}),
            (320, "assigned", {"agent_id": "anna", "waited_seconds": 300.0}),
            (1000, "completed", {"agent_id": "anna"}),
        ],
    ),
    (
        "c3",
        S + 30,
        [(30, "queued", {"queue": "billing"}), (33, "abandoned", {"waited_seconds": 3.0})],
    ),
    (
        "c4",
        S + 50,
        [(50, "queued", {"queue": "billing"}), (250, "abandoned", {"waited_seconds": 200.0})],
    ),
    (
        "c5",
        S - 100,
        [
            (-100, "queued", {"queue": "billing"}),
            (-50, "assigned", {"agent_id": "bruno", "waited_seconds": 50.0}),
            (60, "completed", {"agent_id": "bruno"}),
        ],
    ),
]
FEEDBACK = [("c1", "anna", S + 200, 5, 10), ("c5", "bruno", S + 400, 2, 3)]
STATES = [
    ("anna", S - 1000, "available", ""),
    ("anna", S + 500, "away", "break"),
    ("anna", S + 800, "available", ""),
    ("bruno", S + 100, "available", ""),
    ("bruno", S + 700, "offline", ""),
]

# the interval's figures for billing/chat, and per agent
BILLING_CHAT = {
    "offered": 4,
    "answered": 2,
    "answered_within_sla": 1,
    "abandoned": 2,
    "short_abandoned": 1,
    "service_level": 0.3333,  # 1 within / (2 answered + 2 abandoned - 1 short)
    "asa": 65.0,
    "abandon_rate": 0.3333,
    "handled": 3,
    "aht": 126.667,  # (90 + 180 + 110) / 3
    "transfers": 1,
    "csat": 3.5,
    "nps": 0.0,
}
TIME = {
    ("anna", "available", ""): 600.0,
    ("anna", "away", "break"): 300.0,
    ("anna", "busy", ""): 670.0,  # c1 40..130, c2 320..900
    ("bruno", "available", ""): 600.0,
    ("bruno", "busy", ""): 240.0,  # c5 0..60 (from the interval start), c2 120..300
}
