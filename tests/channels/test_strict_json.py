"""Strict JSON: what Python's json accepts but nothing else should."""

from __future__ import annotations

import json

import pytest

from channels.strict_json import SCAN_ABOVE, UnsafeJson, loads, nested_deeper


def test_ordinary_json_is_read() -> None:
    assert loads(b'{"a": [1, 2.5, "x", null, true], "b": {"c": "\\u00e8"}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": "è"},
    }
    deep: object = loads("[" * 32 + "]" * 32)
    for _ in range(31):
        assert isinstance(deep, list)
        deep = deep[0]
    assert deep == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"u": NaN}', "NaN"),
        ('{"u": Infinity}', "Infinity"),
        ('{"u": -Infinity}', "Infinity"),
        ('{"u": 1e999}', "out of range"),
        ('{"u": ' + "9" * 30 + "}", "too large"),
        ('{"u": ' + "9" * 5000 + "}", "too large"),
        ('{"t": "\\ud800"}', "surrogate"),
        ('{"\\udfff": 1}', "surrogate"),
        (b'{"t": "\xed\xa0\x80"}', "surrogate"),  # encoded, not escaped: no \\u to see
        ('{"t": "\ud800"}', "surrogate"),  # a str holding one
        ('{"t": "a\\u0000b"}', "NUL"),
        ('{"u": ' + "[" * 32 + "]" * 32 + "}", "deeper"),
        ("[" * 33 + "]" * 33, "deeper"),
        ("[" * 100_000 + "]" * 100_000, "deeper"),
        ("[" * 30_000, "deeper"),
        ('{"a": ', "not JSON"),
        (b"\xff\xfe\x00", "not"),
    ],
)
def test_unsafe_json_is_refused_with_a_reason(raw: str | bytes, reason: str) -> None:
    with pytest.raises(UnsafeJson, match=reason):
        loads(raw)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert loads('{"t": "' + "[" * 40 + '"}') == {"t": "[" * 40}
    assert loads('{"t": "\\u00e8 ' + "{" * 40 + '"}') == {"t": "è " + "{" * 40}


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ('["a\\"[[[["]', False),  # an escaped quote does not end the string
        ('["a\\\\"]', False),
        ('["a\\\\", [[[]]]]', True),  # an escaped backslash does
        ('{"k": "}}}{{{[[["}', False),
        ('[{"a": [{"b": []}]}]', True),
        ("[" + ", ".join(["{}"] * 300) + "]", False),
    ],
)
def test_the_depth_scan_counts_brackets_outside_strings(text: str, deeper: bool) -> None:
    assert nested_deeper(text, 3) is deeper
    json.loads(text)  # every case is JSON


def test_many_shallow_brackets_are_read_and_a_deep_text_refused_before_it_is_parsed() -> None:
    """More than SCAN_ABOVE brackets: the depth is scanned first, so the decoder (which
    recurses once a level) never goes deep (a collection starting deep in it had no stack
    left for the gc callbacks)."""
    wide = {"entry": [{"id": n, "changes": [{"v": [n]}]} for n in range(SCAN_ABOVE)]}
    assert loads(json.dumps(wide)) == wide
    with pytest.raises(UnsafeJson, match="deeper than 32"):
        loads('{"object": "page", "entry": ' + "[" * 5000 + "]" * 5000 + "}")
