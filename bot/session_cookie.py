"""The browser session cookie, one shape for the API's login and the console's.

Path ``/``: the console (``/console``) and the API it shares the session with (``/api/v1``)
both receive it. ``HttpOnly`` keeps it from scripts, ``SameSite=Strict`` from other sites'
requests, ``Secure`` unless ``server.insecure_cookies`` (plain HTTP on a private network).
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.api_auth import SESSION_COOKIE

__all__ = ["clear_session_cookie", "set_session_cookie"]

_PATH = "/"


def set_session_cookie(
    response: web.StreamResponse, secret: str, *, lifetime: timedelta, secure: bool
) -> None:
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=int(lifetime.total_seconds()), path=_PATH,
        httponly=True, samesite="Strict", secure=secure,
    )  # fmt: skip


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path=_PATH)
