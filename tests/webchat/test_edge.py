"""The HTTP edge against clients that misbehave at the protocol level (hardening issue, bugs 9
and 10): malformed requests are one WARNING line each (rate-limited), never an ERROR with a
traceback. A body that trickles in (408) or is too large (413) is checked against a real server
in tests/reliability/test_bodies.py."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient

from bot.http import ClientErrorLog
from tests.conftest import AppFactory
from tests.webchat.helpers import assert_still_serves

SLOW = "server:\n  body_timeout_seconds: 0.5\n"


async def _raw(client: TestClient, data: bytes, *, then_wait: bool = True) -> bytes:
    """Send bytes on a fresh connection; what the server answers before it closes."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(30):  # a guard against a hang, not a measurement
            return await reader.read() if then_wait else b""
    finally:
        writer.close()


async def test_a_whole_body_is_not_held_up(sqlite_url: str, make_client: AppFactory) -> None:
    _app, client = await make_client(sqlite_url, extra=SLOW)
    resp = await client.post("/api/v1/sessions", json={})
    assert resp.status == 201


BAD = {
    "header without a colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    "bad request line": b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    "bad content length": b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "control character in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", BAD.values(), ids=BAD.keys())
async def test_malformed_requests_are_one_quiet_line_not_a_traceback(
    sqlite_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    server_log = logging.getLogger("aiohttp.server")
    for installed in [f for f in server_log.filters if isinstance(f, ClientErrorLog)]:
        server_log.removeFilter(installed)  # a fresh rate limit: the app installs its own
    _app, client = await make_client(sqlite_url)
    with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
        for _ in range(20):
            # After a good request on the same connection, so aiohttp does not treat it as
            # non-HTTP noise on a fresh one (which it already logs at DEBUG).
            answer = await _raw(client, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + request_bytes)
            assert b" 400 " in answer, answer[-300:]
    server = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert not [r for r in server if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in server
    ]
    warnings = [r for r in server if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 2, [r.getMessage() for r in warnings]  # rate-limited, not 20
    assert "malformed request" in warnings[0].getMessage()
    await assert_still_serves(client)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_match_its_content_encoding_is_a_400(
    sqlite_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture, encoding: str
) -> None:
    """Found by tests/reliability/test_fuzz.py: it was a 500 with a traceback, and aiohttp's
    own read of the rest logged a second one."""
    _app, client = await make_client(sqlite_url)
    with caplog.at_level(logging.WARNING):
        resp = await client.post(
            "/api/v1/sessions",
            data=b"{}, not compressed at all" * 40,
            headers={"Content-Type": "application/json", "Content-Encoding": encoding},
        )
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"]["code"] == "unreadable_body"
        await assert_still_serves(client)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
