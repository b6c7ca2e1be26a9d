"""Signing in and out of the console with an account's name and password.

The login form carries its own CSRF token, a random value also set in a short-lived cookie
(double submit): another site cannot post a login into this browser (login CSRF), because it can
neither read nor set that cookie. Logins share the per-address limit of the API's login and the
per-account lock of :mod:`ticketing.accounts`; the session is the API's (:mod:`bot.session_cookie`).
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import timedelta

from aiohttp import web

from bot.api_auth import SESSION_COOKIE, TokenBuckets
from bot.console.pages import BASE, Pages, safe_next
from bot.session_cookie import clear_session_cookie, set_session_cookie
from ticketing.accounts import Accounts
from ticketing.api_tokens import ApiTokens
from ticketing.errors import LoginRefused

__all__ = ["LoginPages"]

_LOGIN_COOKIE = "fd_login"
_LOGIN_PATH = f"{BASE}/login"


class LoginPages:
    def __init__(
        self,
        *,
        pages: Pages,
        accounts: Accounts,
        tokens: ApiTokens,
        logins: TokenBuckets,
        session_hours: float,
        secure_cookies: bool,
    ) -> None:
        self._pages = pages
        self._accounts = accounts
        self._tokens = tokens
        self._logins = logins
        self._lifetime = timedelta(hours=session_hours)
        self._secure = secure_cookies

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(_LOGIN_PATH, self.form),
            web.post(_LOGIN_PATH, self.login),
            web.post(f"{BASE}/logout", self.logout),
        ]

    async def form(self, request: web.Request) -> web.Response:
        return self._form(request, error=None, name="", status=200)

    async def login(self, request: web.Request) -> web.Response:
        form = await self._pages.form(request)
        sent, expected = str(form.get("login_token", "")), request.cookies.get(_LOGIN_COOKIE, "")
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return self._form(request, error="The form expired; sign in again.", name=name, status=400)
        if not name or not password:
            return self._form(request, error="Enter your account name and password.", name=name, status=400)
        wait = self._logins.take(f"ip:{request.remote}")
        if wait > 0:
            error = f"Too many sign-in attempts from this address; try again in {max(1, math.ceil(wait))} s."
            return self._form(request, error=error, name=name, status=429)
        try:
            account = await self._accounts.authenticate(name, password)
        except LoginRefused as exc:
            return self._form(request, error=str(exc), name=name, status=429 if exc.retry_after else 401)
        secret, _csrf = await self._tokens.open_session(account, lifetime=self._lifetime)
        response = web.HTTPSeeOther(safe_next(request.query.get("next")))
        set_session_cookie(response, secret, lifetime=self._lifetime, secure=self._secure)
        response.del_cookie(_LOGIN_COOKIE, path=_LOGIN_PATH)
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        form = await self._pages.form(request)
        await self._pages.viewer(request, "tickets:read", csrf=str(form.get("csrf_token", "")) or None)
        await self._tokens.close_session(request.cookies[SESSION_COOKIE])
        response = web.HTTPSeeOther(_LOGIN_PATH)
        clear_session_cookie(response)
        raise response

    def _form(self, request: web.Request, *, error: str | None, name: str, status: int) -> web.Response:
        token = secrets.token_urlsafe(24)
        context = {
            "error": error,
            "name": name,
            "login_token": token,
            "next": safe_next(request.query.get("next")),
        }
        response = self._pages.render("login.html", request, context, principal=None, status=status)
        response.set_cookie(
            _LOGIN_COOKIE,
            token,
            max_age=3600,
            path=_LOGIN_PATH,
            httponly=True,
            samesite="Strict",
            secure=self._secure,
        )
        return response
