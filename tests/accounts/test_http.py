"""Accounts over HTTP against the real app: tokens, sessions, CSRF, lockout, roles, rate limits."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select

from bot.app import App
from core.roles import PERMISSIONS, Role
from tests.accounts.helpers import INSECURE, PASSWORD, account_with_token, bearer, expire
from tests.conftest import AppFactory
from ticketing.api_tokens import WebSession

ME, AUDIT, LOGIN, LOGOUT = "/api/v1/auth/me", "/api/v1/audit", "/api/v1/auth/login", "/api/v1/auth/logout"


async def problem(resp: ClientResponse, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status and body["type"].startswith("urn:frontdesk:problem:")
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_and_every_kind_of_bad_token(
    database_url: str, make_client: AppFactory, role: Role
) -> None:
    app, client = await make_client(database_url)
    secret = await account_with_token(app, "pat", role)

    me = await client.get(ME, headers=bearer(secret))
    assert me.status == 200
    body = await me.json()
    held = {p for p, roles in PERMISSIONS.items() if role in roles}
    assert body["account"] == {"name": "pat", "role": role.value} and set(body["permissions"]) == held
    assert body["via"] == "token" and "csrf_token" not in body

    audit = await client.get(AUDIT, headers=bearer(secret))
    if role is Role.ADMIN:
        assert audit.status == 200 and (await audit.json()) == {"entries": []}
    else:
        assert "audit:read" in (await problem(audit, 403))["detail"]

    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for headers in ({}, bearer(forged), bearer("not-a-frontdesk-token"), {"Authorization": "Basic eDp5"}):
        for path in (ME, AUDIT):
            resp = await client.get(path, headers=headers)
            await problem(resp, 401)
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")

    [row] = await app.api_tokens.list("pat")
    await expire(app.engine, row.id)
    assert "expired" in (await problem(await client.get(ME, headers=bearer(secret)), 401))["detail"]
    await app.api_tokens.revoke(row.id)
    assert "revoked" in (await problem(await client.get(AUDIT, headers=bearer(secret)), 401))["detail"]


async def test_scopes_narrow_a_token_and_a_lower_role_narrows_it_at_once(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    narrow = await account_with_token(app, "ann", Role.ADMIN, scopes="tickets:read")
    body = await (await client.get(ME, headers=bearer(narrow))).json()
    assert body["permissions"] == ["tickets:read"]
    assert "token's scopes" in (await problem(await client.get(AUDIT, headers=bearer(narrow)), 403))["detail"]

    ann = await app.accounts.get("ann")
    wide, _row = await app.api_tokens.create(
        ann, scopes="audit:read,tickets:read", expires_in=timedelta(days=1)
    )
    assert (await client.get(AUDIT, headers=bearer(wide))).status == 200
    await app.accounts.set_role("ann", Role.VIEWER)
    await problem(await client.get(AUDIT, headers=bearer(wide)), 403)
    await app.accounts.set_disabled("ann", True)
    assert "disabled" in (await problem(await client.get(ME, headers=bearer(wide)), 401))["detail"]


async def test_login_session_cookie_and_csrf(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url, extra=INSECURE)
    await app.accounts.add("ada", role=Role.ADMIN, password=PASSWORD, display_name="Ada L.")

    resp = await client.post(LOGIN, json={"name": "ada", "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["account"] == {"name": "ada", "role": "admin", "display_name": "Ada L."}
    csrf = body["csrf_token"]
    cookie = resp.cookies["fd_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]  # server.insecure_cookies: a development server on http
    assert cookie.value not in await _stored(app)  # only its digest is kept

    me = await (await client.get(ME)).json()
    assert me["via"] == "session" and me["csrf_token"] == csrf and me["account"]["name"] == "ada"
    assert (await client.get(AUDIT)).status == 200  # a read needs no CSRF token

    # A state change by cookie needs the session's CSRF token; the wrong one or none is a 403.
    await problem(await client.post(LOGOUT), 403)
    await problem(await client.post(LOGOUT, headers={"X-CSRF-Token": "x" * 43}), 403)
    assert (await client.post(LOGOUT, headers={"X-CSRF-Token": csrf})).status == 204
    ended = await client.get(ME, cookies={"fd_session": cookie.value})
    assert "session has ended" in (await problem(ended, 401))["detail"]


async def test_the_session_cookie_is_secure_by_default(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url)
    await app.accounts.add("ada", role=Role.VIEWER, password=PASSWORD)
    resp = await client.post(LOGIN, json={"name": "ada", "password": PASSWORD})
    assert resp.status == 200
    header = resp.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Strict" in header


async def test_failed_logins_lock_the_account_and_say_so(
    database_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = await make_client(database_url, extra=INSECURE)
    await app.accounts.add("bob", role=Role.AGENT, password=PASSWORD)
    await problem(await client.post(LOGIN, json={"name": "nobody", "password": "whatever123"}), 401)
    await problem(await client.post(LOGIN, json={"name": "bob"}), 400)
    with caplog.at_level(logging.WARNING, logger="ticketing.accounts"):
        for _attempt in range(5):
            body = await problem(
                await client.post(LOGIN, json={"name": "bob", "password": "guess-1234"}), 401
            )
            assert body["detail"] == "wrong name or password"
    assert any("account bob locked" in r.getMessage() for r in caplog.records)
    assert "guess-1234" not in caplog.text
    # Locked: even the right password is refused, with how long is left.
    resp = await client.post(LOGIN, json={"name": "bob", "password": PASSWORD})
    body = await problem(resp, 429)
    assert "locked" in body["detail"] and int(resp.headers["Retry-After"]) > 14 * 60
    await app.accounts.set_password("bob", "a new long password")  # an admin resets it: unlocked
    assert (await client.post(LOGIN, json={"name": "bob", "password": "a new long password"})).status == 200
    await app.accounts.set_disabled("bob", True)
    body = await problem(
        await client.post(LOGIN, json={"name": "bob", "password": "a new long password"}), 401
    )
    assert "disabled" in body["detail"]


async def test_logins_per_address_are_limited(database_url: str, make_client: AppFactory) -> None:
    _app, client = await make_client(database_url, extra="api:\n  logins_per_ip_per_minute: 2\n")
    for _attempt in range(2):
        await problem(await client.post(LOGIN, json={"name": "x", "password": "y"}), 401)
    resp = await client.post(LOGIN, json={"name": "x", "password": "y"})
    assert "this address" in (await problem(resp, 429))["detail"] and int(resp.headers["Retry-After"]) >= 1


async def test_rate_limit_per_token(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url, extra="api:\n  requests_per_minute: 1\n  burst: 3\n")
    secret = await account_with_token(app, "vic", Role.VIEWER)
    other = await account_with_token(app, "val", Role.VIEWER)
    for _request in range(3):
        assert (await client.get(ME, headers=bearer(secret))).status == 200
    resp = await client.get(ME, headers=bearer(secret))
    await problem(resp, 429)
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await client.get(ME, headers=bearer(other))).status == 200  # another token's own bucket


async def test_last_use_is_recorded(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url)
    secret = await account_with_token(app, "lu", Role.AGENT)
    [before] = await app.api_tokens.list("lu")
    assert before.last_used_at is None
    for _request in range(3):
        assert (await client.get(ME, headers=bearer(secret))).status == 200
    [after] = await app.api_tokens.list("lu")
    assert after.last_used_at is not None


async def _stored(app: App) -> str:
    async with app.engine.connect() as conn:
        return " ".join(r[0] for r in (await conn.execute(select(WebSession.session_hash))).all())


async def test_the_account_api_has_no_cors_unless_configured(
    database_url: str, make_client: AppFactory
) -> None:
    """The widget's endpoints follow webchat.allowed_origins ("*" by default); the account API
    answers no other site's browser until api.allowed_origins names it."""
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    app, client = await make_client(database_url)
    secret = await account_with_token(app, "cors", Role.VIEWER)
    resp = await client.options(ME, headers=preflight)
    assert resp.status == 403 and "api.allowed_origins" in (await resp.json())["error"]["message"]
    resp = await client.get(ME, headers={**bearer(secret), "Origin": "https://evil.example"})
    assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers
    widget = await client.options(
        "/api/v1/sessions", headers={**preflight, "Access-Control-Request-Method": "POST"}
    )
    assert widget.status == 204 and widget.headers["Access-Control-Allow-Origin"] == "*"

    app, client = await make_client(database_url, extra="api:\n  allowed_origins: [https://crm.example]\n")
    resp = await client.options(ME, headers={**preflight, "Origin": "https://crm.example"})
    assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == "https://crm.example"
    assert "PATCH" in resp.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in resp.headers
