"""Strict JSON for everything that comes from outside: HTTP bodies, webhooks, websocket
frames.

Python's ``json`` accepts what no other JSON reader does and what breaks us later:
``NaN`` and ``Infinity`` (stored as non-standard JSON, refused by the response encoder),
escaped lone surrogates such as ``"\\ud800"`` (a ``str`` that cannot be encoded as UTF-8),
NUL characters (``"\\u0000"``, which PostgreSQL refuses in text),
numbers too large to store, and nesting deep enough to exhaust the interpreter's stack.
``loads`` refuses all of them with an ``UnsafeJson`` (a ``ValueError``) whose message is
safe to show to the sender.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_INT_DIGITS = 18  # fits a signed 64-bit column with room to spare
SCAN_ABOVE = 200
"""Texts with more brackets than this are scanned for their depth before they are parsed:
the decoder recurses once a level, and a collection that starts deep in that recursion
runs its callbacks (/metrics' pause timer) with no stack left to run them."""
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


class UnsafeJson(ValueError):
    """Input that is not strict JSON; the message says why (safe to show)."""


class NotJson(UnsafeJson):
    """Not JSON at all (a syntax error, not UTF-8), as opposed to JSON we refuse."""


def _no_constant(name: str) -> Any:
    raise UnsafeJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJson(f"number out of range: {text[:40]}")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise UnsafeJson(f"integer too large: {text[:40]}...")
    return int(text)


def _clean_text(value: str) -> None:
    if "\x00" in value:  # PostgreSQL cannot store it in text
        raise UnsafeJson("text holds a NUL character (\\u0000)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UnsafeJson("text holds a lone surrogate (\\ud800-\\udfff)") from None


def check(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise UnsafeJson for nesting deeper than ``max_depth`` or a lone surrogate in any
    string (keys too). Iterative: a hostile value cannot exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _clean_text(node)
        elif isinstance(node, dict | list):
            if depth > max_depth:
                raise UnsafeJson(f"nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                for key, item in node.items():
                    _clean_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)


# one decoder for every call (json.loads with hooks builds a new one each time)
_DECODER = json.JSONDecoder(
    parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int
)


def _text(raw: str | bytes) -> str:
    """The text json.loads would decode: the same encodings, the same BOM error."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return raw
    return raw.decode(json.detect_encoding(raw), "surrogatepass")


def _plain(text: str, brackets: int, max_depth: int) -> bool:
    """True when no value parsed from ``text`` can hold what ``check`` looks for: no
    ``\\u`` escape (the only way to write a NUL; a raw one is a syntax error), no lone
    surrogate in the text itself, and too few brackets (``brackets``: its ``[`` and ``{``)
    to nest past ``max_depth``."""
    if "\\u" in text:
        return False
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return brackets <= max_depth


def nested_deeper(text: str, max_depth: int) -> bool:
    """Would parsing ``text`` open more than ``max_depth`` arrays or objects at once?
    Brackets inside strings do not count. Only what a parse needs: a text that is not
    JSON may be judged either way, and its parse then fails anyway."""
    depth = 0
    in_string = False
    skip_to = 0  # the character after a backslash, inside a string, is escaped
    for match in _STRUCTURE.finditer(text):
        at = match.start()
        if at < skip_to:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON; UnsafeJson with a readable reason otherwise."""
    try:
        text = _text(raw)
        brackets = text.count("[") + text.count("{")
        if brackets > SCAN_ABOVE and nested_deeper(text, max_depth):
            raise UnsafeJson(f"nested deeper than {max_depth} levels")
        data = _DECODER.decode(text)
    except UnsafeJson:
        raise
    except RecursionError:
        raise UnsafeJson(f"nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise NotJson(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError:
        raise NotJson("not UTF-8") from None
    except ValueError as exc:  # e.g. an integer past the interpreter's digit limit
        raise UnsafeJson(f"not JSON: {str(exc)[:200]}") from None
    if not _plain(text, brackets, max_depth):
        check(data, max_depth)
    return data
