"""An expanding IN's values padded to a power of two (router/store/padding.py)."""

from __future__ import annotations

from router.store.padding import padded


def test_values_are_padded_to_a_power_of_two() -> None:
    assert padded(["a"], "") == ["a"]
    assert padded(["a", "b"], "") == ["a", "b"]
    assert padded(["a", "b", "c"], "-") == ["a", "b", "c", "-"]
    assert len(padded([str(n) for n in range(33)], "")) == 64
