"""The pages' own scripts and style sheet (``/static/<name>.js|.css``), so no page needs an
inline script and the Content-Security-Policy can say ``script-src 'self'``."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

router = APIRouter(tags=["pages"])
STATIC = Path(__file__).parent.parent / "static"
NAME = re.compile(r"^[a-z0-9-]{1,40}\.(js|css)$")
TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


@router.get("/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    match = NAME.fullmatch(name)
    path = STATIC / name
    if match is None or not path.is_file():
        raise HTTPException(404, "no such file")
    return Response(
        path.read_bytes(),
        media_type=TYPES[match.group(1)],
        headers={"Cache-Control": "no-cache"},
    )
