"""Signing in to the pages with a user name and password: the sign-in page, the form post,
who am I, signing out. Single sign-on (OpenID Connect) is in api/accounts/oidc.py.

``GET /signin`` sets a CSRF cookie and puts the same value in the form (double submit);
``POST /v1/signin`` takes that form (then redirects, 303) or JSON ``{"user", "password"}``
(scripts: 200 with the session's CSRF secret). Attempts are rate-limited per address and
per user name. A session is a row in the database (api/base/sessions.py).
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from api.accounts.passwords import verify_in_thread
from api.base.headers import page
from api.base.limits import KeyedLimiter, client_address, parse_networks
from api.base.sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Principal,
    csrf_ok,
    hash_id,
    principal_from_cookies,
)
from api.base.settings import Settings
from channels import strict_json
from router.store.schema import UserRow

router = APIRouter(tags=["sign-in"])
FORM_COOKIE = "centralino_signin"
HOME = {"agent": "/desktop", "supervisor": "/wallboard", "admin": "/wallboard"}
TEXT = {
    "en": {
        "lang": "en",
        "title": "Sign in",
        "user": "User name",
        "password": "Password",
        "submit": "Sign in",
        "sso": "Sign in with your company account",
        "failed": "Wrong user name or password, or too many attempts: try again.",
    },
    "it": {
        "lang": "it",
        "title": "Accedi",
        "user": "Nome utente",
        "password": "Password",
        "submit": "Accedi",
        "sso": "Accedi con l'account aziendale",
        "failed": "Nome utente o password errati, o troppi tentativi: riprova.",
    },
}


def language(request: Request) -> str:
    """it or en, from ?lang= or the browser's Accept-Language (first of ours it names)."""
    wanted = request.query_params.get("lang", "")
    if wanted in TEXT:
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in TEXT:
            return code
    return "en"


def safe_next(value: str | None, role: str | None = None) -> str:
    """A local path to go to after signing in (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return HOME.get(role or "", "/desktop")


def limiters(request: Request) -> tuple[KeyedLimiter, KeyedLimiter]:
    state = request.app.state
    if not hasattr(state, "signin_limits"):
        settings: Settings = state.settings
        state.signin_limits = (
            KeyedLimiter(settings.signin_rate, settings.signin_burst),
            KeyedLimiter(settings.signin_rate, settings.signin_burst),
        )
    limits: tuple[KeyedLimiter, KeyedLimiter] = state.signin_limits
    return limits


def cookie_options(settings: Settings) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": settings.session_cookie_secure}


async def start_session(request: Request, response: Response, user: UserRow, via: str) -> Principal:
    """A new session for this user; its cookie is set on ``response``."""
    settings: Settings = request.app.state.settings
    raw = secrets.token_urlsafe(32)
    now = time.time()
    id_hash, csrf, expires_at = hash_id(raw), secrets.token_urlsafe(24), now + settings.session_ttl
    values = {
        "id_hash": id_hash,
        "user_name": user.name,
        "csrf": csrf,
        "via": via,
        "created_at": now,
        "expires_at": expires_at,
        "revoked_at": None,
    }
    await request.app.state.runtime.store.accounts.open_session(values)
    response.set_cookie(
        SESSION_COOKIE, raw, max_age=int(settings.session_ttl), path="/", **cookie_options(settings)
    )
    return Principal(
        user=user.name,
        display_name=user.display_name or user.name,
        role=user.role,
        agent_id=user.agent_id,
        csrf=csrf,
        session_hash=id_hash,
        expires_at=expires_at,
    )


def describe(principal: Principal) -> dict[str, Any]:
    return {
        "user": principal.user,
        "name": principal.display_name,
        "role": principal.role,
        "agent_id": principal.agent_id,
        "csrf": principal.csrf,
        "expires_at": principal.expires_at,
    }


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
async def signin_page(request: Request) -> HTMLResponse:
    """The sign-in form (no script: works with anything that can post a form)."""
    settings: Settings = request.app.state.settings
    text = TEXT[language(request)]
    token = secrets.token_urlsafe(24)
    next_path = safe_next(request.query_params.get("next"))
    sso = f"/v1/signin/oidc?next={quote(next_path)}" if settings.oidc_issuer else ""
    reply = page(
        "signin.html",
        fill={
            **text,
            "csrf": token,
            "next": next_path,
            "sso_href": sso,
            "sso_hidden": "" if sso else "hidden",
            "error": text["failed"] if request.query_params.get("error") else "",
        },
    )
    reply.set_cookie(
        FORM_COOKIE,
        token,
        max_age=3600,
        path="/v1/signin",
        **{**cookie_options(settings), "samesite": "strict"},
    )
    return reply


async def read_credentials(request: Request) -> tuple[str, str, str, bool]:
    """(user, password, next, from_form). A form must carry the CSRF cookie's value."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = strict_json.loads(await request.body())
        except strict_json.UnsafeJson as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad JSON: {exc}") from None
        if not isinstance(body, dict):
            raise HTTPException(422, 'give {"user": ..., "password": ...}')
        return str(body.get("user", "")), str(body.get("password", "")), "", False
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "post the sign-in form or JSON")
    form = await request.form()
    expected = request.cookies.get(FORM_COOKIE, "")
    given = str(form.get("csrf", ""))
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the sign-in form expired: reload the page")
    return str(form.get("user", "")), str(form.get("password", "")), str(form.get("next", "")), True


