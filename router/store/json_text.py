"""How JSON is written: the values of JSON columns, on PostgreSQL the rows a journal
statement carries (router/store/pg_rows.py), and the commands of several nodes and their
replies (router/cluster/commands.py, which reads them with ``loads``). orjson, about six
times faster than the standard library on the plans a contact carries (its triage
explanation, ~1 KB: 12 µs with ``json.dumps``, 2 µs with orjson), and these encodings
run for every contact.

The text differs only in form (compact, UTF-8 rather than ``\\u`` escapes), and a float
that JSON cannot write (``NaN``, an infinity) is written as ``null`` where ``json.dumps``
wrote a non-standard ``NaN``; the columns are read with the standard library as before.
A value orjson refuses (an integer past 64 bits, a subclass of float such as numpy's)
makes the whole value written by ``json.dumps``, as it always was: the same JSON, more
slowly.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS  # keys such as ints become strings, as json.dumps does


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=OPTIONS).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON with orjson, or with the standard library where orjson refuses it:
    ``NaN`` and ``Infinity``, which ``json.dumps`` writes (and a node of an earlier version
    sent)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
