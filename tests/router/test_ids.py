import time
import uuid

from router.ids import new_id, ordered_id


def assert_distinct_uuids(ids: list[str], version: int) -> None:
    """Each a UUID of this version and RFC 4122's variant in 32 hex digits, none twice."""
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.hex, parsed.version, parsed.variant) == (text, version, uuid.RFC_4122)


def varying_bits(values: list[int], width: int) -> int:
    """How many of the low ``width`` bits are 0 in some value and 1 in another."""
    ones = zeros = 0
    for value in values:
        ones |= value
        zeros |= ~value
    return bin(ones & zeros & ((1 << width) - 1)).count("1")


def test_an_id_is_a_random_uuid4_in_hex() -> None:
    assert_distinct_uuids([new_id() for _ in range(2000)], 4)


def test_every_random_bit_varies() -> None:
    """122 bits come from the random source: none is stuck at 0 or 1 across many ids."""
    assert varying_bits([int(new_id(), 16) for _ in range(2000)], 128) == 122


def test_an_ordered_id_is_a_uuid7_of_now_in_hex() -> None:
    before = time.time_ns() // 1_000_000
    ids = [ordered_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert_distinct_uuids(ids, 7)
    for text in ids:
        assert before <= int(text[:12], 16) <= after  # its first 48 bits: Unix ms


def test_ordered_ids_of_later_milliseconds_sort_after() -> None:
    first = ordered_id()
    moment = time.time_ns()
    while time.time_ns() // 1_000_000 == moment // 1_000_000:
        pass  # into the next millisecond
    later = [ordered_id() for _ in range(100)]
    assert all(first < text for text in later)


def test_every_random_bit_of_an_ordered_id_varies() -> None:
    """74 of the 80 bits after the time come from the random source (the others are the
    version and the variant): none stuck at 0 or 1."""
    values = [int(ordered_id(), 16) for _ in range(2000)]
    assert varying_bits(values, 80) == 74
