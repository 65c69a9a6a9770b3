"""Strict JSON: what Python's json accepts but nothing else should."""

from __future__ import annotations

import pytest

from channels.strict_json import UnsafeJson, loads


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
