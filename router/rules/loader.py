"""Load config.yaml: YAML with line numbers -> frozen models -> compiled CEL, all or nothing.

Every problem is reported as ``file:line: rule 'name': field: message`` and loading stops
before anything is returned, so an invalid file never half-loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cel
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from router.rules.facts import attribute_keys, field_paths, path_problem, sample_facts
from router.rules.model import PathError, RoutingConfig, RuleSpec

CEL_VARIABLES = frozenset({"contact", "customer"})
"""The names a rule condition may read; see docs/rules.md for their fields."""

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The config could not be loaded; ``problems`` lists every error found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    program: Any  # cel.Program; the binding ships no type information
    line: int | None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A validated config with its rule conditions compiled, ready for the router."""

    config: RoutingConfig
    rules: tuple[CompiledRule, ...]
    source: str


def _plain(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    """Convert ruamel nodes into plain Python, recording the 1-based line of each path."""
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key in node:
            line, _col = node.lc.key(key)
            lines[(*loc, key)] = line + 1
            out[key] = _plain(node[key], (*loc, key), lines)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, item in enumerate(node):
            line, _col = node.lc.item(index)
            lines[(*loc, index)] = line + 1
            items.append(_plain(item, (*loc, index), lines))
        return items
    return node


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def _rule_label(loc: Loc, raw: Any) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        try:
            name = raw["rules"][loc[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            name = None
        return f"rule {name!r}: " if name else f"rule #{loc[1] + 1}: "
    return ""


def _validation_problems(
    error: ValidationError, raw: Any, lines: dict[Loc, int], file: str
) -> list[ConfigProblem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, PathError):
            loc = (*loc, *cause.loc)
        field = ".".join(str(part) for part in loc) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(
            ConfigProblem(file, _line_for(loc, lines), f"{_rule_label(loc, raw)}{field}: {message}")
        )
    return problems


def _compile_rules(
    config: RoutingConfig, lines: dict[Loc, int], file: str
) -> tuple[list[CompiledRule], list[ConfigProblem]]:
    compiled: list[CompiledRule] = []
    problems: list[ConfigProblem] = []
    for index, rule in enumerate(config.rules):
        line = lines.get(("rules", index, "when")) or lines.get(("rules", index))
        label = f"rule {rule.name!r}: when"
        try:
            program = cel.compile(rule.when)
        except (ValueError, RuntimeError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(ConfigProblem(file, line, f"{label}: invalid CEL: {detail}"))
            continue
        paths, bound = field_paths(rule.when)
        unknown = sorted(set(program.variables()) - CEL_VARIABLES - bound)
        if unknown:
            problems.append(
                ConfigProblem(
                    file,
                    line,
                    f"{label}: unknown name(s) {', '.join(unknown)}; "
                    f"conditions may use {', '.join(sorted(CEL_VARIABLES))}",
                )
            )
            continue
        found = [problem for path in paths if (problem := path_problem(path)) is not None]
        if not found:
            found = _sample_problems(program, attribute_keys(paths))
        if found:
            problems.extend(ConfigProblem(file, line, f"{label}: {text}") for text in found)
            continue
        compiled.append(CompiledRule(rule, program, lines.get(("rules", index))))
    return compiled, problems


def _sample_problems(program: Any, attributes: set[str]) -> list[str]:
    """Evaluate a condition once on typed sample facts: type errors and non-boolean
    results show here. A gateway attribute the sample lacks is not an error (``has()``)."""
    try:
        result = program.execute(sample_facts())
    except KeyError as exc:
        if exc.args and exc.args[0] in attributes:
            return []
        return [f"fails on sample facts: no such key {exc}"]
    except (TypeError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [f"fails on sample facts: {detail}"]
    if not isinstance(result, bool):
        return [f"is not a boolean condition (gives {type(result).__name__} on sample facts)"]
    return []


M = TypeVar("M", bound=BaseModel)


def parse_model(text: str, file: str, model: type[M]) -> tuple[M, dict[Loc, int]]:
    """YAML text -> a validated model, with the line of every path for later messages.
    Raises ConfigError naming file, line (and rule) of every problem."""
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigProblem(file, line, f"YAML: {exc.problem or exc}")]) from exc
    except YAMLError as exc:
        raise ConfigError([ConfigProblem(file, None, f"YAML: {exc}")]) from exc
    lines: dict[Loc, int] = {}
    raw = _plain(document, (), lines)
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(file, 1, "the file must be a YAML mapping")])
    try:
        return model.model_validate(raw), lines
    except ValidationError as exc:
        raise ConfigError(_validation_problems(exc, raw, lines, file)) from exc


def read_text(path: str | Path) -> str:
    """A config file's text; a missing or unreadable file is a ConfigError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, f"cannot read: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "not UTF-8 text")]) from exc


def parse_rules(text: str, file: str = "config.yaml") -> RuleSet:
    """Parse and compile a config from text. Raises ConfigError listing every problem."""
    config, lines = parse_model(text, file, RoutingConfig)
    compiled, problems = _compile_rules(config, lines, file)
    if problems:
        raise ConfigError(problems)
    return RuleSet(config=config, rules=tuple(compiled), source=file)


def load_rules(path: str | Path) -> RuleSet:
    """Read and compile config.yaml. Raises ConfigError (also for a missing/unreadable file)."""
    return parse_rules(read_text(path), str(path))
