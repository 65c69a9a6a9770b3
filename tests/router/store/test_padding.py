"""An expanding IN's values padded to a power of two (router/store/padding.py)."""

from __future__ import annotations

from router.store.padding import MOST_IN_ONE, padded, padded_parts


def test_values_are_padded_to_a_power_of_two() -> None:
    assert padded(["a"], "") == ["a"]
    assert padded(["a", "b"], "") == ["a", "b"]
    assert padded(["a", "b", "c"], "-") == ["a", "b", "c", "-"]
    assert len(padded([str(n) for n in range(33)], "")) == 64


def test_more_values_than_one_statement_takes_go_in_padded_parts() -> None:
    values = [str(n) for n in range(MOST_IN_ONE + 3)]
    parts = list(padded_parts(values, "-"))
    assert [len(part) for part in parts] == [MOST_IN_ONE, 4]
    assert parts[0] + parts[1][:3] == values and parts[1][3] == "-"
    assert list(padded_parts([], "-")) == []
