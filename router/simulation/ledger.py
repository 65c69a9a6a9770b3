"""Agent time in a simulated run: logged in, holding contacts, becoming free.

Everything is clipped to the measured window [warm-up, end], so occupancy is measured
where the KPIs are. The moments an agent becomes free feed the preferred-agent metric
(was the customer's agent free within the configured wait?).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from router.simulation.metrics import Usage
from skills.vocabulary import Channel


@dataclass
class _Hold:
    agent: str
    channel: Channel
    since: float


class Ledger:
    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.usage = Usage()
        self._logged_since: dict[str, float] = {}
        self._capacity: dict[str, dict[Channel, int]] = {}
        self._holds: dict[str, _Hold] = {}
        self._held: dict[str, int] = {}
        self._busy_since: dict[str, float] = {}
        self._freed: dict[str, list[float]] = {}

    def _span(self, since: float, until: float) -> float:
        return max(0.0, min(until, self.end) - max(since, self.start))

    # ------------------------------------------------------------ logged in

    def login(self, agent: str, now: float, capacity: dict[Channel, int]) -> None:
        if agent not in self._logged_since:
            self._logged_since[agent] = now
            self._capacity[agent] = dict(capacity)

    def logout(self, agent: str, now: float) -> None:
        since = self._logged_since.pop(agent, None)
        if since is None:
            return
        span = self._span(since, now)
        self.usage.logged += span
        for channel, capacity in self._capacity[agent].items():
            self.usage.slots[channel] = self.usage.slots.get(channel, 0.0) + span * capacity

    def logged_in(self, agent: str) -> bool:
        return agent in self._logged_since

    # --------------------------------------------------------------- holding

    def hold(self, contact: str, agent: str, channel: Channel, now: float) -> None:
        self.drop(contact, now)
        self._holds[contact] = _Hold(agent, channel, now)
        count = self._held.get(agent, 0)
        if count == 0:
            self._busy_since[agent] = now
        self._held[agent] = count + 1

    def drop(self, contact: str, now: float) -> str | None:
        """The contact no longer occupies its agent; returns that agent."""
        hold = self._holds.pop(contact, None)
        if hold is None:
            return None
        handled = self.usage.handled
        handled[hold.channel] = handled.get(hold.channel, 0.0) + self._span(hold.since, now)
        count = self._held[hold.agent] - 1
        self._held[hold.agent] = count
        if count == 0:
            self.usage.busy += self._span(self._busy_since.pop(hold.agent), now)
        return hold.agent

    def holding(self, agent: str) -> int:
        return self._held.get(agent, 0)

    # ------------------------------------------------------------ free moments

    def freed(self, agent: str, now: float) -> None:
        self._freed.setdefault(agent, []).append(now)

    def freed_between(self, agent: str, since: float, until: float) -> bool:
        moments = self._freed.get(agent)
        if not moments:
            return False
        index = bisect.bisect_left(moments, since)
        return index < len(moments) and moments[index] <= until

    # ------------------------------------------------------------------- end

    def close(self, now: float) -> Usage:
        for contact in list(self._holds):
            self.drop(contact, now)
        for agent in list(self._logged_since):
            self.logout(agent, now)
        return self.usage
