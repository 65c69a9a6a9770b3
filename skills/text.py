"""Text helpers shared by triage: accent folding and keyword/phrase patterns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

# the combining diacritical marks block, but U+034F (a joiner, not an accent)
_DIACRITICS = re.compile("[\u0300-\u034e\u0350-\u036f]")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _drop_combining(match: re.Match[str]) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def fold(text: str) -> str:
    """Lower-case and strip accents, so "più" matches "piu" and "Perché" matches "perche"."""
    lowered = text.lower()
    if lowered.isascii():  # nothing to strip (ASCII is its own NFKD form)
        return lowered
    stripped = _DIACRITICS.sub("", unicodedata.normalize("NFKD", lowered))
    if not stripped.isascii():  # other combining marks, rarer: the non-ASCII one by one
        stripped = _NON_ASCII.sub(_drop_combining, stripped)
    return stripped.replace("’", "'")


def phrase_pattern(entries: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any entry in folded text: whole words, "stem*" for any ending,
    any run of white space between the words of a phrase (however the entry separates
    them). Where entries share a beginning the longest match wins ("non funziona piu" over
    "non funziona")."""
    body = _trie_regex(entries)
    if body is None:
        return re.compile(r"(?!x)x")  # matches nothing
    # a match may follow an apostrophe: Italian elides ("l'avvocato", "dell'assistenza")
    return re.compile(r"(?<!\w)" + body)


def starts_pattern(entries: Iterable[str]) -> re.Pattern[str]:
    """A zero-width regex found wherever one of the entries begins (see ``matches``)."""
    body = _trie_regex(entries)
    return re.compile(r"(?!x)x" if body is None else r"(?<!\w)(?=" + body + ")")


def matches(pattern: re.Pattern[str], folded: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """What ``pattern.finditer(folded)`` finds, tried only at ``starts``: the positions
    where ``starts_pattern`` of a superset of the pattern's entries was found. One scan for
    many patterns instead of one each (the scan is most of a pattern's cost)."""
    end = 0
    for start in starts:
        if start >= end and (found := pattern.match(folded, start)) is not None:
            end = found.end()
            yield found


_Trie = dict[str, "_Trie | bool"]
_END = ""  # the key of a node where an entry ends: True for a stem ("arrabbiat*")


def _trie_regex(entries: Iterable[str]) -> str | None:
    """The entries as one alternation nested by shared beginnings ("avvocat(?:o|i)"...):
    the regex engine tries each branch in turn, so a flat list of 100 entries costs 100
    tries at every word, a trie a few. Longer continuations are tried before an entry that
    ends, so the longest entry wins, as it would in a flat list sorted longest first."""
    root: _Trie = {}
    for entry in {" ".join(fold(e).split()) for e in entries if e.strip()}:
        node = root
        for char in entry.rstrip("*"):
            child = node.setdefault(char, {})
            assert isinstance(child, dict)
            node = child
        node[_END] = bool(node.get(_END)) or entry.endswith("*")
    return _branches(root) if root else None


def _branches(node: _Trie) -> str:
    options = []
    for char in sorted(node):
        child = node[char]
        if isinstance(child, dict):  # a space between words is any run of white space
            options.append((r"\s+" if char == " " else re.escape(char)) + _branches(child))
    if _END in node:
        options.append(r"[\w']*" if node[_END] else r"(?![\w'])")
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"
