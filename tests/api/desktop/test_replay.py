"""An agent's replay buffer (api/desktop/replay.py): bounded by events and by bytes."""

from __future__ import annotations

import sys

from api.desktop.replay import ReplayBuffer


def text(n: int, size: int = 100) -> str:
    return f'{{"seq":{n},"text":"{"x" * size}"}}'


def test_past_either_bound_the_oldest_events_go() -> None:
    by_events = ReplayBuffer(max_events=3, max_bytes=10**9)
    for n in range(1, 6):
        by_events.append(n, f"c{n}", text(n))
    assert by_events.first_seq == 3 and by_events.texts == [text(3), text(4), text(5)]

    one = sys.getsizeof(text(1))
    by_bytes = ReplayBuffer(max_events=500, max_bytes=2 * one)
    for n in range(1, 6):
        by_bytes.append(n, f"c{n}", text(n))
    assert by_bytes.first_seq == 4 and by_bytes.texts == [text(4), text(5)]
    assert by_bytes.size == 2 * one


def test_resuming_gets_what_followed_or_none_when_it_was_dropped() -> None:
    buffer = ReplayBuffer(max_events=3)
    assert buffer.since(0) is None  # nothing kept yet: the caller knows the newest seq
    for n in range(1, 6):
        buffer.append(n, None, text(n))
    assert buffer.since(2) == [text(3), text(4), text(5)]
    assert buffer.since(4) == [text(5)]
    assert buffer.since(1) is None  # event 2 was dropped


def test_the_newest_event_is_kept_even_when_larger_than_the_bound() -> None:
    buffer = ReplayBuffer(max_events=500, max_bytes=10)
    buffer.append(1, "c1", text(1, 5_000))
    buffer.append(2, "c2", text(2, 5_000))
    assert buffer.first_seq == 2 and buffer.texts == [text(2, 5_000)]


def test_rewriting_a_contacts_events_keeps_the_size_right() -> None:
    buffer = ReplayBuffer(max_events=10)
    for n, contact in enumerate(["c1", "c2", "c1", None], start=1):
        buffer.append(n, contact, text(n, 1_000))
    buffer.rewrite({"c1"}, lambda old: '{"erased":true}')
    assert buffer.texts == ['{"erased":true}', text(2, 1_000), '{"erased":true}', text(4, 1_000)]
    assert buffer.size == sum(sys.getsizeof(kept) for kept in buffer.texts)
    assert buffer.first_seq == 1
