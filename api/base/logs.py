"""What may reach the logs: never a secret from a query string, and by default no personal
data (emails, phone-like numbers, client IP addresses are masked).

Filters sit on the loggers that write such things: the root logger's handlers (our own
``centralino.*`` records), ``uvicorn.error`` (it logs websocket peers) and
``uvicorn.access`` (client address and path of every request). The access filter edits
the record's arguments in place, since uvicorn's access formatter reads them.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_HEX = r"[0-9A-Fa-f]{1,4}"
IPV6 = re.compile(  # eight groups, or compressed with '::' (times like 12:30:00 stay)
    rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}:){{0,7}}:(?::?{_HEX})*)(?![\w:])"
)
PHONE = re.compile(r"(?<![\w])\+?\d[\d ()./-]{6,}\d")
SECRET_PARAM = re.compile(r"token|secret|key|sig|pass|auth|code", re.IGNORECASE)
REDACTED = "[redacted]"


def mask_personal_data(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = IPV4.sub("[ip]", text)
    text = IPV6.sub("[ip]", text)
    return PHONE.sub("[phone]", text)


def redact_query(path: str) -> str:
    """'/hook?token=abc&x=1' -> '/hook?token=[redacted]&x=1' (any secret-looking name)."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [(key, REDACTED if SECRET_PARAM.search(key) else value) for key, value in pairs]
    return base + "?" + urlencode(cleaned, safe="[]")


class PersonalDataFilter(logging.Filter):
    """Masks email addresses, IP addresses and phone numbers in log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class AccessLogFilter(logging.Filter):
    """uvicorn's access line: (client, method, path, http version, status). The query's
    secrets are always redacted; the client address is masked unless ``keep_addresses``."""

    def __init__(self, keep_addresses: bool = False) -> None:
        super().__init__()
        self.keep_addresses = keep_addresses

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            record.args = (
                client if self.keep_addresses else "[ip]",
                method,
                redact_query(str(path)),
                version,
                status,
            )
        return True


def _install(logger: logging.Logger, wanted: logging.Filter) -> None:
    for existing in list(logger.filters):
        if type(existing) is type(wanted):
            logger.removeFilter(existing)
    logger.addFilter(wanted)


def guard_logs(keep_personal_data: bool) -> None:
    """Install the filters (again: the latest settings win)."""
    _install(logging.getLogger("uvicorn.access"), AccessLogFilter(keep_personal_data))
    if keep_personal_data:
        for existing in list(logging.getLogger("uvicorn.error").filters):
            if isinstance(existing, PersonalDataFilter):
                logging.getLogger("uvicorn.error").removeFilter(existing)
        return
    _install(logging.getLogger("uvicorn.error"), PersonalDataFilter())
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())
    if not any(isinstance(f, PersonalDataFilter) for f in root.filters):
        root.addFilter(PersonalDataFilter())
