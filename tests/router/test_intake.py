"""router/intake.py's result as a command's reply carries it (several nodes)."""

from __future__ import annotations

import dataclasses

from router.intake import IntakeResult


def test_an_intake_result_as_a_dict_has_every_field_as_asdict_gives_it() -> None:
    """``as_dict`` reads the slots (``asdict`` deep-copies, a few % of the router's CPU for
    a contact another node took in): the same dict, and it makes the same result again."""
    result = IntakeResult(
        "c1", True, "queued", "billing", "closed until 9:00", {"opens_at": 9.0}, 12.5
    )
    assert result.as_dict() == dataclasses.asdict(result)
    assert IntakeResult(**result.as_dict()) == result
