"""Single sign-on against a real (local) OpenID Connect provider started by the test: the
whole code flow over HTTP, with a real signed id_token checked against the provider's JWKS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.api.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.live import ThreadServer, admin_headers, create_agent


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sso_server(provider: Provider, tmp_path: Path) -> Iterator[ThreadServer]:
    running = ThreadServer(
        tmp_path / "centralino.db",
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    ).start()
    try:
        yield running
    finally:
        running.stop()


async def walk(server: ThreadServer, browser: httpx.AsyncClient, next_path: str) -> httpx.Response:
    """Follow the redirects a browser would: us -> provider -> our callback."""
    start = await browser.get(f"{server.url}/v1/signin/oidc", params={"next": next_path})
    assert start.status_code == 302, start.text
    assert "centralino_oidc" in start.headers["set-cookie"]
    approved = await browser.get(start.headers["location"])
    assert approved.status_code == 302
    assert approved.headers["location"].startswith(f"{server.url}/v1/signin/oidc/callback?")
    return await browser.get(approved.headers["location"])


async def setup_user(server: ThreadServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as admin:
        await create_agent(admin, "giulia", skills={"billing": 5})
        reply = await admin.put(
            "/v1/users/giulia",
            json={"role": "agent", "agent_id": "giulia"},
            headers=admin_headers(),
        )
        assert reply.status_code == 200, reply.text


async def test_single_sign_on_binds_the_subject_and_opens_a_session(
    provider: Provider, sso_server: ThreadServer
) -> None:
    await setup_user(sso_server)
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(f"{sso_server.url}/signin")
        assert 'href="/v1/signin/oidc?next=' in page.text
        done = await walk(sso_server, browser, "/desktop")
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/desktop"
        me = (await browser.get(f"{sso_server.url}/v1/session")).json()
        assert me["user"] == "giulia" and me["agent_id"] == "giulia"
    async with httpx.AsyncClient(base_url=sso_server.url) as admin:
        users = (await admin.get("/v1/users", headers=admin_headers())).json()
    assert users[0]["oidc_subject"] == "idp-0001" and users[0]["sessions"] == 1
    # the next sign-in matches the sub, even if the provider's user name changed
    provider.login_as = {"sub": "idp-0001", "preferred_username": "renamed"}
    async with httpx.AsyncClient(timeout=10) as browser:
        assert (await walk(sso_server, browser, "/desktop")).status_code == 303


async def test_a_token_signed_by_another_key_or_for_another_nonce_is_refused(
    provider: Provider, sso_server: ThreadServer
) -> None:
    await setup_user(sso_server)
    provider.signing_key = RSAKey.generate_key(2048, {"kid": "k1"}, private=True)
    async with httpx.AsyncClient(timeout=10) as browser:
        refused = await walk(sso_server, browser, "/desktop")
        assert refused.status_code == 502 and "does not check out" in refused.text
        assert (await browser.get(f"{sso_server.url}/v1/session")).status_code == 401
    provider.signing_key = provider.key
    provider.nonce_override = "replayed"
    async with httpx.AsyncClient(timeout=10) as browser:
        assert (await walk(sso_server, browser, "/desktop")).status_code == 502


async def test_an_unknown_company_account_or_a_forged_state_gets_no_session(
    provider: Provider, sso_server: ThreadServer
) -> None:
    provider.login_as = {"sub": "idp-9999", "preferred_username": "stranger"}
    async with httpx.AsyncClient(timeout=10) as browser:
        refused = await walk(sso_server, browser, "/desktop")
        assert refused.status_code == 403 and "ask an admin" in refused.text
        start = await browser.get(f"{sso_server.url}/v1/signin/oidc")
        approved = await browser.get(start.headers["location"])
        forged = approved.headers["location"].replace("state=", "state=x")
        assert (await browser.get(forged)).status_code == 400
        assert (await browser.get(f"{sso_server.url}/v1/session")).status_code == 401


async def test_single_sign_on_is_off_without_an_issuer(server: ThreadServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as browser:
        assert (await browser.get("/v1/signin/oidc")).status_code == 404
        assert 'hidden><a id="sso"' in (await browser.get("/signin")).text
