"""Edge middleware: JSON errors that say what to fix, CORS for the embeddable widget.

Every error leaves as ``{"error": {"code", "message"}}``. Expected refusals carry their own
message; anything unexpected is logged with a reference id and the client sees only that id,
never exception text.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from connectors.base import BadRequest

__all__ = ["cors_middleware", "error_middleware", "json_error"]

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_MESSAGES = {
    404: ("not_found", "no such endpoint; see docs/webchat-api.md"),
    405: ("method_not_allowed", "this endpoint does not accept {method}"),
}


def json_error(status: int, code: str, message: str, **extra: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as exc:
        return json_error(exc.status, exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge as exc:
        return json_error(413, "body_too_large", f"request body is too large: {exc.text}")
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code, message = _HTTP_MESSAGES.get(
            exc.status, (exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)
        )
        return json_error(exc.status, code, message.format(method=request.method))
    except Exception:
        reference = secrets.token_hex(6)
        _LOGGER.exception("unhandled error on %s %s (reference %s)", request.method, request.path, reference)
        return json_error(
            500, "internal_error", f"internal error; reference {reference}", reference=reference
        )


def cors_middleware(allowed_origins: Sequence[str]) -> Middleware:
    """CORS for ``/api/``: the widget runs on customers' own sites. Tokens are bearer headers,
    not cookies, so allowing an origin lets it call the API but never act as a visitor."""
    any_origin = "*" in allowed_origins
    allowed = set(allowed_origins)

    def allow(origin: str) -> str | None:
        if any_origin:
            return "*"
        return origin if origin in allowed else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if not request.path.startswith("/api/") or origin is None:
            return await handler(request)
        permitted = allow(origin)
        if request.method == "OPTIONS":
            if permitted is None:
                return json_error(
                    403, "origin_not_allowed", f"origin {origin} is not in webchat.allowed_origins"
                )
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": permitted,
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type",
                    "Access-Control-Max-Age": "600",
                    "Vary": "Origin",
                },
            )
        response = await handler(request)
        if permitted is not None:
            response.headers["Access-Control-Allow-Origin"] = permitted
            response.headers["Vary"] = "Origin"
        return response

    return middleware
