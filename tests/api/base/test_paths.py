"""The paths middlewares match on a raw scope are the app's own (api/base/paths.py)."""

from __future__ import annotations

from api.base.paths import INTAKE_PATH, is_intake
from api.server.app import create_app


def test_the_intake_path_is_the_routes_post() -> None:
    assert "post" in create_app().openapi()["paths"][INTAKE_PATH]


def test_only_an_http_post_to_the_intake_path_is_intake() -> None:
    assert is_intake({"type": "http", "method": "POST", "path": INTAKE_PATH})
    assert not is_intake({"type": "http", "method": "GET", "path": INTAKE_PATH})
    assert not is_intake({"type": "http", "method": "POST", "path": INTAKE_PATH + "/x/end"})
    assert not is_intake({"type": "websocket", "path": INTAKE_PATH})  # (no method there)
    assert not is_intake({"type": "lifespan"})
