"""A small OpenID Connect provider for tests: discovery, JWKS, authorize (approves at once
as ``login_as``), token (checks the client secret and PKCE, returns an RS256 id_token)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.live import LoopbackServer

CLIENT_ID = "centralino-test"
CLIENT_SECRET = "provider-secret"


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, {"kid": "k1"}, private=True)
        self.signing_key = self.key  # a test may swap in a key the JWKS does not list
        self.login_as: dict[str, Any] = {"sub": "idp-0001", "preferred_username": "giulia"}
        self.nonce_override: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.app = self._app()
        self.loopback = LoopbackServer(self.app)
        self.issuer = self.loopback.url  # read by the app's handlers, once it serves

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
            assert q["code_challenge_method"] == "S256" and "openid" in q["scope"].split()
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "nonce": q["nonce"],
                "challenge": q["code_challenge"],
                "redirect_uri": q["redirect_uri"],
            }
            return RedirectResponse(
                q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}), 302
            )

        @app.post("/token")
        async def token(
            request: Request,
            code: str = Form(),
            code_verifier: str = Form(),
            redirect_uri: str = Form(),
        ) -> JSONResponse:
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {basic}":
                return JSONResponse({"error": "invalid_client"}, 401)
            grant = self.codes.pop(code, None)
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
            if (
                grant is None
                or digest.rstrip(b"=").decode() != grant["challenge"]
                or redirect_uri != grant["redirect_uri"]
            ):
                return JSONResponse({"error": "invalid_grant"}, 400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": self.nonce_override or grant["nonce"],
                **self.login_as,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.signing_key)
            return JSONResponse(
                {
                    "access_token": "at",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }
            )

        return app

    def start(self) -> Provider:
        self.loopback.start()
        return self

    def stop(self) -> None:
        self.loopback.stop()
