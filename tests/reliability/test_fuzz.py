"""A seeded, bounded fuzzer of every public entry of the real app: the web chat's HTTP routes
(read from the router, so a new route is fuzzed too), its WebSocket, and the Slack and
Telegram webhooks (against their fake APIs).

For every target a few hundred hostile requests: random bytes, invalid UTF-8, truncated JSON,
deep nesting, huge integers and strings, valid bodies with one field of the wrong type or
missing or extra, wrong content types, garbage and forged headers, tokens and signatures.
Whatever comes in: never a 5xx, never an ERROR line or a traceback in the log, and afterwards
``/healthz`` is 200 and an ordinary visitor is answered. tests/webchat/test_bad_input.py and
the channels' own tests pin the exact answers; this is the randomized, broader check.

The seed is fixed (``FRONTDESK_FUZZ_SEED`` overrides it) and named in every failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp import (
    ClientResponseError,
    ClientWebSocketResponse,
    ServerDisconnectedError,
    WSMsgType,
    WSServerHandshakeError,
)
from aiohttp.test_utils import TestClient

from connectors.telegram.connector import SECRET_HEADER
from tests.conftest import AppFactory
from tests.reliability.hostile import SEED, Hostile
from tests.slack.fake_api import SIGNING_SECRET, FakeSlack
from tests.slack.payloads import button as slack_button
from tests.slack.payloads import command, load, thread_message
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.updates import button as telegram_button
from tests.telegram.updates import edited, message
from tests.webchat.helpers import Visitor, assert_still_serves, start_session

pytestmark = pytest.mark.reliability

CASES = 300
WS_CASES = 200
TELEGRAM_TOKEN = "123456:TEST-token_abcdef"
TELEGRAM_SECRET = "hook-secret_1"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
ENCODINGS = ("gzip", "deflate", "br", "identity", "x-unknown")


@pytest.fixture
async def fuzzed(
    sqlite_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[TestClient, Hostile, list[str]]]:
    """The real app with web chat, Slack (HTTP mode) and Telegram (webhook mode); a list to
    note failures in; after the test, the checks every target shares."""
    async with FakeSlack() as slack, FakeBotApi(token=TELEGRAM_TOKEN) as telegram:
        extra = slack.config() + telegram.config(mode="webhook", secret=TELEGRAM_SECRET)
        _app, client = await make_client(sqlite_url, extra=extra)
        failures: list[str] = []
        with caplog.at_level(logging.WARNING):
            yield client, Hostile(random.Random(SEED)), failures
            health = await client.get("/healthz")
            assert health.status == 200, await health.text()
            await assert_still_serves(client)
        loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        failures += [f"log: {r.levelname} {r.name}: {r.getMessage()[:300]}" for r in loud]
        assert not failures, f"FRONTDESK_FUZZ_SEED={SEED}: {len(failures)} failures:\n" + "\n".join(
            failures[:20]
        )


def _check(failures: list[str], case: str, status: int, text: str = "") -> None:
    if status >= 500:
        failures.append(f"{case}: {status} {text[:200]}")


# -- web chat over HTTP ---------------------------------------------------------------------------


def _token_header(h: Hostile, visitor: Visitor) -> dict[str, str]:
    rng = h.rng
    pick = rng.random()
    if pick < 0.45:
        return visitor.auth
    if pick < 0.55:
        return {}
    version, body, signature = [*visitor.token.split("."), "", "", ""][:3]
    forged = {
        "random": h.header_value(),
        "bearer random": "Bearer " + h.header_value(),
        "flipped": f"Bearer {version}.{body}.{signature[::-1]}",
        "claims": "Bearer "
        + ".".join(
            [
                version,
                base64.urlsafe_b64encode(json.dumps(h.value()).encode()).decode().rstrip("="),
                signature,
            ]
        ),
        "basic": "Basic " + base64.b64encode(b"user:pass").decode(),
        "bearer empty": "Bearer ",
        "lowercase": "bearer " + visitor.token,
        "doubled": f"Bearer {visitor.token} {visitor.token}",
    }
    return {"Authorization": forged[rng.choice(list(forged))]}


def _valid_body(path: str, visitor: Visitor, h: Hostile) -> dict[str, Any]:
    if path.endswith("/sessions"):
        return {"token": visitor.token} if h.rng.random() < 0.5 else {}
    if path.endswith("/identify"):
        return {"name": "Ada", "email": "ada@example.com"}
    return {"client_message_id": f"f-{h.rng.randrange(10**9)}", "text": "what are your opening hours?"}


def _query(h: Hostile) -> str:
    values = [str(h.rng.randint(-(2**64), 2**64)), h.text(12), "1e3", "", "0x10", "50"]
    pairs = [(name, h.rng.choice(values)) for name in h.rng.sample(["after", "limit", "x"], k=2)]
    return "?" + "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in pairs
    )


def _extra_headers(h: Hostile) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in ("X-Request-ID", "Origin", "Accept", "Content-Encoding", "Accept-Encoding", "Cookie"):
        if h.rng.random() < 0.15:
            headers[name] = h.rng.choice(ENCODINGS) if "Encoding" in name else h.header_value()
    return headers


async def test_web_chat_http_routes(fuzzed: tuple[TestClient, Hostile, list[str]]) -> None:
    client, h, failures = fuzzed
    visitor = await start_session(client)
    routes = sorted(
        {(r.method, r.resource.canonical) for r in client.app.router.routes() if r.resource is not None}
    )
    routes += [("POST", "/api/v1/nope"), ("GET", "/api/v1/messages/1"), ("POST", "/" + "a" * 3000)]
    for number in range(CASES):
        method, path = h.rng.choice(routes)
        if h.rng.random() < 0.1:
            method = h.rng.choice(METHODS)
        target = path + (_query(h) if h.rng.random() < 0.4 else "")
        headers = {**_token_header(h, visitor), **_extra_headers(h)}
        body: bytes | None = None
        if method not in ("GET", "HEAD", "OPTIONS") or h.rng.random() < 0.1:
            body = h.body(_valid_body(path, visitor, h))
            headers["Content-Type"] = "application/json" if h.rng.random() < 0.6 else h.content_type()
        case = f"#{number} {method} {target[:80]} {headers} {(body or b'')[:60]!r}"
        try:
            async with client.request(method, target, data=body, headers=headers) as resp:
                _check(failures, case, resp.status, await resp.text())
        except ClientResponseError as exc:  # aiohttp's own answer to a malformed request
            _check(failures, case, exc.status, exc.message)
        except ServerDisconnectedError:
            pass  # a refused request may close the connection; an error would be in the log


# -- web chat WebSocket -----------------------------------------------------------------------


def _first_frame(h: Hostile, visitor: Visitor) -> tuple[str | bytes, bool]:
    """A first frame and whether it is the genuine authentication."""
    token = visitor.token
    frames: list[str | bytes] = [
        h.text(200),
        h.rng.randbytes(h.rng.randint(0, 300)),
        json.dumps(h.value()),
        json.dumps({"type": "auth", "token": h.value()}),
        json.dumps({"type": "auth", "token": token[:-3] + "AAA"}),
        json.dumps({"type": "auth", "token": token, "extra": h.value()}),
        json.dumps({"type": "auth", "token": "x" * 20000}),  # over the 16 KiB frame limit
        h.body({"type": "auth", "token": token}).decode("utf-8", "replace"),
    ]
    if h.rng.random() < 0.3:
        return json.dumps({"type": "auth", "token": token}), True
    return h.rng.choice(frames), False


async def test_web_chat_websocket(fuzzed: tuple[TestClient, Hostile, list[str]]) -> None:
    client, h, failures = fuzzed
    visitor = await start_session(client)
    for number in range(WS_CASES):
        frame, genuine = _first_frame(h, visitor)
        case = f"ws #{number} {frame[:60]!r}"
        headers = _extra_headers(h) if h.rng.random() < 0.3 else None
        try:
            ws = await client.ws_connect("/api/v1/ws", headers=headers)
        except WSServerHandshakeError as exc:  # e.g. a refused Origin: fine unless a 5xx
            _check(failures, f"{case} handshake {headers}", exc.status, exc.message)
            continue
        await _send(ws, frame, text=isinstance(frame, str))
        if genuine:
            await _after_auth(ws, h, case, failures)
        else:
            msg = await ws.receive(timeout=10)
            if msg.type == WSMsgType.TEXT and json.loads(msg.data).get("type") == "ready":
                pass  # an auth frame with an extra field is still an auth frame
            elif msg.type != WSMsgType.CLOSE or ws.close_code in (None, 1011):
                failures.append(f"{case}: {msg.type} code {ws.close_code} {msg.data!r}")
        await ws.close()


async def _send(ws: ClientWebSocketResponse, frame: str | bytes, *, text: bool) -> None:
    """A frame as it is, also a text frame that is not valid UTF-8 (``send_str`` refuses)."""
    data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
    await ws.send_frame(data, WSMsgType.TEXT if text else WSMsgType.BINARY)


async def _after_auth(ws: ClientWebSocketResponse, h: Hostile, case: str, failures: list[str]) -> None:
    """Hostile frames on an authenticated socket, then a ping: answered with a pong, unless a
    frame closed the socket as the protocol says: 1007 for a text frame that is not UTF-8,
    1009 for one over the size limit."""
    for _ in range(h.rng.randint(1, 4)):
        await _send(ws, h.body({"type": "ping"}), text=h.rng.random() < 0.7)
    await ws.send_str('{"type": "ping"}')
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type == WSMsgType.TEXT and json.loads(msg.data).get("type") == "pong":
            return
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            if ws.close_code not in (1007, 1009):
                failures.append(f"{case}: authenticated socket closed with {ws.close_code}")
            return
        if msg.type != WSMsgType.TEXT:
            failures.append(f"{case}: authenticated socket got {msg.type} {msg.data!r}")
            return


# -- Slack -------------------------------------------------------------------------------------------


def _signature(body: bytes, stamp: str, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{stamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _slack_request(h: Hostile) -> tuple[bytes, dict[str, str], str]:
    rng = h.rng
    kind = rng.choice(["event", "action", "command", "raw"])
    ctype = "application/json"
    if kind == "event":
        valid = rng.choice(
            [
                load("event_message_thread"),
                load("event_app_home_opened"),
                thread_message("hi", thread_ts="1.2"),
            ]
        )
        body = h.body(valid)
    elif kind == "action":
        payload = h.mutate(slack_button("ticket_take", rng.randint(1, 5)))
        raw = json.dumps(payload) if rng.random() < 0.7 else h.body({}).decode("utf-8", "replace")
        body, ctype = (
            urlencode({"payload": raw}, errors="surrogatepass").encode(),
            "application/x-www-form-urlencoded",
        )
    elif kind == "command":
        fields = {k: str(v) for k, v in h.mutate(command("show 1")).items()} if rng.random() < 0.7 else {}
        body, ctype = urlencode(fields, errors="surrogatepass").encode(), "application/x-www-form-urlencoded"
    else:
        body, ctype = h.body({"type": "event_callback"}), h.content_type()
    now = str(int(time.time()))
    stamp = rng.choice(
        [now] * 6 + ["", "abc", "-1", "9" * 40, "1e9", str(int(time.time()) - 3600), " " + now]
    )
    signed = rng.random()
    if signed < 0.55:
        signature = _signature(body, stamp)
    elif signed < 0.7:
        signature = _signature(body, stamp, secret="not-the-secret")
    elif signed < 0.85:
        signature = rng.choice(["", "v0=", "v1=" + "ab" * 32, h.header_value()])
    else:
        signature = _signature(body, stamp)[:-1]
    headers = {"Content-Type": ctype, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    for drop in ("X-Slack-Request-Timestamp", "X-Slack-Signature"):
        if rng.random() < 0.05:
            del headers[drop]
    return body, headers, kind


async def test_slack_webhook(fuzzed: tuple[TestClient, Hostile, list[str]]) -> None:
    client, h, failures = fuzzed
    for number in range(CASES):
        body, headers, kind = _slack_request(h)
        async with client.post("/slack/events", data=body, headers=headers) as resp:
            _check(failures, f"slack #{number} {kind} {body[:80]!r}", resp.status, await resp.text())


# -- Telegram ----------------------------------------------------------------------------------------


async def test_telegram_webhook(fuzzed: tuple[TestClient, Hostile, list[str]]) -> None:
    client, h, failures = fuzzed
    for number in range(CASES):
        rng = h.rng
        valid = rng.choice(
            [
                message("what are your opening hours?"),
                message(None, photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]),
                edited("hi", message_id=rng.randint(1, 10**6)),
                telegram_button("x", bot_message=message("menu")["message"]),
            ]
        )
        body = h.body(valid)
        secret = rng.choice(
            [TELEGRAM_SECRET] * 7 + [None, "", "wrong", TELEGRAM_SECRET + "x", h.header_value()]
        )
        headers = {"Content-Type": "application/json" if rng.random() < 0.8 else h.content_type()}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with client.post("/telegram/webhook", data=body, headers=headers) as resp:
            _check(failures, f"telegram #{number} {body[:80]!r}", resp.status, await resp.text())
