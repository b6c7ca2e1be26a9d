"""The web chat channel: REST + WebSocket endpoints for the embeddable widget.

Routes are registered on Frontdesk's own aiohttp application; see docs/webchat-api.md for the
wire protocol. Every request is authenticated by a signed session token before anything is
parsed further, and every reply leaves through the outbox, which calls :meth:`send` to push it
to the visitor's open sockets (the REST history has it either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib import resources
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import WSMsgType, web

from connectors.base import BadRequest
from connectors.webchat.backend import LiveFanout, WebchatBackend
from connectors.webchat.hub import LiveHub
from connectors.webchat.tokens import InvalidToken, SessionClaims, SessionTokens
from connectors.webchat.translate import (
    IdentifyBody,
    SendBody,
    SessionBody,
    check_text,
    inbound_message,
    loads_or_none,
    message_json,
    parse_body,
    view_of_inbound,
    view_of_outbound,
)
from connectors.webchat.uploads import UploadLimits, read_upload
from connectors.webchat.widget_route import WidgetSource, widget_handler
from core.contracts import (
    Attachment,
    ConversationGone,
    InboundMessage,
    InboundSink,
    OutboundMessage,
    SessionView,
    utcnow,
)

__all__ = ["WebchatConnector"]

_LOGGER = logging.getLogger(__name__)
_AUTH_TIMEOUT = 10.0
_GONE = "this session no longer exists; start a new one"
_UPLOAD_BYTES_PER_SECOND = 32 * 1024
_SEND_FIELDS = frozenset(SendBody.model_fields)  # a message with files sends them as form fields


def _static(name: str) -> bytes:
    return resources.files("connectors.webchat").joinpath("static", name).read_bytes()


class WebchatConnector:
    name = "webchat"

    def __init__(
        self,
        *,
        backend: WebchatBackend,
        tokens: SessionTokens,
        max_message_chars: int,
        fanout: LiveFanout,
        uploads: UploadLimits | None = None,
        body_timeout: float = 10.0,
        widget_config: WidgetSource | None = None,
    ) -> None:
        self._widget_config = widget_handler(widget_config or _no_widget_config)
        self._uploads = uploads or UploadLimits(max_bytes=0, max_files=0, allowed_types=(), enabled=False)
        self._body_timeout = body_timeout
        self._backend = backend
        self._fanout = fanout
        self._tokens = tokens
        self._max_chars = max_message_chars
        self._hub = LiveHub()
        self._sink: InboundSink | None = None

    # -- Connector protocol -------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._fanout.subscribe(self._hub.publish)
        self._sink = sink

    async def stop(self) -> None:
        await self._hub.close_all()

    async def send(self, message: OutboundMessage) -> str | None:
        conversation = message.metadata.get("conversation_public_id") or message.external_thread_id
        await self._fanout.publish(
            conversation, {"type": "message", "message": message_json(view_of_outbound(message))}
        )
        return None

    # -- HTTP ---------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self._demo),
            web.get("/widget.js", self._widget),
            web.post("/api/v1/sessions", self._sessions),
            web.get("/api/v1/messages", self._history),
            web.post("/api/v1/messages", self._post_message),
            web.post("/api/v1/identify", self._identify),
            web.get("/api/v1/ws", self._websocket),
            web.get("/api/v1/files", self._file),
            web.get("/api/v1/widget", self._widget_config),
        ]

    def streamed_bodies(self) -> dict[str, int]:
        """Paths whose handler reads a multipart body itself, part by part with its own caps and
        timeout (the edge middleware reads every other body whole), with the largest body each
        may declare."""
        return {"/api/v1/messages": self._uploads.body_cap(self._max_chars)} if self._uploads.enabled else {}

    def api_paths(self) -> list[str]:
        """The widget's API paths: browsers on customers' sites call these (CORS)."""
        return [r.path for r in self.routes() if isinstance(r, web.RouteDef) and r.path.startswith("/api/")]

    async def _demo(self, request: web.Request) -> web.Response:
        return web.Response(body=_static("demo.html"), content_type="text/html", charset="utf-8")

    async def _widget(self, request: web.Request) -> web.Response:
        return web.Response(
            body=_static("widget.js"),
            content_type="application/javascript",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def _sessions(self, request: web.Request) -> web.Response:
        body = parse_body(await request.read(), SessionBody)
        if body.token is None:
            session = await self._backend.start_session()
            return self._session_response(session, status=201)
        claims = self._verify(body.token)
        resumed = await self._backend.session(claims.visitor_id, claims.conversation_id)
        if resumed is None:
            raise BadRequest(401, "unknown_session", f"{_GONE} with {{}}")
        return self._session_response(resumed, status=200)

    async def _history(self, request: web.Request) -> web.Response:
        claims = self._authenticate(request)
        after = _int_param(request, "after", default=0, low=0, high=2**62)
        limit = _int_param(request, "limit", default=100, low=1, high=500)
        messages = await self._backend.history(
            claims.visitor_id, claims.conversation_id, after=after, limit=limit
        )
        if messages is None:
            raise _gone()
        return _json_response({"messages": [message_json(m) for m in messages]})

    async def _file(self, request: web.Request) -> web.Response:
        """A file of a message in the visitor's own conversation (an agent's attachment)."""
        claims = self._authenticate(request)
        found = await self._backend.attachment(
            claims.visitor_id, claims.conversation_id,
            interaction_id=_int_param(request, "message", default=0, low=1, high=2**62),
            index=_int_param(request, "index", default=0, low=0, high=999),
        )  # fmt: skip
        if found is None:
            raise BadRequest(404, "file_not_found", "no such file in this conversation")
        attachment, data = found
        name = attachment.filename
        plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
        return web.Response(
            body=data,
            content_type=attachment.content_type.split(";", 1)[0].strip() or "application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    async def _post_message(self, request: web.Request) -> web.Response:
        claims = self._authenticate(request)
        if request.content_type == "multipart/form-data":
            message = await self._with_files(request, claims)
        else:
            body = parse_body(await request.read(), SendBody)
            message = inbound_message(
                visitor_id=claims.visitor_id,
                conversation_id=claims.conversation_id,
                body=body,
                received_at=utcnow(),
                max_chars=self._max_chars,
            )
        if self._sink is None:
            raise web.HTTPServiceUnavailable(text="web chat is starting; retry in a moment")
        conversation = claims.conversation_id
        await self._fanout.publish(conversation, {"type": "typing", "active": True})
        try:
            result = await self._sink(message)
        except ConversationGone:
            raise _gone() from None
        finally:
            await self._fanout.publish(conversation, {"type": "typing", "active": False})
        own = message_json(
            view_of_inbound(message, interaction_id=result.interaction_id, created_at=result.received_at)
        )
        if not result.duplicate:  # other tabs of the same visitor see the message too
            await self._fanout.publish(conversation, {"type": "message", "message": own})
        return _json_response(
            {
                "message": own,
                "replies": [message_json(view_of_outbound(r)) for r in result.replies],
                "duplicate": result.duplicate,
            }
        )

    async def _with_files(self, request: web.Request, claims: SessionClaims) -> InboundMessage:
        """A message with files: every limit is checked on the whole form before any file is
        stored. Files are kept by content, so a retry of the same message stores nothing new."""
        # The body must keep arriving at a modest rate (a phone's upload, not a trickle that holds
        # the connection): server.body_timeout_seconds plus a second for every 32 KB declared.
        size = request.content_length or self._uploads.body_cap(self._max_chars)
        seconds = self._body_timeout + size / _UPLOAD_BYTES_PER_SECOND
        form = await read_upload(
            request, self._uploads, fields=_SEND_FIELDS, max_chars=self._max_chars, seconds=seconds
        )
        body = parse_body(orjson.dumps(form.fields), SendBody)  # the JSON body's checks and messages
        check_text(body.text, max_chars=self._max_chars, files=len(form.files))
        if await self._backend.session(claims.visitor_id, claims.conversation_id) is None:
            raise _gone()  # an erased session stores no files
        attachments = []
        for f in form.files:
            key = await self._backend.store_upload(filename=f.filename, data=f.data)
            attachments.append(Attachment(f.filename, f.content_type, len(f.data), storage_key=key))
        return inbound_message(
            visitor_id=claims.visitor_id,
            conversation_id=claims.conversation_id,
            body=body,
            received_at=utcnow(),
            max_chars=self._max_chars,
            attachments=tuple(attachments),
        )

    async def _identify(self, request: web.Request) -> web.Response:
        claims = self._authenticate(request)
        body = parse_body(await request.read(), IdentifyBody)
        if body.name is None and body.email is None:
            raise BadRequest(422, "invalid_fields", "send at least one of 'name' and 'email'")
        customer = await self._backend.identify(
            claims.visitor_id, claims.conversation_id, name=body.name, email=body.email
        )
        return _json_response(
            {
                "token": self._tokens.issue(claims.visitor_id, claims.conversation_id),
                "customer": {"name": customer.name, "email": customer.email},
            }
        )

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16 * 1024)
        await ws.prepare(request)
        claims = await self._ws_auth(ws)
        if claims is None:
            return ws
        conversation = claims.conversation_id
        self._hub.add(conversation, ws)
        try:
            await ws.send_json({"type": "ready"})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = loads_or_none(msg.data)
                if isinstance(frame, dict) and frame.get("type") == "ping":
                    await ws.send_json({"type": "pong"})
                elif isinstance(frame, dict) and frame.get("type") == "seen" and _message_id(frame.get("id")):
                    await self._backend.seen(claims.visitor_id, conversation, up_to=frame["id"])
                else:
                    await ws.send_json(
                        {
                            "type": "error",
                            "message": 'unknown frame; send {"type": "ping"} or {"type": "seen", "id": N}',
                        }
                    )
        finally:
            self._hub.remove(conversation, ws)
        return ws

    async def _ws_auth(self, ws: web.WebSocketResponse) -> SessionClaims | None:
        try:
            msg = await asyncio.wait_for(ws.receive(), _AUTH_TIMEOUT)
        except TimeoutError:
            await ws.close(code=4408, message=b"authenticate within 10 seconds")
            return None
        frame = loads_or_none(msg.data) if msg.type == WSMsgType.TEXT else None
        if not (
            isinstance(frame, dict) and frame.get("type") == "auth" and isinstance(frame.get("token"), str)
        ):
            await ws.close(code=4400, message=b'first frame must be {"type": "auth", "token": "..."}')
            return None
        try:
            claims = self._tokens.verify(frame["token"])
        except InvalidToken as exc:
            with contextlib.suppress(Exception):
                await ws.close(code=4401, message=str(exc).encode()[:120])
            return None
        # Once per socket, not per frame: a token of an erased session must not receive pushes.
        if await self._backend.session(claims.visitor_id, claims.conversation_id) is None:
            with contextlib.suppress(Exception):
                await ws.close(code=4401, message=_GONE.encode())
            return None
        return claims

    # -- helpers ------------------------------------------------------------------------------

    def _session_response(self, session: SessionView, *, status: int) -> web.Response:
        token = self._tokens.issue(session.visitor_id, session.conversation_id)
        customer = {"name": session.customer.name, "email": session.customer.email}
        body = {"token": token, "conversation_id": session.conversation_id, "customer": customer}
        return _json_response(body, status=status)

    def _authenticate(self, request: web.Request) -> SessionClaims:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise BadRequest(
                401,
                "missing_token",
                "missing session token: send 'Authorization: Bearer <token>' from POST /api/v1/sessions",
            )
        if scheme.lower() != "bearer" or not token.strip():
            raise BadRequest(401, "invalid_token", "Authorization header must be 'Bearer <token>'")
        return self._verify(token.strip())

    def _verify(self, token: str) -> SessionClaims:
        try:
            return self._tokens.verify(token)
        except InvalidToken as exc:
            raise BadRequest(401, "invalid_token", str(exc)) from None


def _no_widget_config(languages: tuple[str, ...]) -> dict[str, Any]:
    """Without a configuration source (a connector built alone): the widget's own defaults."""
    return {"language": None, "language_matched": False, "branding": {}, "welcome": None}


def _gone() -> BadRequest:
    """A token whose session was erased (or never existed): the widget starts a new one."""
    return BadRequest(401, "unknown_session", _GONE)


def _json_response(body: Any, *, status: int = 200) -> web.Response:
    """``web.json_response`` with orjson: the standard library's encoder was a tenth of what
    the event loop spent on a chat message. Bodies hold only our own views (str, int, lists)."""
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(body: Any) -> str:
    return orjson.dumps(body).decode()


def _int_param(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(400, "invalid_query", f"{name} must be an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadRequest(400, "invalid_query", f"{name} must be between {low} and {high}")
    return value


def _message_id(value: object) -> bool:
    return type(value) is int and 0 < value < 2**63
