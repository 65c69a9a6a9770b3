"""The paths middlewares match on a raw scope are the app's own (api/base/paths.py)."""

from __future__ import annotations

from api.base.paths import INTAKE_PATH
from api.server.app import create_app


def test_the_intake_path_is_the_routes_post() -> None:
    assert "post" in create_app().openapi()["paths"][INTAKE_PATH]
