"""Signed web-chat identities: HMAC-SHA256 over a canonical string, expiry, key rotation."""

from __future__ import annotations

import pytest

from channels.signed_identity import (
    IdentityKeys,
    UntrustedIdentity,
    canonical,
    parse_keys,
    sign,
)

SECRET = "a-long-site-secret-2026"
KEYS = IdentityKeys({"site-2026": SECRET.encode()}, max_age=600)


def test_the_canonical_string_is_documented_and_stable() -> None:
    text = canonical("user:42", "site-2026", 1_700_000_000)
    assert text == b"centralino-chat-identity:v1\nsite-2026\n1700000000\nuser:42"


def test_a_signed_user_id_is_verified() -> None:
    signature = sign(SECRET, "site-2026", 1000, user_id="42")
    visitor = KEYS.verify("site-2026", 1000, signature, now=1100, user_id="42")
    assert visitor.user_id == "42" and visitor.email is None and visitor.key_id == "site-2026"
    assert KEYS.verify("site-2026", 1000, signature.upper(), now=1100, user_id="42")


def test_a_signed_email_is_normalised_before_signing_and_checking() -> None:
    signature = sign(SECRET, "site-2026", 1000, email="Vera@Example.com ")
    visitor = KEYS.verify("site-2026", 1000, signature, now=1000, email="vera@example.com")
    assert visitor.email == "vera@example.com"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"user_id": "43"}, "does not match"),  # someone else
        ({"key_id": "site-2025"}, "unknown identity key"),
        ({"now": 1000 + 601}, "expired"),
        ({"now": 1000 - 61}, "future"),
        ({"signature": "0" * 64}, "does not match"),
    ],
)
def test_anything_else_is_untrusted(change: dict[str, object], reason: str) -> None:
    claim: dict[str, object] = {
        "key_id": "site-2026",
        "issued_at": 1000,
        "signature": sign(SECRET, "site-2026", 1000, user_id="42"),
        "now": 1100,
        "user_id": "42",
    }
    claim.update(change)
    with pytest.raises(UntrustedIdentity, match=reason):
        KEYS.verify(**claim)  # type: ignore[arg-type]


def test_a_signature_made_for_an_email_does_not_vouch_for_a_user_id() -> None:
    signature = sign(SECRET, "site-2026", 1000, email="42")
    with pytest.raises(UntrustedIdentity):
        KEYS.verify("site-2026", 1000, signature, now=1000, user_id="42")


def test_rotation_by_key_id() -> None:
    keys = IdentityKeys(parse_keys("old:an-old-secret-0001, new:a-new-secret-00002"), 600)
    for key_id, secret in (("old", "an-old-secret-0001"), ("new", "a-new-secret-00002")):
        signature = sign(secret, key_id, 1000, user_id="7")
        assert keys.verify(key_id, 1000, signature, now=1000, user_id="7").user_id == "7"
    crossed = sign("an-old-secret-0001", "new", 1000, user_id="7")
    with pytest.raises(UntrustedIdentity):
        keys.verify("new", 1000, crossed, now=1000, user_id="7")


@pytest.mark.parametrize("spec", ["no-colon", "k:short", ":a-long-enough-secret"])
def test_malformed_key_settings_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_keys(spec)
