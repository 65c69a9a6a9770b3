"""The background job that keeps report_intervals up to date: it aggregates, from the
committed record, every interval not yet final up to the one in progress. It runs beside
the router (never on the routing path); a report request runs it once more first, so a
report includes the last minutes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from router.reports.aggregate import INTERVAL, interval_start
from router.reports.figures import Figures, LocalFigures
from router.reports.records import ReportRecords
from router.rules.model import RoutingConfig
from router.store.errors import StoreError

log = logging.getLogger("centralino.reports")

GRACE = 60.0  # an interval is final this long after its end (decisions are committed by then)
MOST_PER_RUN = 96  # intervals aggregated per run (a day); a longer backlog takes more runs


class Reporter:
    def __init__(
        self,
        records: ReportRecords,
        config: Callable[[], RoutingConfig],
        clock: Callable[[], float] = time.time,
        figures: Figures | None = None,
    ) -> None:
        self.records = records
        self.config = config
        self.clock = clock
        # where the figures are computed (router/reports/figures.py): by default here
        self.figures = figures or LocalFigures(records)
        self._lock = asyncio.Lock()

    async def refresh(self, now: float | None = None) -> int:
        """Aggregate the intervals from the first one not final to the one in progress
        (at most MOST_PER_RUN); returns how many were written."""
        async with self._lock:
            now = self.clock() if now is None else now
            done = await self.records.done_until()
            if done is None:
                first = await self.records.earliest()
                done = interval_start(now if first is None else min(first, now))
            start, written, last = done, 0, interval_start(now)
            config = self.config()
            while start <= last and written < MOST_PER_RUN:
                figures = await self.figures(start, now, config)
                final = start == done and start + INTERVAL + GRACE <= now
                if final:
                    done = start + INTERVAL
                await self.records.replace(start, figures, done if final else None)
                start += INTERVAL
                written += 1
            return written

    def close(self) -> None:
        self.figures.close()

    async def run(self) -> None:
        """Refresh every ``reports.refresh`` seconds; the first run waits that long too, so
        a router taking over spends its first moments routing, not aggregating."""
        while True:
            await asyncio.sleep(self.config().reports.refresh)
            try:
                await self.refresh()
            except StoreError as exc:
                log.warning("reports not refreshed this time: %s", exc)
            except Exception:  # a bug here must not stop the reports for good
                log.exception("reports not refreshed this time")
