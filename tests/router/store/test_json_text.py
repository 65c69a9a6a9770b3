"""JSON columns are written by orjson and read back by the standard library unchanged."""

from __future__ import annotations

import json
import math

from router.store import json_text
from router.store.json_text import dumps


def test_what_the_records_hold_reads_back_the_same() -> None:
    value = {
        "rules_tried": [{"rule": "billing", "result": "no match"}],
        "text": "perché è già così? 😡",
        "urgency": 0.25,
        "nothing": None,
        "flags": [True, False],
        "nested": {"a": {"b": [1, 2.5, "x"]}},
    }
    written = dumps(value)
    assert json.loads(written) == value
    assert "😡" in written  # UTF-8, not \\u escapes


def test_keys_that_are_not_strings_become_strings_as_json_dumps_makes_them() -> None:
    keyed = {1: "a", 2.5: "b", False: "c", None: "d"}
    assert json.loads(dumps(keyed)) == json.loads(json.dumps(keyed))


def test_an_integer_past_64_bits_is_still_written() -> None:
    huge = 2**70
    assert json.loads(dumps({"n": huge})) == {"n": huge}


def test_tuples_are_lists() -> None:
    assert json.loads(dumps({"skills": (("support", 3),)})) == {"skills": [["support", 3]]}


def test_what_it_writes_it_reads_back_and_it_reads_what_json_dumps_wrote() -> None:
    """``loads`` (several nodes' commands and replies): orjson's reading, and the standard
    library's for what orjson refuses, ``NaN`` and ``Infinity`` (json.dumps writes them; a
    node of an earlier version sent its commands so)."""
    value = {"row": {"id": "c1", "urgency": 0.25, "triage": {"it": [1, 2]}}, "n": None}
    assert json_text.loads(json_text.dumps(value)) == value
    assert json_text.loads(json_text.dumps(value).encode()) == value
    read = json_text.loads(json.dumps({"urgency": math.nan, "wait": math.inf}))
    assert math.isnan(read["urgency"]) and read["wait"] == math.inf
