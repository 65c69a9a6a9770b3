"""The explain endpoint's answer as text for people (used by `centralino explain`)."""

from __future__ import annotations

import time
from typing import Any


def _when(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _decision(item: dict[str, Any]) -> list[str]:
    kind = item["kind"]
    line = f"{_when(item['at'])}  {kind}"
    why = item.get("explanation") or {}
    if item.get("agent_id"):
        line += f" -> {item['agent_id']}"
    if item.get("reason"):
        line += f" ({item['reason']})"
    if kind in ("offer_rejected", "offer_missed", "offer_revoked", "offer_accepted"):
        return [line]
    if why.get("trigger"):
        line += f"  [trigger: {why['trigger']}]"
    lines = [line]
    priority = why.get("priority")
    if priority:
        lines.append(
            f"          priority {priority['total']} = rule {priority['rule']} + urgency "
            f"{priority['urgency']} + history {priority['history']} (capped "
            f"{priority['static_capped']}) + ageing {priority['ageing']}"
        )
    step = why.get("step")
    if isinstance(step, dict):
        needs = ", ".join(f"{k} >= {v}" for k, v in step["requirements"].items()) or "any agent"
        lines.append(
            f"          step {step['index']}: {needs}"
            + (f", speaks {step['language']}" if step.get("language") else "")
        )
    preferred = why.get("preferred")
    if preferred:
        lines.append(f"          preferred agent {preferred['agent']}: {preferred['result']}")
    search = why.get("search")
    if search:
        ranked = (
            ", ".join(
                f"{c['agent']} (ring {c['ring']}, idle {c['idle_seconds']:.0f}s)"
                for c in search["candidates"]
            )
            or "none"
        )
        lines.append(f"          candidates: {ranked}")
        if search["excluded"]:
            excluded = ", ".join(f"{n} {reason}" for reason, n in search["excluded"].items())
            lines.append(f"          excluded: {excluded}")
    if kind == "transferred":
        lines.append(
            f"          to {item.get('target')} (transfers so far: {item.get('transfers')})"
        )
    if kind == "completed":
        lines.append(f"          outcome: {item.get('outcome')}, resolved: {item.get('resolved')}")
    if kind.startswith("supervisor_"):
        moved = (
            f"from {item.get('from_agent') or 'the queue'} to {item.get('to_agent') or 'the queue'}"
        )
        what = f"priority {item.get('from')} -> {item.get('to')}" if "to" in item else moved
        lines.append(f"          by {item.get('by')}: {what}")
    return lines


def format_explanation(data: dict[str, Any]) -> str:
    triage = data.get("triage") or {}
    lines = [f"contact {data['contact_id']}: {data['state']}"]
    if triage:
        lines.append(f"rule {triage.get('rule')!r} -> queue {triage.get('queue')}")
        tried = ", ".join(f"{t['rule']}: {t['result']}" for t in triage.get("rules_tried", []))
        if tried:
            lines.append(f"rules tried: {tried}")
        facts = [f"{key} {triage[key]}" for key in ("language", "intent") if triage.get(key)]
        emotion = triage.get("emotion") or {}
        if emotion:
            facts.append(f"emotion {emotion.get('label')} ({emotion.get('urgency')})")
        if triage.get("open_case"):
            case = triage["open_case"]
            facts.append(f"open case in {case['queue']} with {case['agent_id']}")
        if facts:
            lines.append("triage: " + ", ".join(facts))
    lines.append("")
    for item in data.get("decisions", []):
        lines.extend(_decision(item))
    after_hours = triage.get("after_hours")
    if after_hours:
        lines.append(
            f"arrived while {after_hours['queue']} was {after_hours['text']}: "
            f"{after_hours['action']}"
            + (f" to {after_hours['overflow_to']}" if after_hours.get("overflow_to") else "")
        )
    hours = data.get("hours")
    if hours and not hours["open"]:
        lines.append(f"queue now {hours['text']}")
    waiting = data.get("why_waiting")
    if waiting:
        lines.append("")
        lines.append(f"still waiting; {waiting['agents_with_skills']} agents hold its skills:")
        for reason, count in waiting["reasons"].items():
            lines.append(f"  {count:>4}  {reason}")
    return "\n".join(lines)
