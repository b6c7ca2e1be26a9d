"""Every kind of bad request gets the documented 4xx with a JSON error body, never a 500, and the
server keeps serving ordinary visitors afterwards."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp import ClientResponse, WSMsgType
from aiohttp.test_utils import TestClient

from connectors.webchat.tokens import SessionTokens
from tests.webchat.helpers import SECRET, TTL_SECONDS, Visitor, assert_still_serves, start_session

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    status: int
    code: str
    request: Callable[[TestClient, Visitor], Awaitable[ClientResponse]]
    message_has: str = ""


def post_raw(body: bytes, path: str = "/api/v1/messages") -> Callable[..., Awaitable[ClientResponse]]:
    async def request(client: TestClient, visitor: Visitor) -> ClientResponse:
        return await client.post(path, data=body, headers={**visitor.auth, **JSON})

    return request


def post_json(obj: object, path: str = "/api/v1/messages") -> Callable[..., Awaitable[ClientResponse]]:
    return post_raw(json.dumps(obj).encode(), path)


def with_auth(header: str | None) -> Callable[..., Awaitable[ClientResponse]]:
    async def request(client: TestClient, visitor: Visitor) -> ClientResponse:
        headers = dict(JSON)
        if header is not None:
            headers["Authorization"] = header(visitor) if callable(header) else header
        return await client.post(
            "/api/v1/messages", json={"client_message_id": "x1", "text": "hello"}, headers=headers
        )

    return request


def forged(visitor: Visitor) -> str:
    """Right format, claims for this very conversation, signed with somebody else's key."""
    other = SessionTokens(secret=b"not-the-server-secret-0123456789", ttl_seconds=TTL_SECONDS)
    visitor_id = _claims(visitor.token)["u"]
    return f"Bearer {other.issue(visitor_id, visitor.conversation_id)}"


def tampered(visitor: Visitor) -> str:
    """A genuine token whose claims were edited (another conversation), signature kept."""
    version, _body, signature = visitor.token.split(".")
    claims = {**_claims(visitor.token), "c": "c_someone-elses-conversation"}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"Bearer {version}.{body}.{signature}"


def expired(visitor: Visitor) -> str:
    tokens = SessionTokens(secret=SECRET, ttl_seconds=TTL_SECONDS)
    visitor_id = _claims(visitor.token)["u"]
    old = time.time() - TTL_SECONDS - 3600
    return f"Bearer {tokens.issue(visitor_id, visitor.conversation_id, now=old)}"


def _claims(token: str) -> dict[str, str]:
    body = token.split(".")[1]
    data: dict[str, str] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return data


def get(path: str, *, auth: bool = True) -> Callable[..., Awaitable[ClientResponse]]:
    async def request(client: TestClient, visitor: Visitor) -> ClientResponse:
        return await client.get(path, headers=visitor.auth if auth else {})

    return request


def method(verb: str, path: str) -> Callable[..., Awaitable[ClientResponse]]:
    async def request(client: TestClient, visitor: Visitor) -> ClientResponse:
        return await client.request(verb, path, headers=visitor.auth)

    return request


OK_ID = {"client_message_id": "m-1"}

