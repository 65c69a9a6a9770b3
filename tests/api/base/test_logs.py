"""Logs: personal data masked by default, query-string secrets always redacted."""

from __future__ import annotations

import logging

from api.base.logs import AccessLogFilter, PersonalDataFilter, mask_personal_data, redact_query


def test_emails_and_phone_numbers_are_masked_in_logs() -> None:
    record = logging.LogRecord(
        "centralino",
        logging.INFO,
        __file__,
        1,
        "contact from %s, call back on %s",
        ("mario.rossi@example.it", "+39 333 123 4567"),
        None,
    )
    assert PersonalDataFilter().filter(record)
    assert record.getMessage() == "contact from [email], call back on [phone]"
    plain = logging.LogRecord(
        "centralino", logging.INFO, __file__, 1, "3 queues, 12 rules", None, None
    )
    PersonalDataFilter().filter(plain)
    assert plain.getMessage() == "3 queues, 12 rules"


def test_ip_addresses_are_masked_but_times_and_versions_stay() -> None:
    assert mask_personal_data("('203.0.113.9', 5512) - WebSocket") == "('[ip]', 5512) - WebSocket"
    assert mask_personal_data("peer 2001:db8::7 left") == "peer [ip] left"
    assert mask_personal_data("at 12:30:00, v1.2.3") == "at 12:30:00, v1.2.3"


def test_query_secrets_are_redacted() -> None:
    assert redact_query("/v1/channels/email/webhook?token=abc&x=1") == (
        "/v1/channels/email/webhook?token=[redacted]&x=1"
    )
    assert "s3" not in redact_query("/hook?hub.verify_token=s3&hub.challenge=42")
    assert redact_query("/plain") == "/plain"


def test_access_line_masks_the_client_unless_personal_data_is_kept() -> None:
    def access() -> logging.LogRecord:
        return logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("203.0.113.9:5512", "POST", "/hook?token=abc", "1.1", 202),
            None,
        )

    masked = access()
    AccessLogFilter().filter(masked)
    assert masked.getMessage() == '[ip] - "POST /hook?token=[redacted] HTTP/1.1" 202'
    kept = access()
    AccessLogFilter(keep_addresses=True).filter(kept)
    assert kept.getMessage() == '203.0.113.9:5512 - "POST /hook?token=[redacted] HTTP/1.1" 202'
