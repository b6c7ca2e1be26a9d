"""Edge middleware: a request id for the log lines, JSON errors that say what to fix, CORS for
the embeddable widget, a body read timeout, and one quiet log line for a client's malformed
request.

Errors leave as ``{"error": {"code", "message"}}`` on the widget's paths and everywhere outside
``/api/v1/``, and as ``application/problem+json`` (bot/problem.py) on the rest of ``/api/v1/``,
the account API, whose handlers answer problems too. Expected refusals carry their own message;
anything unexpected is logged with a reference id and the client sees only that id, never
exception text.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from bot.problem import problem
from connectors.base import BadRequest
from core import log_context

__all__ = [
    "ClientErrorLog",
    "CorsPolicy",
    "cors_middleware",
    "edge_middleware",
    "json_error",
    "quiet_client_errors",
]

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_MESSAGES = {
    404: ("not_found", "no such endpoint; see docs/webchat-api.md"),
    405: ("method_not_allowed", "this endpoint does not accept {method}"),
}
_API_MESSAGES = {404: ("not_found", "no such endpoint; the API's endpoints are in /api/v1/openapi.json")}


def json_error(status: int, code: str, message: str, **extra: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def edge_middleware(
    body_timeout_seconds: float,
    *,
    widget_paths: frozenset[str] = frozenset(),
    streamed: Mapping[str, int] | None = None,
) -> Middleware:
    """Our first layer (inside the webhook counter of bot/metrics.py): the request id of every
    log line, the body limits, and errors that say what to fix, in one middleware rather than
    three (each layer costs a coroutine and a partial per request on the web chat path).

    The request id is the client's ``X-Request-ID`` when it is a sane token, else a new one
    (core/log_context.py); the response echoes it, so a client's report can be found in the log.
    A WebSocket upgrade, prepared by its handler, has sent its headers before it returns and does
    not echo it; its log lines still carry the id.

    ``streamed``: paths whose handler reads a ``multipart/form-data`` body itself, part by part
    with its own caps and timeout (the widget's files), and the largest body each may declare."""
    large = dict(streamed or {})

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = log_context.request_id_from(request.headers.get("X-Request-ID"))
        token = log_context.request_id.set(rid)
        try:
            response = await _answer(request, handler, body_timeout_seconds, widget_paths, large)
        finally:
            log_context.request_id.reset(token)
        if not response.prepared:
            response.headers["X-Request-ID"] = rid
        return response

    return middleware


async def _answer(
    request: web.Request,
    handler: Handler,
    body_timeout: float,
    widget_paths: frozenset[str],
    streamed: Mapping[str, int],
) -> web.StreamResponse:
    """The handler's response, or the error it (or reading the body) raised as JSON that says
    what to fix. Anything unexpected is logged with a reference id; the client sees only that id."""
    try:
        refused = await _refused_body(request, body_timeout, streamed)
        if refused is not None:
            return await answer_and_close(request, _error(request, widget_paths, *refused))
        return await handler(request)
    except BadRequest as exc:
        return _error(request, widget_paths, exc.status, exc.code, exc.message)
    except web.HTTPRequestEntityTooLarge as exc:
        return await answer_and_close(
            request,
            _error(request, widget_paths, 413, "body_too_large", f"request body is too large: {exc.text}"),
        )
    except web.RequestPayloadError as exc:
        # The body could not be read as declared, e.g. ``Content-Encoding: gzip`` on bytes that
        # are not gzip (found by the fuzzer; it was a 500 with a traceback). The client's fault.
        response = _error(
            request,
            widget_paths,
            400,
            "unreadable_body",
            f"request body could not be read: {_payload_problem(exc)}",
        )
        return await answer_and_close(request, response)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type in _OWN_ERROR_PAGES:
            raise  # the handler wrote its own error page (the console's are HTML)
        messages = _API_MESSAGES if _account_api(request, widget_paths) else _HTTP_MESSAGES
        known = messages.get(exc.status) or _HTTP_MESSAGES.get(exc.status)
        if known is None:  # the exception's own text, never a format string
            code, message = exc.reason.lower().replace(" ", "_"), exc.text or exc.reason
        else:
            code, message = known[0], known[1].format(method=request.method)
        return _error(request, widget_paths, exc.status, code, message)
    except Exception:
        reference = secrets.token_hex(6)
        _LOGGER.exception("unhandled error on %s %s (reference %s)", request.method, request.path, reference)
        return _error(
            request,
            widget_paths,
            500,
            "internal_error",
            f"internal error; reference {reference}",
            reference=reference,
        )


_OWN_ERROR_PAGES = frozenset({"application/json", "application/problem+json", "text/html"})


def _account_api(request: web.Request, widget_paths: frozenset[str]) -> bool:
    return request.path.startswith("/api/v1/") and request.path not in widget_paths


def _error(
    request: web.Request, widget_paths: frozenset[str], status: int, code: str, message: str, **extra: str
) -> web.Response:
    """An error in the shape of the path's API: problem+json on the account API, else ours."""
    if _account_api(request, widget_paths):
        return problem(status, HTTPStatus(status).phrase, message, slug=code.replace("_", "-"))
    return json_error(status, code, message, **extra)


async def _refused_body(
    request: web.Request, seconds: float, streamed: Mapping[str, int]
) -> tuple[int, str, str] | None:
    """A declared length over the app's ``client_max_size`` is refused (413) before any of it is
    read; a chunked body over it is refused by aiohttp's own read. A body that trickles in
    (``Content-Length: 100``, one byte sent) would hold its connection and handler forever:
    aiohttp has no read timeout of its own, so a body that has not arrived whole within
    ``seconds`` gets a 408. Bodies that came with their headers (almost all) cost two checks.
    Returns the refusal's (status, code, message), or None.

    A ``streamed`` path's multipart body is left to its handler (only its declared length is
    checked here); those checks run only for a body past the limit or not yet arrived whole, so
    an ordinary small body costs nothing more."""
    declared = request.content_length
    if declared is not None and declared > request.client_max_size:
        limit = _streamed_cap(request, streamed) or request.client_max_size
        if declared <= limit:
            return None
        message = f"request body is too large: {declared} bytes declared, the limit is {limit}"
        return 413, "body_too_large", message
    if request.body_exists and not request.content.is_eof() and _streamed_cap(request, streamed) is None:
        try:
            async with asyncio.timeout(seconds):
                await request.read()
        except TimeoutError:
            return (
                408,
                "body_timeout",
                f"the request body did not arrive within {seconds:g} s: "
                "send the whole body with the Content-Length it declares",
            )
    return None


def _streamed_cap(request: web.Request, streamed: Mapping[str, int]) -> int | None:
    if not streamed or request.content_type != "multipart/form-data":
        return None
    return streamed.get(request.path)


async def answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response`` now and close the connection behind it. A response marked
    ``force_close`` alone is not enough: aiohttp then goes on reading and discarding the rest
    of the body for its lingering time (10 s), so a client could still push megabytes into a
    refused request or keep a trickle going. Closing the transport flushes the answer first."""
    response.force_close()
    rid = log_context.request_id.get()
    if rid is not None:  # prepared here, so the edge middleware cannot add it afterwards
        response.headers["X-Request-ID"] = rid
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


def _payload_problem(exc: web.RequestPayloadError) -> str:
    cause = exc.__cause__
    if isinstance(cause, HttpProcessingError) and cause.message:
        return " ".join(str(cause.message).split())[:200]
    return " ".join(str(exc).split())[:200] or type(exc).__name__


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Which browser origins may call a group of endpoints, and with which methods. ``setting``
    names the config key, so a refused preflight says what to change. Never credentials: a
    cross-origin call must carry its own bearer token, so the console's session cookie is never
    sent by another site's script."""

    setting: str
    origins: frozenset[str]
    methods: str

    def allow(self, origin: str) -> str | None:
        if "*" in self.origins:
            return "*"
        return origin if origin in self.origins else None


def cors_middleware(*, widget_paths: frozenset[str], widget: CorsPolicy, api: CorsPolicy) -> Middleware:
    """CORS for ``/api/``: the widget's endpoints (``widget_paths``) follow
    ``webchat.allowed_origins``, since the widget runs on customers' own sites; every other API
    endpoint (accounts, tickets, customers) follows ``api.allowed_origins``, empty by default:
    no CORS unless an admin opens it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if not request.path.startswith("/api/") or origin is None:
            return await handler(request)
        policy = widget if request.path in widget_paths else api
        permitted = policy.allow(origin)
        if request.method == "OPTIONS":
            if permitted is None:
                return json_error(403, "origin_not_allowed", f"origin {origin} is not in {policy.setting}")
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": permitted,
                    "Access-Control-Allow-Methods": policy.methods,
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


class ClientErrorLog(logging.Filter):
    """aiohttp logs every malformed request (a bad request line or header, a body that does
    not match its length) at ERROR with a traceback, so a scanner or a fuzzer floods the log
    with the client's mistakes. Those become one WARNING line, at most one per ``every``
    seconds, which counts the ones left out; real server errors keep their traceback."""

    def __init__(self, *, every: float = 10.0) -> None:
        super().__init__()
        self._every = every
        self._next = 0.0
        self._left_out = 0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, web.RequestPayloadError) and isinstance(error.__cause__, HttpProcessingError):
            # aiohttp reads the rest of an unread body after the response and logs that
            # body's decoding error as an "Unhandled exception": the same client mistake.
            error = error.__cause__
        if not isinstance(error, HttpProcessingError):
            return True
        now = time.monotonic()
        if now < self._next:
            self._left_out += 1
            return False
        self._next = now + self._every
        left_out, self._left_out = self._left_out, 0
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "malformed request from %s: %s (%d more in the last %gs not logged)"
        record.args = (remote, repr(error.message or type(error).__name__)[:200], left_out, self._every)
        record.exc_info = record.exc_text = None
        return True


def quiet_client_errors(logger: logging.Logger | None = None) -> None:
    """Install :class:`ClientErrorLog` on aiohttp's server logger, once per process."""
    target = logger or logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorLog) for f in target.filters):
        target.addFilter(ClientErrorLog())
