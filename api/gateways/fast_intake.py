"""``POST /v1/contacts`` without FastAPI's routing, for the request that needs none of it.

A well-formed, authorized new contact is the hot path of the whole router: at wire speed
FastAPI's own layers (its exception, exit-stack, body-limit and telemetry middlewares, the
router, dependency solving, request and response objects) cost about as much server CPU
as triage and the engine together (bench/intake.py; measured with the intake stubbed:
2,600/s against 4,700/s for a bare FastAPI endpoint). This middleware sits innermost
among ours, so every request has already passed the security headers, the gateway rate
limit, the body limit and the strict-JSON check (api/base/bodies.py, which leaves the
parsed body in the scope). It answers the request itself only when all of this holds:

- ``POST /v1/contacts`` with ``Content-Type: application/json`` and the body read whole;
- the gateway token, when one is configured, is the bearer token;
- the parsed body is a valid ``ContactIn``.

The contact then goes through ``accept_contact``, the same function the FastAPI route
calls, and its answer, or its error through the app's own exception handlers, is what the
route would send (tests/api/gateways/test_fast_intake.py compares the two). Anything else
(a missing or wrong token, an invalid body, another content type) goes on to the FastAPI
route with the body replayed, so every refusal keeps its one definition there.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError

from api.base.asgi_types import ASGIApp, Receive, Scope, Send
from api.base.auth import carries_token
from api.base.bodies import PARSED_JSON, replaying
from api.base.paths import is_intake
from api.gateways.contacts import ContactIn, accept_contact

JSON_TYPE = b"application/json"


class FastContactIntake:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.served = 0  # answered here (the rest went on to the route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_intake(scope):
            await self.app(scope, receive, send)
            return
        body = scope.get(PARSED_JSON)
        if not isinstance(body, dict) or not self._authorized(scope):
            await self.app(scope, receive, send)
            return
        message = await receive()
        replay = replaying(message, receive)
        if message["type"] != "http.request" or message.get("more_body", False):
            await self.app(scope, replay, send)
            return
        try:
            contact = ContactIn.model_validate(body)
        except ValidationError:  # the route answers it (422 in FastAPI's shape)
            await self.app(scope, replay, send)
            return
        app = scope["app"]
        app.state.fast_intake = self
        self.served += 1
        try:
            accepted = await accept_contact(contact, app.state)
        except Exception as exc:
            handler = _handler(app.exception_handlers, exc)
            if handler is None:
                raise  # as from the route: ServerErrorMiddleware answers 500
            response = await handler(Request(scope, replay), exc)
            await response(scope, replay, send)
            return
        payload = accepted.model_dump_json().encode()
        await send(
            {
                "type": "http.response.start",
                "status": 202,
                "headers": [
                    (b"content-length", str(len(payload)).encode()),
                    (b"content-type", JSON_TYPE),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    def _authorized(scope: Scope) -> bool:
        headers = scope["headers"]
        if not any(name == b"content-type" and value == JSON_TYPE for name, value in headers):
            return False
        expected = scope["app"].state.settings.gateway_token
        if not expected:
            return True
        return carries_token(scope, expected)


def _handler(handlers: dict[Any, Any], exc: Exception) -> Any:
    """The app's handler for this exception, by its class's MRO as Starlette looks it up
    (FastAPI's for the HTTPException that ``accept_contact`` raises for an intake error)."""
    return next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
