import time
import uuid

from router.ids import new_id, ordered_id


def test_an_id_is_a_random_uuid4_in_hex() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.hex == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_every_random_bit_varies() -> None:
    """122 bits come from the random source: none is stuck at 0 or 1 across many ids."""
    values = [int(new_id(), 16) for _ in range(2000)]
    ones = zeros = 0
    for value in values:
        ones |= value
        zeros |= ~value
    fixed = 128 - 122
    stuck = 128 - bin(ones & zeros & ((1 << 128) - 1)).count("1")
    assert stuck == fixed


def test_an_ordered_id_is_a_uuid7_of_now_in_hex() -> None:
    before = time.time_ns() // 1_000_000
    ids = [ordered_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.hex == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert before <= int(text[:12], 16) <= after  # its first 48 bits: Unix ms


def test_ordered_ids_of_later_milliseconds_sort_after() -> None:
    first = ordered_id()
    moment = time.time_ns()
    while time.time_ns() // 1_000_000 == moment // 1_000_000:
        pass  # into the next millisecond
    later = [ordered_id() for _ in range(100)]
    assert all(first < text for text in later)


def test_every_random_bit_of_an_ordered_id_varies() -> None:
    """74 bits after the time come from the random source: none stuck at 0 or 1."""
    values = [int(ordered_id(), 16) & ((1 << 80) - 1) for _ in range(2000)]
    ones = zeros = 0
    for value in values:
        ones |= value
        zeros |= ~value
    stuck = 80 - bin(ones & zeros & ((1 << 80) - 1)).count("1")
    assert stuck == 80 - 74
