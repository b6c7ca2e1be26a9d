"""Who is asking: ``Authorization: Bearer fd_…`` or the console's session cookie → a Principal.

Every account-protected endpoint under ``/api/v1/`` starts with ``principal = await
auth.principal(request)`` and ``require(principal, "tickets:read")``; both raise a
:class:`~bot.problem.Problem` (401 with ``WWW-Authenticate: Bearer`` for a missing, unknown,
expired or revoked credential; 403 for a missing permission or CSRF token; 429 over the rate
limit). The web chat widget's endpoints keep their own visitor tokens and never come here.

A request authenticated by cookie that changes state must carry the session's CSRF token in
``X-CSRF-Token`` (a synchronizer token, returned by login and ``/auth/me``): another site can
make a browser send the cookie but cannot read the token. Bearer requests need none: a browser
never adds that header by itself.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from bot.problem import Problem
from core.roles import Role
from ticketing.access_audit import AccessAudit
from ticketing.api_tokens import TOKEN_PREFIX, ApiTokens, Credential, CredentialRefused

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "ApiAuth",
    "Principal",
    "TokenBuckets",
    "record_access",
    "require",
]

SESSION_COOKIE = "fd_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BEARER = {"WWW-Authenticate": 'Bearer realm="frontdesk"'}


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    name: str
    role: Role
    scopes: frozenset[str]  # what this request may do: the token's scopes, or the role's
    token_id: int | None
    via: Literal["token", "session"]
    csrf_token: str | None = None  # the session's; never set for a token

    def may(self, permission: str) -> bool:
        return permission in self.scopes


def require(principal: Principal, permission: str) -> None:
    """Raises a 403 problem unless ``principal`` holds ``permission``."""
    if not principal.may(permission):
        held = "token's scopes" if principal.via == "token" else f"{principal.role} role"
        raise Problem(
            403, "Forbidden",
            f"this needs {permission}, which the {held} of {principal.name} does not include; "
            + ("create a token with that scope" if principal.via == "token" else "ask an admin"),
            slug="forbidden",
        )  # fmt: skip


class TokenBuckets:
    """In-memory token buckets, one per key (a token, a session's account, an address), per
    process: ``rate`` per minute on average, ``burst`` at once. Keys idle long enough to be
    full again are dropped, so the map stays as small as the set of active callers."""

    def __init__(self, *, per_minute: float, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 if the call may go ahead (one unit taken), else the seconds until it may."""
        now = time.monotonic()
        level, at = self._buckets.get(key, (self._burst, now))
        level = min(self._burst, level + (now - at) * self._rate)
        if level < 1.0:
            self._buckets[key] = (level, now)
            return (1.0 - level) / self._rate
        self._buckets[key] = (level - 1.0, now)
        if len(self._buckets) > 10_000:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        full_after = self._burst / self._rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


class ApiAuth:
    def __init__(self, *, tokens: ApiTokens, limits: TokenBuckets) -> None:
        self._tokens = tokens
        self._limits = limits

    async def principal(self, request: web.Request, *, csrf: str | None = None) -> Principal:
        """The caller, checked: credential valid, CSRF token for a cookie's state change, and
        under the rate limit. Raises :class:`Problem` (401, 403 or 429).

        ``csrf``: the token a console form sent as a field (a form cannot set a header)."""
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip().startswith(TOKEN_PREFIX):
                raise _unauthorized(
                    "send Authorization: Bearer fd_… with a token from frontdesk tokens create"
                )
            principal = _principal(await self._check(self._tokens.verify_token(secret.strip())), "token")
            key = f"token:{principal.token_id}"
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if not cookie:
                raise _unauthorized(
                    "sign in (POST /api/v1/auth/login) or send Authorization: Bearer fd_… with an API token"
                )
            principal = _principal(await self._check(self._tokens.verify_session(cookie)), "session")
            if request.method not in _SAFE_METHODS:
                sent = csrf if csrf is not None else request.headers.get(CSRF_HEADER, "")
                if not hmac.compare_digest(sent.encode(), (principal.csrf_token or "").encode()):
                    raise Problem(
                        403, "CSRF token missing or wrong",
                        f"send the csrf_token from /api/v1/auth/login or /api/v1/auth/me in {CSRF_HEADER}",
                        slug="csrf",
                    )  # fmt: skip
            key = f"account:{principal.account_id}"
        wait = self._limits.take(key)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise Problem(
                429, "Too many requests",
                f"over api.requests_per_minute for this {principal.via}; retry in {seconds} s",
                slug="rate-limited", headers={"Retry-After": str(seconds)},
            )  # fmt: skip
        return principal

    @staticmethod
    async def _check(verifying: Awaitable[Credential]) -> Credential:
        try:
            return await verifying
        except CredentialRefused as exc:
            raise _unauthorized(str(exc)) from None


def _principal(credential: Credential, via: Literal["token", "session"]) -> Principal:
    a = credential.account
    return Principal(a.id, a.name, a.role, credential.scopes, credential.token_id, via, credential.csrf_token)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, slug="unauthorized", headers=_BEARER)


async def record_access(
    audit: AccessAudit, request: web.Request, principal: Principal, action: str, *,
    customer_id: int | None = None, ticket_id: int | None = None,
) -> None:  # fmt: skip
    """One line for the API: record that ``principal`` read personal data (``customer.read``)."""
    await audit.record(
        actor=f"account:{principal.name}", account_id=principal.account_id, action=action,
        customer_id=customer_id, ticket_id=ticket_id, source=f"ip:{request.remote or '?'}",
        detail={"via": principal.via, "token_id": principal.token_id, "path": request.path},
    )  # fmt: skip