@router.post("/v1/signin")
async def signin(request: Request) -> Response:
    user_name, password, next_path, from_form = await read_credentials(request)
    settings: Settings = request.app.state.settings
    by_address, by_user = limiters(request)
    address = client_address(request.scope, parse_networks(settings.trusted_proxies))
    wait = max(by_address.take(address), by_user.take(user_name.strip().lower()[:64]))
    user = None
    if not wait and user_name and password:
        user = await request.app.state.runtime.store.accounts.user(user_name.strip()[:64])
        stored = user.password_hash if user is not None and not user.disabled else None
        if not await verify_in_thread(stored, password[:1024]) or user is None:
            user = None
    if user is None:
        if from_form:
            back = f"/signin?error=1&next={quote(safe_next(next_path))}"
            return RedirectResponse(back, status.HTTP_303_SEE_OTHER)
        if wait:
            return JSONResponse(
                {"detail": "too many sign-in attempts; retry later"},
                429,
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        return JSONResponse({"detail": "wrong user name or password"}, 401)
    if from_form:
        reply: Response = RedirectResponse(
            safe_next(next_path, user.role), status.HTTP_303_SEE_OTHER
        )
        reply.delete_cookie(FORM_COOKIE, path="/v1/signin")
        await start_session(request, reply, user, "password")
        return reply
    reply = JSONResponse({})
    principal = await start_session(request, reply, user, "password")
    reply.body = reply.render(describe(principal))
    reply.headers["content-length"] = str(len(reply.body))
    return reply


@router.get("/v1/session")
async def whoami(request: Request) -> dict[str, Any]:
    """The signed-in user of this browser, with the CSRF secret for changes; 401 if none."""
    principal = await principal_from_cookies(request.app, request.cookies)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in")
    return describe(principal)


@router.post("/v1/signout")
async def signout(request: Request) -> Response:
    """End this browser's session (X-CSRF-Token required); the cookie is cleared."""
    principal = await principal_from_cookies(request.app, request.cookies)
    reply = JSONResponse({"signed_out": principal is not None})
    if principal is not None:
        if not csrf_ok(principal, "POST", request.headers.get(CSRF_HEADER)):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong X-CSRF-Token")
        await request.app.state.runtime.store.accounts.revoke_session(
            principal.session_hash, time.time()
        )
    reply.delete_cookie(SESSION_COOKIE, path="/")
    return reply
