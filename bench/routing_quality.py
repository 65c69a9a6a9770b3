"""Routing quality on the simulator, with confidence: N seeds, same traffic for every policy.

Policies, each run on the same seeds (common random numbers: seed s gives every policy the
same contacts, so the differences per seed are paired):

(a) FIFO with the longest-idle agent: skills still matched, but no rule priorities, no
    urgency or history boosts, no preferred agent, no bullseye rings;
(b) round robin (with --round-robin): as (a), the agent offered longest ago goes next;
(c) centralino's rules (config.yaml), and any --variant of them.

    python bench/routing_quality.py [--scenario FILE] [--config FILE] [--seeds 10] [--jobs 2]
        [--variant NAME:priority.urgency_weight=60,preferred_agent.max_wait=45s ...]

Every figure is a mean over seeds with its 95% interval; differences against FIFO are
paired per seed. Targets (issue 17), judged on the intervals, not on one lucky seed:
- high-urgency p90 time in queue <= 0.50 x FIFO's (upper end of the 95% interval of the
  paired ratio), abandoned urgent contacts included;
- high-urgency abandonment <= 0.70 x FIFO's (same);
- service level not more than 2 points below FIFO's (one-sided 95% lower bound of the
  paired difference >= -2 points; a gain is never a failure);
- preferred-agent hits >= 90% of the repeat contacts whose agent was free within the
  configured wait (lower end of the 95% interval).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.rules.loader import CompiledRule, RuleSet, parse_rules
from router.rules.model import ExpansionStep, HistoryBoosts, PreferredAgentSpec
from router.simulation.loop import simulate
from router.simulation.metrics import Report, percentile
from router.simulation.scenario import load_scenario
from router.simulation.stats import Interval, interval, paired, ratios

HERE = Path(__file__).resolve().parent
FIFO = "(a) FIFO, longest idle"
ROUND_ROBIN = "(b) round robin"
OURS = "(c) centralino"

FIGURES = [  # key, label, format
    ("sl", "service level", "{:.1%}"),
    ("asa", "ASA (s)", "{:.1f}"),
    ("p90", "p90 wait, answered (s)", "{:.1f}"),
    ("p99", "p99 wait, answered (s)", "{:.1f}"),
    ("abandon", "abandonment", "{:.2%}"),
    ("urgent_p90", "high-urgency p90 (s)", "{:.1f}"),
    ("urgent_abandon", "high-urgency abandonment", "{:.2%}"),
    ("transfers", "transfers per answered", "{:.4f}"),
    ("per_customer", "contacts per customer", "{:.4f}"),
    ("preferred", "preferred-agent hits", "{:.1%}"),  # of those reachable in time
    ("occupancy", "occupancy", "{:.1%}"),
]


def plain(rules: RuleSet, agent_choice: str) -> RuleSet:
    """The same skills-based rules with every ordering refinement switched off."""
    config = rules.config
    specs = tuple(
        CompiledRule(
            rule.spec.model_copy(
                update={"priority": 0.0, "expansion": None, "preferred_agent": None}
            ),
            rule.program,
            rule.line,
        )
        for rule in rules.rules
    )
    flat = config.model_copy(
        update={
            "priority": config.priority.model_copy(
                update={
                    "urgency_weight": 0.0,
                    "history": HistoryBoosts(repeat_unresolved=0.0, per_transfer=0.0),
                }
            ),
            "preferred_agent": PreferredAgentSpec(policy="none"),
            "expansion": (ExpansionStep(after=0, min_proficiency=1),),
            "queues": {
                name: queue.model_copy(update={"expansion": None})
                for name, queue in config.queues.items()
            },
            "triage": config.triage.model_copy(update={"same_department": False}),
            "agent_choice": agent_choice,
        }
    )
    return RuleSet(config=flat, rules=specs, source=f"{rules.source} ({agent_choice}, FIFO)")


def with_settings(text: str, settings: str) -> str:
    """config.yaml text with dotted keys set: ``priority.urgency_weight=60,...``."""
    yaml = YAML(typ="rt")
    document = yaml.load(text)
    for assignment in filter(None, settings.split(",")):
        path, _, value = assignment.partition("=")
        *parents, leaf = path.strip().split(".")
        node = document
        for part in parents:  # a number indexes a list: rules.3.preferred_agent.max_wait
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(leaf) if leaf.isdigit() else leaf] = yaml.load(value.strip())
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def figures(report: Report) -> dict[str, float]:
    hit = report.preferred_hit_rate
    return {
        "sl": report.overall.service_level,
        "asa": report.overall.asa,
        "p90": percentile(report.overall.waits, 0.9),
        "p99": percentile(report.overall.waits, 0.99),
        "abandon": report.overall.abandon_rate,
        "urgent_p90": report.high_urgency_p90_wait,
        "urgent_abandon": report.high_urgency.abandon_rate,
        "transfers": report.transfers_per_contact,
        "per_customer": report.contacts_per_customer,
        "preferred": float("nan") if hit is None else hit,
        "preferred_hits": float(report.preferred_hits),
        "preferred_reachable": float(report.preferred_reachable),
        "occupancy": report.occupancy,
        "offered": float(report.overall.offered),
    }


def run_one(
    config_text: str, policy: str, scenario_path: str, seed: int, hours: float | None
) -> dict[str, float]:
    rules = parse_rules(config_text, "config.yaml")
    if policy == "fifo":
        rules = plain(rules, "longest_idle")
    elif policy == "round_robin":
        rules = plain(rules, "round_robin")
    plan = load_scenario(scenario_path)
    update: dict[str, object] = {"seed": seed}
    if hours is not None:
        update["duration"] = hours * 3600.0
    return figures(simulate(rules, plan.model_copy(update=update)))


def show(value: Interval, fmt: str) -> str:
    if value.n == 0:
        return "n/a"
    return f"{fmt.format(value.mean)} ± {fmt.format(value.half_width).rstrip('%')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(HERE / "scenarios" / "peak.yaml"))
    parser.add_argument("--config", default=str(HERE.parent / "config.yaml"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--hours", type=float, default=None, help="override the duration")
    parser.add_argument("--round-robin", action="store_true", help="also run (b)")
    parser.add_argument(
        "--variant", action="append", default=[], help="NAME:dotted.key=value,... of config"
    )
    args = parser.parse_args()
    text = Path(args.config).read_text(encoding="utf-8")
    base_seed = load_scenario(args.scenario).seed
    runs: dict[str, tuple[str, str]] = {FIFO: (text, "fifo")}
    if args.round_robin:
        runs[ROUND_ROBIN] = (text, "round_robin")
    runs[OURS] = (text, "rules")
    for variant in args.variant:
        name, _, settings = variant.partition(":")
        runs[f"(v) {name}"] = (with_settings(text, settings), "rules")
    seeds = [base_seed + n for n in range(args.seeds)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            (name, seed): pool.submit(run_one, config_text, policy, args.scenario, seed, args.hours)
            for name, (config_text, policy) in runs.items()
            for seed in seeds
        }
        results = {key: future.result() for key, future in futures.items()}
    elapsed = time.perf_counter() - started
    offered = interval([results[(FIFO, s)]["offered"] for s in seeds])
    print(
        f"{Path(args.scenario).name}: {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}), "
        f"{offered.mean:,.0f} contacts per run, {len(runs)} policies, "
        f"{len(results)} runs in {elapsed:.0f} s ({args.jobs} processes)\n"
    )
    report(runs, seeds, results)


def report(
    runs: dict[str, tuple[str, str]],
    seeds: list[int],
    results: dict[tuple[str, int], dict[str, float]],
) -> None:
    def series(name: str, key: str) -> list[float]:
        return [results[(name, s)][key] for s in seeds]

    width = max(22, *(len(name) + 2 for name in runs))
    print("mean ± half-width of the 95% interval over seeds (percentages: ± points)")
    print(f"{'':<28}" + "".join(f"{name:>{width}}" for name in runs))
    for key, label, fmt in FIGURES:
        cells = "".join(f"{show(interval(series(name, key)), fmt):>{width}}" for name in runs)
        print(f"{label:<28}{cells}")
    for name in runs:
        if name == FIFO:
            continue
        print(f"\n{name} against FIFO, paired per seed")
        sl = paired(series(FIFO, "sl"), series(name, "sl"))
        asa = paired(series(FIFO, "asa"), series(name, "asa"))
        p90 = ratios(series(FIFO, "urgent_p90"), series(name, "urgent_p90"))
        ab = ratios(series(FIFO, "urgent_abandon"), series(name, "urgent_abandon"))
        hits, reachable = (
            sum(series(name, "preferred_hits")),
            sum(series(name, "preferred_reachable")),
        )
        print(
            f"  service level      {sl.mean * 100:+.2f} points "
            f"(95% CI {sl.low * 100:+.2f} .. {sl.high * 100:+.2f}; one-sided low "
            f"{sl.one_sided_low() * 100:+.2f})   "
            + verdict(sl.one_sided_low() >= -0.02, "not more than 2 points below")
        )
        print(f"  ASA                {asa.mean:+.1f} s (95% CI {asa.low:+.1f} .. {asa.high:+.1f})")
        print(
            f"  urgent p90         x{p90.mean:.2f} (95% CI {p90.low:.2f} .. {p90.high:.2f})   "
            + verdict(p90.high <= 0.50, "<= 0.50")
        )
        print(
            f"  urgent abandonment x{ab.mean:.2f} (95% CI {ab.low:.2f} .. {ab.high:.2f})   "
            + verdict(ab.high <= 0.70, "<= 0.70")
        )
        if reachable:
            low, high = wilson(hits, reachable)
            print(
                f"  preferred hits     {hits / reachable:.1%} ({hits:.0f} of {reachable:.0f} "
                "over all seeds) "
                f"(95% CI {low:.1%} .. {high:.1%})   " + verdict(low >= 0.90, ">= 90%")
            )


def wilson(hits: float, total: float) -> tuple[float, float]:
    """95% Wilson interval of a proportion."""
    z, share = 1.96, hits / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return centre - spread / (1 + z * z / total), centre + spread / (1 + z * z / total)


def verdict(met: bool, target: str) -> str:
    return f"target {target}: {'met' if met else 'NOT met'}"


if __name__ == "__main__":
    main()
