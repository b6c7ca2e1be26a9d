"""What every console page shares: templates, who is looking, security headers and errors.

A page asks :meth:`Pages.viewer` for the signed-in account: no session redirects to the login
page (and back afterwards); a missing permission is a 403 page that says which one. Every page
is sent with a strict Content-Security-Policy (scripts and styles only from ``/console/static``),
so customer text that slipped past autoescaping still could not run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from bot.api_auth import ApiAuth, Principal
from bot.problem import Problem

__all__ = ["BASE", "Pages", "safe_next"]

BASE = "/console"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_NAV = (
    ("dashboard", "Dashboard", f"{BASE}/", "reports:read"),
    ("tickets", "Tickets", f"{BASE}/tickets", "tickets:read"),
    ("customers", "Customers", f"{BASE}/customers", "customers:read"),
    ("segments", "Segments", f"{BASE}/segments", "customers:read"),
    ("improve", "Improve the bot", f"{BASE}/improve", "rulebook:read"),
)


def setup_templates(app: web.Application, static: str) -> None:
    """``static``: the name of the console's static route (its URLs carry a version hash)."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: str(app.router[static].url_for(filename=name))
    env.globals["inf"] = math.inf


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside the console (never another site's URL)."""
    if target and target.startswith(f"{BASE}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{BASE}/"


class Pages:
    def __init__(self, *, auth: ApiAuth) -> None:
        self._auth = auth

    async def viewer(self, request: web.Request, permission: str, *, csrf: str | None = None) -> Principal:
        """The signed-in account holding ``permission``; else a redirect to login or a 403 page."""
        try:
            principal = await self._auth.principal(request, csrf=csrf)
        except Problem as problem:
            if problem.status == 401 and request.method in ("GET", "HEAD"):
                raise web.HTTPSeeOther(f"{BASE}/login?next={quote(request.path_qs, safe='/')}") from None
            raise self.error(request, problem.status, problem.title, problem.detail) from None
        if not principal.may(permission):
            raise self.error(
                request,
                403,
                "Not for your role",
                f"this page needs {permission}, which the {principal.role} role does not include;"
                " ask an admin",
                principal=principal,
            )
        return principal

    async def form(self, request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
        """The posted form; a body that is not one is a 400 that says so, never a 500."""
        try:
            return await request.post()
        except (ValueError, LookupError):  # a broken multipart boundary, an unknown charset, bad bytes
            raise self.error(
                request,
                400,
                "Not a form",
                "send the form as application/x-www-form-urlencoded or multipart/form-data"
                " with a valid boundary and charset",
            ) from None

    def render(
        self,
        template: str,
        request: web.Request,
        context: Mapping[str, Any],
        *,
        principal: Principal | None,
        status: int = 200,
    ) -> web.Response:
        nav = [
            {"key": key, "label": label, "href": href}
            for key, label, href, permission in _NAV
            if principal is not None and principal.may(permission)
        ]
        full = {"principal": principal, "nav": nav, "base": BASE, **context}
        response = aiohttp_jinja2.render_template(template, request, full, status=status)
        response.headers.update(_HEADERS)
        return response

    def error(
        self,
        request: web.Request,
        status: int,
        title: str,
        detail: str,
        *,
        principal: Principal | None = None,
    ) -> web.HTTPException:
        """An HTML error page as an exception to raise (a client's mistake says what to fix)."""
        page = self.render(
            "error.html", request, {"title": title, "detail": detail}, principal=principal, status=status
        )
        kind = _ERRORS.get(status, web.HTTPBadRequest)
        return kind(text=page.text, content_type="text/html", headers={k: page.headers[k] for k in _HEADERS})


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    422: web.HTTPUnprocessableEntity,
    429: web.HTTPTooManyRequests,
}
