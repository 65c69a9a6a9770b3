"""Single sign-on with the company's identity provider (OpenID Connect, code flow + PKCE).

On when ``CENTRALINO_OIDC_ISSUER`` (with client id and secret) is set. ``GET
/v1/signin/oidc`` sends the browser to the provider with a fresh state, nonce and PKCE
verifier (kept in a short-lived HttpOnly cookie); the provider sends it back to
``/v1/signin/oidc/callback``, where the code is exchanged for an id_token whose signature
(the provider's JWKS), issuer, audience, expiry and nonce are checked. The user is the one
bound to the token's ``sub``, else the one named by ``CENTRALINO_OIDC_USERNAME_CLAIM``
(``preferred_username``) that is not bound yet (the first sign-in binds it). Nobody is
created here: an admin creates users (``PUT /v1/users/...``), the provider proves who they are.

authlib builds the PKCE challenge and the URL; joserfc (authlib's JOSE library) checks the
id_token; httpx talks to the provider.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from api.accounts.signin import cookie_options, safe_next, start_session
from api.base.settings import Settings

router = APIRouter(prefix="/v1/signin/oidc", tags=["sign-in"])
log = logging.getLogger("centralino.oidc")
FLOW_COOKIE = "centralino_oidc"
DISCOVERY_TTL = 3600.0


class ProviderError(Exception):
    """The identity provider could not be reached or answered something unusable."""


async def provider(request: Request) -> dict[str, Any]:
    """The provider's discovery document and JWKS, cached for an hour."""
    settings: Settings = request.app.state.settings
    cached = getattr(request.app.state, "oidc_provider", None)
    if cached is not None and cached["fetched"] + DISCOVERY_TTL > time.monotonic():
        return dict(cached)
    issuer = settings.oidc_issuer.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            found = (await client.get(issuer + "/.well-known/openid-configuration")).json()
            keys = (await client.get(found["jwks_uri"])).json()
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise ProviderError(f"cannot read the provider's discovery document: {exc}") from exc
    meta = {**found, "jwks": keys, "fetched": time.monotonic()}
    request.app.state.oidc_provider = meta
    return meta


def redirect_uri(request: Request) -> str:
    settings: Settings = request.app.state.settings
    base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return base + "/v1/signin/oidc/callback"


def _configured(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "single sign-on is not configured")
    return settings


@router.get("")
async def start(request: Request) -> Response:
    settings = _configured(request)
    try:
        meta = await provider(request)
    except ProviderError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    flow = {
        "state": generate_token(32),
        "nonce": generate_token(32),
        "verifier": generate_token(64),
        "next": safe_next(request.query_params.get("next")),
    }
    url = add_params_to_uri(
        meta["authorization_endpoint"],
        [
            ("response_type", "code"),
            ("client_id", settings.oidc_client_id),
            ("redirect_uri", redirect_uri(request)),
            ("scope", "openid profile email"),
            ("state", flow["state"]),
            ("nonce", flow["nonce"]),
            ("code_challenge", create_s256_code_challenge(flow["verifier"])),
            ("code_challenge_method", "S256"),
        ],
    )
    reply = RedirectResponse(url, status.HTTP_302_FOUND)
    packed = base64.urlsafe_b64encode(json.dumps(flow).encode()).decode()
    reply.set_cookie(
        FLOW_COOKIE, packed, max_age=600, path="/v1/signin/oidc", **cookie_options(settings)
    )
    return reply


def _flow(request: Request) -> dict[str, str]:
    try:
        flow = json.loads(base64.urlsafe_b64decode(request.cookies.get(FLOW_COOKIE, "")))
    except (ValueError, TypeError):
        flow = None
    if not isinstance(flow, dict) or not all(
        isinstance(flow.get(k), str) for k in ("state", "nonce", "verifier", "next")
    ):
        raise HTTPException(400, "no sign-in in progress in this browser: start again")
    return flow


async def _claims(request: Request, code: str, flow: dict[str, str]) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    meta = await provider(request)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri(request),
                    "code_verifier": flow["verifier"],
                },
                auth=(settings.oidc_client_id, settings.oidc_client_secret),
            )
        tokens = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"token exchange failed: {exc}") from exc
    if answer.status_code != 200 or not isinstance(tokens.get("id_token"), str):
        raise ProviderError(f"token exchange refused: {answer.status_code} {tokens}")
    try:
        token = jwt.decode(
            tokens["id_token"], KeySet.import_key_set(meta["jwks"]), algorithms=["RS256", "ES256"]
        )
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": meta.get("issuer", settings.oidc_issuer)},
            aud={"essential": True, "value": settings.oidc_client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": flow["nonce"]},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise ProviderError(f"the id_token does not check out: {exc}") from exc
    return dict(token.claims)


@router.get("/callback")
async def callback(request: Request) -> Response:
    settings = _configured(request)
    flow = _flow(request)
    if request.query_params.get("state") != flow["state"]:
        raise HTTPException(400, "state mismatch: start the sign-in again")
    if "error" in request.query_params or not request.query_params.get("code"):
        return RedirectResponse(f"/signin?error=1&next={quote(flow['next'])}", 303)
    try:
        claims = await _claims(request, request.query_params["code"], flow)
    except ProviderError as exc:
        log.warning("single sign-on failed: %s", exc)
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    accounts = request.app.state.runtime.store.accounts
    user = await accounts.user_by_subject(str(claims["sub"]))
    if user is None:
        named = await accounts.user(str(claims.get(settings.oidc_username_claim, ""))[:64])
        if named is not None and named.oidc_subject is None:
            user, _ = await accounts.save_user(
                {"name": named.name, "oidc_subject": str(claims["sub"])}, time.time()
            )
    if user is None or user.disabled:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "your company account has no centralino user: ask an admin"
        )
    reply = RedirectResponse(safe_next(flow["next"], user.role), status.HTTP_303_SEE_OTHER)
    reply.delete_cookie(FLOW_COOKIE, path="/v1/signin/oidc")
    await start_session(request, reply, user, "oidc")
    return reply
