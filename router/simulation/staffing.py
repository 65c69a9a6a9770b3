"""Planning: the fewest agents per group that meet each channel's service level.

``staff`` simulates the scenario with candidate head counts (the same keyed traffic
every time, so two head counts are compared on the same contacts) and searches, group by
group, the smallest count that keeps every channel's service level at or above its target
(the config's SLA target per channel, or one target for all). Start: the scenario's counts,
grown by half until the targets are met; then each group in turn is cut to its minimum by
bisection with the others fixed (never below what the offered load makes impossible), until
a pass changes nothing.

Several seeds (``seeds``) average out noise: a channel meets its target when its service
level pooled over the seeds does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from router.rules.loader import RuleSet
from router.simulation.loop import simulate
from router.simulation.metrics import Kpis, Report
from router.simulation.scenario import Scenario
from skills.vocabulary import Channel

MAX_AGENTS = 10_000


@dataclass(frozen=True)
class Staffing:
    counts: dict[str, int]  # group name -> agents needed
    was: dict[str, int]  # the scenario's counts
    targets: dict[str, float]  # channel -> service-level target
    achieved: dict[str, float]  # channel -> service level with ``counts``
    met: bool
    runs: int  # simulations made
    report: Report  # the first seed's run with ``counts``


def parse_target(text: str) -> float | None:
    """``SL`` (the config's target per channel) or one target for all, 0.8 or 80%."""
    if text.strip().upper() in ("SL", "SLA"):
        return None
    value = float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1)
    if not 0 < value <= 1:
        raise ValueError(f"a service-level target is between 0 and 1, got {text!r}")
    return value


def group_names(scenario: Scenario) -> list[str]:
    return [f"{group.name}{index}" for index, group in enumerate(scenario.agents)]


def with_counts(scenario: Scenario, counts: tuple[int, ...]) -> Scenario:
    groups = tuple(
        group.model_copy(update={"count": count})
        for group, count in zip(scenario.agents, counts, strict=True)
    )
    return scenario.model_copy(update={"agents": groups})


def staff(
    rules: RuleSet,
    scenario: Scenario,
    target: float | None = None,
    seeds: int = 1,
    progress: Callable[[str], None] | None = None,
) -> Staffing:
    channels = sorted({s.channel for s in scenario.arrivals} | _trace_channels(scenario))
    targets = {
        c.value: target if target is not None else rules.config.channels[c].sla.target
        for c in channels
        if target is not None or c in rules.config.channels
    }
    cache: dict[tuple[int, ...], tuple[dict[str, float], Report]] = {}

    def levels(counts: tuple[int, ...]) -> tuple[dict[str, float], Report]:
        if counts not in cache:
            pooled: dict[str, Kpis] = {}
            first: Report | None = None
            for offset in range(seeds):
                plan = with_counts(scenario, counts).model_copy(
                    update={"seed": scenario.seed + offset}
                )
                report = simulate(rules, plan)
                first = first or report
                for name, k in report.channels.items():
                    pooled.setdefault(name, Kpis()).merge(k)
            assert first is not None
            cache[counts] = ({n: k.service_level for n, k in pooled.items()}, first)
            if progress is not None:
                progress(f"{dict(zip(group_names(scenario), counts, strict=True))}")
        return cache[counts]

    def meets(counts: tuple[int, ...]) -> bool:
        achieved, _ = levels(counts)
        return all(achieved.get(name, 1.0) >= goal for name, goal in targets.items())

    load = offered_load(rules, scenario)
    counts = tuple(group.count for group in scenario.agents)
    while not meets(counts) and sum(counts) < MAX_AGENTS:
        counts = tuple(max(c + 1, c * 3 // 2) for c in counts)
    if meets(counts):
        changed = True
        while changed:
            changed = False
            for index in range(len(counts)):
                others = sum(counts) - counts[index]
                floor = max(0, math.floor(min(targets.values(), default=0.0) * load) - others)
                low, high = min(floor, counts[index]), counts[index]  # high meets the targets
                while low < high:
                    middle = (low + high) // 2
                    trial = (*counts[:index], middle, *counts[index + 1 :])
                    if meets(trial):
                        high = middle
                    else:
                        low = middle + 1
                if high != counts[index]:
                    counts = (*counts[:index], high, *counts[index + 1 :])
                    changed = len(counts) > 1  # cutting one group may let another shrink
    achieved, report = levels(counts)
    names = group_names(scenario)
    return Staffing(
        counts=dict(zip(names, counts, strict=True)),
        was={name: group.count for name, group in zip(names, scenario.agents, strict=True)},
        targets=targets,
        achieved=achieved,
        met=meets(counts),
        runs=len(cache) * seeds,
        report=report,
    )


def offered_load(rules: RuleSet, scenario: Scenario) -> float:
    """Agents kept busy by the traffic on average (a chat agent counts per chat slot): no
    set of agents smaller than the share of it that must be answered can meet a target."""
    capacity = {c: max(1, spec.capacity) for c, spec in rules.config.channels.items()}
    load = 0.0
    for stream in scenario.arrivals:
        if stream.per_hour is not None:
            per_second = stream.per_hour / 3600
        else:
            assert stream.profile is not None
            per_second = sum(stream.profile.per_hour) / len(stream.profile.per_hour) / 3600
        handle = scenario.handle_distribution(stream.channel, "", stream.intent).average
        load += per_second * handle / capacity.get(stream.channel, 1)
    if scenario.trace is not None:
        from router.simulation.trace import read_trace

        for row in read_trace(scenario.trace):
            mean = scenario.handle_distribution(row.channel, "", row.intent).average
            worked = row.handle_time if row.handle_time is not None else mean
            load += worked / capacity.get(row.channel, 1) / scenario.duration
    return load


def _trace_channels(scenario: Scenario) -> set[Channel]:
    if scenario.trace is None:
        return set()
    from router.simulation.trace import read_trace

    return {row.channel for row in read_trace(scenario.trace)}


def format_staffing(result: Staffing) -> str:
    lines = [f"{'group':<24}{'scenario':>10}{'needed':>10}"]
    for name, count in result.counts.items():
        lines.append(f"{name:<24}{result.was[name]:>10}{count:>10}")
    lines.append(f"{'total':<24}{sum(result.was.values()):>10}{sum(result.counts.values()):>10}")
    for channel, goal in result.targets.items():
        got = result.achieved.get(channel, 1.0)
        lines.append(f"{channel}: service level {got:.1%} (target {goal:.0%})")
    verdict = "targets met" if result.met else f"targets NOT met even with {MAX_AGENTS} agents"
    lines.append(f"{verdict}; {result.runs} simulated runs")
    return "\n".join(lines)