CASES: dict[str, Case] = {
    # body size and text size
    "body over 64 KiB": Case(413, "body_too_large", post_json({**OK_ID, "text": "a" * (70 * 1024)})),
    "text over max_message_chars": Case(
        413, "text_too_long", post_json({**OK_ID, "text": "a" * 4001}), "4000"
    ),
    # encoding and syntax
    "invalid JSON": Case(400, "invalid_json", post_raw(b'{"client_message_id": "m-1", "text": '), "JSON"),
    "invalid UTF-8": Case(
        400, "invalid_utf8", post_raw(b'{"client_message_id": "m-1", "text": "caf\xe9"}'), "UTF-8"
    ),
    "JSON list": Case(422, "invalid_body", post_json([OK_ID]), "object"),
    "JSON string": Case(422, "invalid_body", post_json("hello"), "object"),
    # fields
    "unknown field": Case(
        422, "invalid_fields", post_json({**OK_ID, "text": "hi", "html": "<b>x</b>"}), "unknown field 'html'"
    ),
    "missing field": Case(422, "invalid_fields", post_json(OK_ID), "'text' is required"),
    "wrong type": Case(422, "invalid_fields", post_json({**OK_ID, "text": 123}), "text"),
    "empty text": Case(422, "empty_text", post_json({**OK_ID, "text": ""})),
    "whitespace text": Case(422, "empty_text", post_json({**OK_ID, "text": " \n\t "})),
    "NUL character": Case(422, "invalid_text", post_json({**OK_ID, "text": "a\x00b"}), "NUL"),
    "lone surrogate": Case(
        422, "invalid_text", post_raw(b'{"client_message_id": "m-1", "text": "a\\ud800b"}'), "surrogate"
    ),
    "client_message_id with a space": Case(
        422, "invalid_fields", post_json({"client_message_id": "m 1", "text": "hi"}), "client_message_id"
    ),
    "client_message_id too long": Case(
        422, "invalid_fields", post_json({"client_message_id": "m" * 101, "text": "hi"}), "client_message_id"
    ),
    "client_message_id empty": Case(
        422, "invalid_fields", post_json({"client_message_id": "", "text": "hi"}), "client_message_id"
    ),
    "client_message_id trailing newline": Case(
        422, "invalid_fields", post_json({"client_message_id": "m1\n", "text": "hi"}), "client_message_id"
    ),
    "client_message_id not a string": Case(
        422, "invalid_fields", post_json({"client_message_id": 7, "text": "hi"}), "client_message_id"
    ),
    # authentication
    "missing Authorization": Case(401, "missing_token", with_auth(None), "Bearer"),
    "non-Bearer scheme": Case(401, "invalid_token", with_auth("Basic dXNlcjpwYXNz"), "Bearer"),
    "Bearer without token": Case(401, "invalid_token", with_auth("Bearer "), "Bearer"),
    "malformed token": Case(401, "invalid_token", with_auth("Bearer not-a-token"), "malformed"),
    "forged token": Case(401, "invalid_token", with_auth(forged), "signature"),
    "tampered payload": Case(401, "invalid_token", with_auth(tampered), "signature"),
    "expired token": Case(401, "invalid_token", with_auth(expired), "expired"),
    "history without token": Case(401, "missing_token", get("/api/v1/messages", auth=False)),
    # query parameters
    "after not a number": Case(400, "invalid_query", get("/api/v1/messages?after=abc"), "after"),
    "after negative": Case(400, "invalid_query", get("/api/v1/messages?after=-1"), "after"),
    "limit zero": Case(400, "invalid_query", get("/api/v1/messages?limit=0"), "limit"),
    "limit over 500": Case(400, "invalid_query", get("/api/v1/messages?limit=501"), "limit"),
    "limit a float": Case(400, "invalid_query", get("/api/v1/messages?limit=2.5"), "limit"),
    # routing
    # (an unknown path under /api/v1/ is the account API's: problem+json, tests/api)
    "unknown path": Case(404, "not_found", get("/nope")),
    "unknown path with markup": Case(404, "not_found", get("/<script>alert(1)</script>")),
    "wrong method": Case(405, "method_not_allowed", method("DELETE", "/api/v1/messages"), "DELETE"),
    "GET on a POST-only endpoint": Case(405, "method_not_allowed", method("GET", "/api/v1/identify")),
    # the other endpoints parse their bodies the same way
    "sessions: invalid JSON": Case(400, "invalid_json", post_raw(b"{", "/api/v1/sessions")),
    # hostile JSON that orjson refuses and the standard library's fallback chokes on
    "deeply nested arrays": Case(400, "invalid_json", post_raw(b"[" * 20000), "nested too deeply"),
    "sessions: deeply nested arrays": Case(
        400, "invalid_json", post_raw(b"[" * 20000, "/api/v1/sessions"), "nested too deeply"
    ),
    "integer over 4,300 digits": Case(
        400, "invalid_json", post_raw(b'{"client_message_id": "m-1", "text": ' + b"9" * 5000 + b"}"), "digits"
    ),
    "sessions: integer over 4,300 digits": Case(
        400, "invalid_json", post_raw(b'{"token": ' + b"9" * 5000 + b"}", "/api/v1/sessions"), "digits"
    ),
    "sessions: unknown field": Case(422, "invalid_fields", post_json({"tok": "x"}, "/api/v1/sessions")),
    "sessions: bad token": Case(401, "invalid_token", post_json({"token": "v1.a.b"}, "/api/v1/sessions")),
    "sessions: token with a lone surrogate": Case(
        401, "invalid_token", post_raw(b'{"token": "v1.a.\\udc80"}', "/api/v1/sessions")
    ),
    "identify: nothing to set": Case(422, "invalid_fields", post_json({}, "/api/v1/identify")),
    "identify: bad email": Case(
        422, "invalid_fields", post_json({"email": "not-an-email"}, "/api/v1/identify"), "email"
    ),
    "identify: name with NUL": Case(
        422, "invalid_fields", post_json({"name": "Ada\x00"}, "/api/v1/identify"), "control characters"
    ),
    "identify: email with NUL": Case(
        422, "invalid_fields", post_json({"email": "a\x00@example.com"}, "/api/v1/identify"), "email"
    ),
    "identify: name with lone surrogate": Case(
        422, "invalid_fields", post_raw(b'{"name": "Ada\\ud800"}', "/api/v1/identify")
    ),
    "identify: email with lone surrogate": Case(
        422, "invalid_fields", post_raw(b'{"email": "a\\udfff@example.com"}', "/api/v1/identify")
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_bad_request_gets_clear_json_error(client: TestClient, case: Case) -> None:
    visitor = await start_session(client)
    resp = await case.request(client, visitor)
    assert resp.content_type == "application/json", await resp.text()
    body = await resp.json()
    assert resp.status == case.status, body
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == case.code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message.strip(), body
    assert case.message_has in message, body
    await assert_still_serves(client)


async def test_cors_preflight(client: TestClient) -> None:
    resp = await client.options(
        "/api/v1/messages",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] in {"*", "https://shop.example"}
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    allowed_headers = resp.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    await assert_still_serves(client)


async def test_cross_origin_response_carries_allow_origin(client: TestClient) -> None:
    resp = await client.post("/api/v1/sessions", json={}, headers={"Origin": "https://shop.example"})
    assert resp.status == 201
    assert resp.headers["Access-Control-Allow-Origin"] in {"*", "https://shop.example"}


async def test_errors_on_identify_and_history_keep_the_session_usable(client: TestClient) -> None:
    """A refused request must not poison the visitor's own session either."""
    visitor = await start_session(client)
    resp = await client.post("/api/v1/messages", data=b"{", headers={**visitor.auth, **JSON})
    assert resp.status == 400
    resp = await client.post(
        "/api/v1/messages", json={"client_message_id": "ok-1", "text": "opening hours?"}, headers=visitor.auth
    )
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    "first_frame", ["[" * 10000, '{"type": "auth", "token": ' + "9" * 5000 + "}"], ids=["nested", "huge int"]
)
async def test_hostile_websocket_frames_close_the_socket_with_a_reason(
    client: TestClient, first_frame: str
) -> None:
    """The first frame is parsed after the upgrade: a failure there once wrote a raw
    ``HTTP/1.1 500`` into the WebSocket. It is refused like any other bad first frame."""
    visitor = await start_session(client)
    ws = await client.ws_connect("/api/v1/ws")
    await ws.send_str(first_frame)
    msg = await ws.receive(timeout=10)
    assert msg.type == WSMsgType.CLOSE, msg
    assert ws.close_code == 4400
    await ws.close()
    later = await client.ws_connect("/api/v1/ws")  # an established session still gets answers
    await later.send_json({"type": "auth", "token": visitor.token})
    assert (await later.receive_json(timeout=10))["type"] == "ready"
    await later.send_str("[" * 10000)
    assert (await later.receive_json(timeout=10))["type"] == "error"
    await later.close()
    await assert_still_serves(client)
