"""Erlang C (M/M/c) and Erlang A (M/M/c+M): the formulas the simulator must reproduce.

Erlang A is computed numerically, exactly up to a truncation of negligible probability:
the stationary distribution of the birth-death chain, then the wait of an arriving
customer who finds k people ahead (each step at rate c·μ + j·θ while it may itself leave
at rate θ) by uniformization. With θ = 0 it is Erlang C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueFigures:
    p_wait: float  # share of arrivals who wait (all arrivals)
    service_level: float  # answered within the threshold ÷ (answered + abandoned)
    abandonment: float  # share of arrivals who leave before an answer
    mean_queue_time: float  # mean time in queue over all arrivals (answered or not)


def erlang_c(per_second: float, handle: float, agents: int, threshold: float) -> QueueFigures:
    """Closed form: P(wait), SL and ASA (= mean time in queue, nobody leaves)."""
    load = per_second * handle
    if agents <= load:
        return QueueFigures(1.0, 0.0, 0.0, math.inf)
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    bottom = sum(load**k / math.factorial(k) for k in range(agents)) + top
    p_wait = top / bottom
    service_level = 1 - p_wait * math.exp(-(agents - load) * threshold / handle)
    return QueueFigures(p_wait, service_level, 0.0, p_wait * handle / (agents - load))


def erlang_a(
    per_second: float, handle: float, patience: float, agents: int, threshold: float
) -> QueueFigures:
    """M/M/c with exponential patience of mean ``patience`` (0 or inf: nobody leaves)."""
    mu = 1.0 / handle
    theta = 0.0 if patience <= 0 or math.isinf(patience) else 1.0 / patience
    if theta == 0.0:
        return erlang_c(per_second, handle, agents, threshold)
    weights = [1.0]  # unnormalized p_n, n = 0, 1, ...
    n = 0
    while True:
        n += 1
        rate = min(n, agents) * mu + max(n - agents, 0) * theta
        weights.append(weights[-1] * per_second / rate)
        if n > agents and weights[-1] < 1e-15 * max(weights):
            break
    total = sum(weights)
    p = [w / total for w in weights]
    waiting = p[agents:]
    p_wait = sum(waiting)
    queued = sum(k * share for k, share in enumerate(waiting))
    abandonment = theta * queued / per_second
    served = _served_within(threshold, agents * mu, theta, len(waiting))
    service_level = sum(p[:agents]) + sum(share * served[k] for k, share in enumerate(waiting))
    return QueueFigures(p_wait, service_level, abandonment, queued / per_second)


def _served_within(threshold: float, service: float, theta: float, states: int) -> list[float]:
    """For k = 0..states-1 people ahead: P(answered within threshold, before leaving)."""
    top = service + states * theta + theta
    step_served = [(service + j * theta) / top for j in range(states)]
    stay = [1.0 - (service + j * theta + theta) / top for j in range(states)]
    mean = top * threshold
    f = [0.0] * states  # P(answered within m uniformized steps)
    weight = math.exp(-mean)
    result = [0.0] * states
    m = 0
    covered = weight
    while covered < 1 - 1e-12 and m < 100_000:
        m += 1
        f = [step_served[j] * (1.0 if j == 0 else f[j - 1]) + stay[j] * f[j] for j in range(states)]
        weight *= mean / m
        covered += weight
        for j in range(states):
            result[j] += weight * f[j]
    return result


def fewest_agents(
    per_second: float, handle: float, patience: float, threshold: float, target: float
) -> int:
    """The smallest c meeting the service-level target (Erlang A; Erlang C without patience)."""
    agents = 1
    while erlang_a(per_second, handle, patience, agents, threshold).service_level < target:
        agents += 1
    return agents
