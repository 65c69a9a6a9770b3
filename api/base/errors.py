"""Error answers that stay short: a 422 lists at most a few problems, each without the
sender's whole input echoed back (10,000 unknown fields must not make a megabyte reply)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_ERRORS = 10
MAX_INPUT_CHARS = 100


def _short(value: Any) -> Any:
    """The offending input, if it is small; else a note of its type."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_INPUT_CHARS else value[:MAX_INPUT_CHARS] + "..."
    return f"({type(value).__name__})"


def capped(errors: list[Any]) -> dict[str, Any]:
    detail = [
        {
            "loc": [str(part)[:MAX_INPUT_CHARS] for part in error.get("loc", ())][:8],
            "msg": str(error.get("msg", ""))[:300],
            "type": str(error.get("type", "")),
            "input": _short(error.get("input")),
        }
        for error in errors[:MAX_ERRORS]
    ]
    body: dict[str, Any] = {"detail": detail}
    if len(errors) > MAX_ERRORS:
        body["more_errors"] = len(errors) - MAX_ERRORS
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(capped(list(exc.errors())), 422)
