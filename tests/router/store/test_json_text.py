"""JSON columns are written by orjson and read back by the standard library unchanged."""

from __future__ import annotations

import json

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
