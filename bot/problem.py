"""``application/problem+json`` answers (RFC 9457) for the account-protected API.

The web chat endpoints keep their ``{"error": {"code", "message"}}`` shape (the widget reads
it); the REST API under ``/api/v1/`` that accounts use answers problems in the standard form,
``type``, ``title``, ``status``, ``detail``, where ``detail`` says what to fix. Handlers raise
:class:`Problem` anywhere below them; :func:`problem_handler` turns it into the answer.
"""

from __future__ import annotations

import contextlib
import functools
import json
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
    """Wrap an API handler so a :class:`Problem` it raises becomes its problem+json answer.

    Text no database can store (a NUL character: PostgreSQL refuses it; an unpaired surrogate:
    not UTF-8 at all) is refused here, 400 in the query or the path and 422 in a JSON body, so
    no handler has to remember it and none answers a 500 for it."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            await _refuse_unstorable(request)
            return await handler(request)
        except Problem as exc:
            return exc.response()

    return wrapped


async def _refuse_unstorable(request: web.Request) -> None:
    _refuse_in("the query or path", [request.path, *request.query.keys(), *request.query.values()], 400)
    if request.can_read_body:
        raw = await request.read()  # kept by aiohttp: the handler reads it again for free
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: the handler says what it wants
            _refuse_in("the JSON body", [json.dumps(json.loads(raw), ensure_ascii=False)], 422)


def _refuse_in(where: str, texts: list[str], status: int) -> None:
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            bad = "invalid Unicode (an unpaired surrogate, \\ud800-\\udfff)"
        else:
            if "\x00" not in text and "\\u0000" not in text:
                continue
            bad = "a NUL character (\\u0000)"
        slug = "bad-request" if status == 400 else "unprocessable"
        raise Problem(
            status, "Bad text", f"remove {bad} from {where}: it cannot be stored; send plain text", slug=slug
        )
