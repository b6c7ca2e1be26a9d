"""``application/problem+json`` answers (RFC 9457) for the account-protected API.

The web chat endpoints keep their ``{"error": {"code", "message"}}`` shape (the widget reads
it); the REST API under ``/api/v1/`` that accounts use answers problems in the standard form,
``type``, ``title``, ``status``, ``detail``, where ``detail`` says what to fix. Handlers raise
:class:`Problem` anywhere below them; :func:`problem_handler` turns it into the answer.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from core.errors import FrontdeskError

__all__ = ["PROBLEM_TYPE", "Problem", "problem", "problem_handler"]

PROBLEM_TYPE = "urn:frontdesk:problem:"  # + a slug: unauthorized, forbidden, rate-limited, …

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A problem+json response; ``slug`` names the ``type`` (default: from the title)."""
    kind = PROBLEM_TYPE + (slug or title.lower().replace(" ", "-"))
    return web.json_response(
        {"type": kind, "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
        headers=dict(headers or {}),
    )


class Problem(FrontdeskError):
    """Raised by API code to answer with a problem (nothing has been written)."""

    def __init__(
        self, status: int, title: str, detail: str, *, slug: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        self.status, self.title, self.detail, self.slug = status, title, detail, slug
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return problem(self.status, self.title, self.detail, slug=self.slug, headers=self.headers)


def problem_handler(handler: Handler) -> Handler:
    """Wrap an API handler so a :class:`Problem` it raises becomes its problem+json answer."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as exc:
            return exc.response()

    return wrapped
