"""``GET /api/v1/widget?lang=de-DE,en``: the widget's configuration, public and cheap.

The body comes from a :data:`WidgetSource` the composition root supplies (bot/widget_config.py:
branding, greeting, availability), called with the visitor's languages. No token, no database:
it is asked on every page load of every site the widget is on, and browsers may keep the answer
for a minute.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from connectors.base import BadRequest

__all__ = ["MAX_LANGUAGES", "WidgetSource", "parse_languages", "widget_handler"]

WidgetSource = Callable[[tuple[str, ...]], Mapping[str, Any]]
MAX_LANGUAGES = 8
CACHE_SECONDS = 60  # "away" turns into "open" within this after the team's hours begin
# A BCP 47 tag as browsers send them (navigator.languages): a primary language, then subtags.
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")


def parse_languages(raw: str | None) -> tuple[str, ...]:
    """``"de-DE,en"`` → ``("de-DE", "en")``: comma-separated language tags, most preferred first.

    Raises:
        BadRequest: 400 ``invalid_query`` naming the tag that is not one, or too many tags.
    """
    if raw is None or not raw.strip():
        return ()
    tags = [t.strip() for t in raw.split(",") if t.strip()]
    if len(tags) > MAX_LANGUAGES:
        message = f"lang lists at most {MAX_LANGUAGES} languages, got {len(tags)}"
        raise BadRequest(400, "invalid_query", message)
    out: list[str] = []
    for tag in tags:
        if not _TAG.match(tag):
            raise BadRequest(
                400,
                "invalid_query",
                f"lang must be language tags separated by commas, like de-DE,en; got {tag[:40]!r}",
            )
        primary, *rest = tag.split("-")
        # de-de → de-DE; a region is kept only right after the language (zh-Hant-TW → zh).
        region = rest[0].upper() if rest and len(rest[0]) == 2 else None
        normal = primary.lower() + (f"-{region}" if region else "")
        if normal not in out:
            out.append(normal)
    return tuple(out)


def widget_handler(source: WidgetSource) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        try:
            languages = parse_languages(request.query.get("lang"))
        except BadRequest as exc:
            # Answered, not raised: the CORS layer then marks it readable for the embedding site.
            error = {"error": {"code": exc.code, "message": exc.message}}
            return web.Response(body=orjson.dumps(error), status=exc.status, content_type="application/json")
        body = source(languages)
        return web.Response(
            body=orjson.dumps(body),
            content_type="application/json",
            headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"},
        )

    return handler
