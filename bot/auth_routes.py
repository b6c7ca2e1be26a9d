"""``/api/v1/auth/login``, ``/logout``, ``/me`` and ``/api/v1/audit``: accounts over HTTP.

Login takes ``{"name", "password"}`` as JSON and sets the session cookie (an opaque random id,
stored as its SHA-256 with an expiry; shaped in :mod:`bot.session_cookie`, shared with the
console). Logins are limited per client address (``api.logins_per_ip_per_minute``) on top of
the per-account lock in :mod:`ticketing.accounts`. Every answer other than a success is problem+json.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.api_auth import SESSION_COOKIE, ApiAuth, Principal, TokenBuckets, require
from bot.problem import Problem, problem_handler
from bot.session_cookie import clear_session_cookie, set_session_cookie
from ticketing.access_audit import AccessAudit
from ticketing.accounts import Accounts
from ticketing.api_tokens import ApiTokens
from ticketing.errors import LoginRefused, UnknownAccount

__all__ = ["AuthRoutes"]


class AuthRoutes:
    def __init__(
        self, *, auth: ApiAuth, accounts: Accounts, tokens: ApiTokens, audit: AccessAudit,
        logins: TokenBuckets, session_hours: float, secure_cookies: bool,
    ) -> None:  # fmt: skip
        self._auth = auth
        self._accounts = accounts
        self._tokens = tokens
        self._audit = audit
        self._logins = logins
        self._lifetime = timedelta(hours=session_hours)
        self._secure = secure_cookies

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/auth/login", problem_handler(self.login)),
            web.post("/api/v1/auth/logout", problem_handler(self.logout)),
            web.get("/api/v1/auth/me", problem_handler(self.me)),
            web.get("/api/v1/audit", problem_handler(self.audit)),
        ]

    async def login(self, request: web.Request) -> web.Response:
        wait = self._logins.take(f"ip:{request.remote}")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise Problem(
                429, "Too many login attempts",
                f"too many logins from this address; retry in {seconds} s", slug="rate-limited",
                headers={"Retry-After": str(seconds)},
            )  # fmt: skip
        name, password = await _credentials(request)
        try:
            account = await self._accounts.authenticate(name, password)
        except LoginRefused as exc:
            if exc.retry_after:
                raise Problem(429, "Account locked", str(exc), slug="locked",
                              headers={"Retry-After": str(exc.retry_after)}) from None  # fmt: skip
            raise Problem(401, "Login failed", str(exc), slug="login-failed") from None
        secret, csrf = await self._tokens.open_session(account, lifetime=self._lifetime)
        response = web.json_response(
            {"account": _account(account.name, str(account.role), account.display_name), "csrf_token": csrf}
        )
        set_session_cookie(response, secret, lifetime=self._lifetime, secure=self._secure)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        if principal.via != "session":
            raise Problem(
                400, "Not a session", "a token is revoked with frontdesk tokens revoke", slug="not-a-session"
            )
        await self._tokens.close_session(request.cookies[SESSION_COOKIE])
        response = web.Response(status=204)
        clear_session_cookie(response)
        return response

    async def me(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        body: dict[str, Any] = {
            "account": _account(principal.name, str(principal.role), None),
            "via": principal.via,
            "permissions": sorted(principal.scopes),
            "token_id": principal.token_id,
        }
        if principal.csrf_token is not None:
            body["csrf_token"] = principal.csrf_token
        return web.json_response(body)

    async def audit(self, request: web.Request) -> web.Response:
        principal: Principal = await self._auth.principal(request)
        require(principal, "audit:read")
        query = request.query
        account_id = None
        if "account" in query:
            try:
                account_id = (await self._accounts.get(query["account"])).id
            except UnknownAccount as exc:
                raise Problem(404, "Unknown account", str(exc), slug="not-found") from None
        limit = _int(query, "limit")
        if limit is not None and limit < 1:
            raise Problem(400, "Bad query", "limit must be 1 or more (above 1000 counts as 1000)",
                          slug="bad-request")  # fmt: skip
        rows = await self._audit.list(
            customer_id=_int(query, "customer"), account_id=account_id, since=_since(query),
            limit=min(limit or 200, 1000),
        )  # fmt: skip
        return web.json_response({"entries": [
            {"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
             "customer_id": r.customer_id, "ticket_id": r.ticket_id, "source": r.source, "detail": r.detail}
            for r in rows
        ]})  # fmt: skip


def _account(name: str, role: str, display_name: str | None) -> dict[str, Any]:
    return {"name": name, "role": role, **({"display_name": display_name} if display_name else {})}


async def _credentials(request: web.Request) -> tuple[str, str]:
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        body = None
    name = body.get("name") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        raise Problem(
            400, "Bad login request", 'send JSON {"name": "...", "password": "..."}', slug="bad-request"
        )
    return name, password


def _int(query: Any, key: str) -> int | None:
    if key not in query:
        return None
    try:
        value = int(query[key])
    except ValueError:
        value = None
    if value is None or abs(value) >= 2**63:  # beyond BIGINT the driver would fail, not answer
        raise Problem(400, "Bad query", f"{key} must be a whole number", slug="bad-request")
    return value


def _since(query: Any) -> datetime | None:
    if "since" not in query:
        return None
    try:
        at = datetime.fromisoformat(query["since"])
        # In UTC now: an offset that moves it past year 1 or 9999 is the client's, not a 500.
        return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise Problem(
            400,
            "Bad query",
            "since must be an ISO 8601 date or time (years 1 to 9999, in UTC)",
            slug="bad-request",
        ) from None
