"""What a rule condition may read, checked before the rules run.

The CEL binding in use has no type-checker, so a typo such as ``contact.txt`` compiled and
then failed on every contact at run time. Two checks stand in for one:

- ``field_paths``: every ``contact.x.y`` / ``customer.x`` path of a condition (string
  literals and comprehension variables such as ``exists(i, ...)`` skipped) is looked up
  in ``FACT_SCHEMA``;
- ``sample_facts``: each rule is evaluated once on typed sample facts, which catches type
  errors (``contact.text > 3``) and conditions that are not booleans.

``FACT_SCHEMA`` mirrors router/intake.py's ``rule_facts`` (a test keeps them equal) and
docs/rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

STRING, INT, DOUBLE, BOOL, MAP = "string", "int", "double", "bool", "map"

FACT_SCHEMA: dict[str, dict[str, str]] = {
    "contact": {
        "channel": STRING,
        "language": STRING,
        "intent": STRING,
        "moment_of_truth": BOOL,
        "emotion": STRING,
        "subject": STRING,
        "text": STRING,
        "attributes": MAP,
        "urgency": DOUBLE,
        "customer_id": STRING,
        "gateway": STRING,
    },
    "customer": {
        "known": BOOL,
        "previous_contacts": INT,
        "unresolved": BOOL,
        "last_agent": STRING,
        "last_queue": STRING,
        "open_case": BOOL,
        "open_case_queue": STRING,
    },
}
"""variable -> field -> CEL type. A ``map`` field takes any key (gateway attributes)."""

SAMPLE_VALUES: dict[str, Any] = {STRING: "sample", INT: 1, DOUBLE: 0.5, BOOL: False, MAP: {}}
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter", "transformList"})
KEYWORDS = frozenset({"true", "false", "null", "in"})

_TOKEN = re.compile(
    r"""(?P<string>[rRbB]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
    |(?P<number>\d[\w.]*)
    |(?P<ident>[A-Za-z_]\w*)
    |(?P<punct>[.(),\[\]])
    |(?P<other>\S)""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str


def tokens(source: str) -> list[Token]:
    out: list[Token] = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "other"
        if kind in ("string", "number"):
            out.append(Token("literal", ""))
        else:
            out.append(Token(kind, match.group()))
    return out


def comprehension_variables(toks: list[Token]) -> set[str]:
    """Names bound by macros: ``list.exists(i, ...)``, ``m.all(k, v, ...)``."""
    bound: set[str] = set()
    for index, token in enumerate(toks):
        if token.kind != "ident" or token.text not in MACROS or index == 0:
            continue
        if toks[index - 1].text != "." or index + 1 >= len(toks) or toks[index + 1].text != "(":
            continue
        cursor = index + 2
        names: list[str] = []
        while cursor + 1 < len(toks) and toks[cursor].kind == "ident":
            if toks[cursor + 1].text != ",":
                break
            names.append(toks[cursor].text)
            cursor += 2
        bound.update(names[:2])
    return bound


def field_paths(source: str) -> tuple[list[tuple[str, ...]], set[str]]:
    """The dotted paths a condition reads (methods dropped) and its comprehension names."""
    toks = tokens(source)
    bound = comprehension_variables(toks)
    paths: list[tuple[str, ...]] = []
    index = 0
    while index < len(toks):
        token = toks[index]
        after_dot = index > 0 and toks[index - 1].text == "."
        if token.kind != "ident" or after_dot or token.text in KEYWORDS:
            index += 1
            continue
        chain = [token.text]
        cursor = index + 1
        while (
            cursor + 1 < len(toks) and toks[cursor].text == "." and toks[cursor + 1].kind == "ident"
        ):
            chain.append(toks[cursor + 1].text)
            cursor += 2
        if cursor < len(toks) and toks[cursor].text == "(":
            chain.pop()  # a function or a method call, not a field
        if chain and chain[0] not in bound:
            paths.append(tuple(chain))
        index = cursor
    return paths, bound


def path_problem(path: tuple[str, ...]) -> str | None:
    """Why ``path`` is not in the fact schema, or None when it is."""
    fields = FACT_SCHEMA.get(path[0])
    if fields is None or len(path) == 1:
        return None  # unknown names are reported by the loader from the compiled program
    name = path[1]
    kind = fields.get(name)
    if kind is None:
        close = get_close_matches(name, fields, n=1)
        hint = f" (did you mean {path[0]}.{close[0]}?)" if close else ""
        return f"unknown field {path[0]}.{name}{hint}; {path[0]} has {', '.join(sorted(fields))}"
    if kind != MAP and len(path) > 2:
        return f"{path[0]}.{name} is a {kind} and has no field {path[2]!r}"
    return None


def sample_facts() -> dict[str, Any]:
    """Typed sample facts: one value of the right type for every field."""
    return {
        variable: {name: _sample(kind) for name, kind in fields.items()}
        for variable, fields in FACT_SCHEMA.items()
    }


def _sample(kind: str) -> Any:
    value = SAMPLE_VALUES[kind]
    return dict(value) if isinstance(value, dict) else value


def attribute_keys(paths: list[tuple[str, ...]]) -> set[str]:
    """Gateway attribute names a condition reads (absent from the sample facts)."""
    return {path[2] for path in paths if path[:2] == ("contact", "attributes") and len(path) > 2}


def fields_read(conditions: list[str]) -> dict[str, frozenset[str]] | None:
    """Per variable, the fields these conditions read: the planner hands CEL only those
    (converting the facts to CEL values costs about 3 µs a field, reading one 0.4 µs).
    None when a condition may read a variable whole (``contact["intent"]``,
    ``size(customer)``) or rebinds its name in a comprehension: then everything is given."""
    read: dict[str, set[str]] = {}
    for condition in conditions:
        paths, bound = field_paths(condition)
        if bound & FACT_SCHEMA.keys():
            return None
        for path in paths:
            if path[0] not in FACT_SCHEMA:
                continue
            if len(path) == 1:
                return None
            read.setdefault(path[0], set()).add(path[1])
    return {variable: frozenset(fields) for variable, fields in read.items()}
