"""Hot reload of config.yaml: on request (admin) or when the file changes on disk.

A file that does not load is refused with file:line errors and the running rules stay.
Every reload is logged with a summary of what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.base.auth import require_admin
from router.intake import Intake
from router.rules.diff import config_diff
from router.rules.loader import ConfigError, load_rules
from router.rules.planner import Planner
from router.runtime import RouterRuntime

log = logging.getLogger("centralino.reload")
router = APIRouter(prefix="/v1/admin", tags=["ops"], dependencies=[Depends(require_admin)])


class Reloader:
    def __init__(self, path: str, runtime: RouterRuntime, intake: Intake) -> None:
        self.path = path
        self.runtime = runtime
        self.intake = intake
        self._seen = self._stamp()
        self.last_error: list[str] = []

    def _stamp(self) -> tuple[float, int] | None:
        try:
            stat = Path(self.path).stat()
        except OSError:
            return None
        return stat.st_mtime, stat.st_size

    def reload(self) -> dict[str, Any]:
        """Load the file and switch to it; raises ConfigError and keeps the old rules."""
        try:
            rules = load_rules(self.path)
        except ConfigError as exc:
            self.last_error = [str(problem) for problem in exc.problems]
            log.error(
                "reload of %s refused, running rules kept:\n%s",
                self.path,
                "\n".join(self.last_error),
            )
            raise
        self.last_error = []
        changes = config_diff(self.runtime.engine.config, rules.config)
        self.intake.use_rules(Planner(rules))
        self.runtime.submit(lambda now: self.runtime.engine.reload(rules.config, now))
        log.info("reloaded %s: %s", self.path, "; ".join(changes) or "no changes")
        return {"reloaded": True, "file": self.path, "changes": changes}

    async def watch(self, interval: float) -> None:
        """Reload whenever the file's modification time or size changes."""
        while True:
            await asyncio.sleep(interval)
            stamp = self._stamp()
            if stamp is not None and stamp != self._seen:
                self._seen = stamp
                with contextlib.suppress(ConfigError):  # logged; the old rules keep running
                    self.reload()


@router.post("/reload")
async def reload_rules(request: Request) -> Any:
    """Reload config.yaml now. 422 with every problem if it does not load."""
    reloader: Reloader = request.app.state.reloader
    try:
        return reloader.reload()
    except ConfigError as exc:
        return JSONResponse({"reloaded": False, "problems": [str(p) for p in exc.problems]}, 422)
