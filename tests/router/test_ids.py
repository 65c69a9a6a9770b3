import uuid

from router.ids import new_id


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
