"""Bodies that never finish and bodies that are too large, against a real ``frontdesk serve``.

* A body that trickles in (a byte now and then, never the declared length) is cut off after
  ``server.body_timeout_seconds`` with a 408 and the connection is closed, while other
  visitors are served as usual meanwhile.
* A body over ``server.max_body_bytes`` gets a 413 and the connection is closed before the
  client has sent it whole: by the declared ``Content-Length`` at once, and for a chunked body
  as soon as the limit is passed.

Either leaves at most one WARNING line in the server's log and no traceback, and ``/healthz``
stays 200. tests/webchat/test_edge.py has the in-process checks of the same middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT, _run
from tests.serve import start_serve, wait_ready
from ticketing.database import upgrade

pytestmark = pytest.mark.reliability

LIMIT = 64 * 1024
GUARD = 30.0  # a guard against a hang, never a measurement


@dataclass(frozen=True)
class Served:
    port: int
    log: Path

    def log_since(self, offset: int) -> str:
        return self.log.read_text()[offset:]

    def log_size(self) -> int:
        return len(self.log.read_text())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("bodies")
    url = f"sqlite+aiosqlite:///{folder / 'frontdesk.db'}"
    _run(upgrade(url))
    config = folder / "config.yaml"
    config.write_text(
        f"database:\n  url: {url}\nwebchat:\n  secret_key: test-secret-key-0123456789abcdef\n"
        f"rulebook:\n  path: {ROOT / 'rulebook'}\nnlu:\n  analysis_workers: 0\n"
        f"server:\n  body_timeout_seconds: 1\n  max_body_bytes: {LIMIT}\n  log_level: INFO\n"
    )
    log = folder / "server.log"
    process, port = start_serve(config, log)
    try:
        _run(wait_ready(process, port, log, within=60))
        yield Served(port, log)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _visitor_is_answered(http: aiohttp.ClientSession, served: Served) -> None:
    base = f"http://127.0.0.1:{served.port}"
    async with http.post(f"{base}/api/v1/sessions", json={}) as resp:
        assert resp.status == 201, await resp.text()
        token = (await resp.json())["token"]
    body = {"client_message_id": "b-1", "text": "what are your opening hours?"}
    async with http.post(
        f"{base}/api/v1/messages", json=body, headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200, await resp.text()
    async with http.get(f"{base}/healthz") as resp:
        assert resp.status == 200


def _quiet(log: str) -> None:
    """At most one WARNING line, nothing worse, no traceback."""
    lines = log.splitlines()
    assert not [line for line in lines if " ERROR " in line or "CRITICAL" in line], log
    assert "Traceback" not in log, log
    assert len([line for line in lines if " WARNING " in line]) <= 1, log


async def _answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The status line and the rest, read until the server closes the connection."""
    async with asyncio.timeout(GUARD):
        answer = await reader.read()
    status, _, rest = answer.partition(b"\r\n")
    return status, rest


async def test_a_trickling_body_gets_408_and_others_are_served_meanwhile(
    served: Served, http: aiohttp.ClientSession
) -> None:
    offset = served.log_size()
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )

    async def trickle() -> None:
        with contextlib.suppress(ConnectionError):
            while not reader.at_eof():
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)

    dripping = asyncio.create_task(trickle())
    try:
        await _visitor_is_answered(http, served)  # while the slow body holds its connection
        status, rest = await _answer(reader)  # returns only once the server closed
    finally:
        dripping.cancel()
        writer.close()
    assert status == b"HTTP/1.1 408 Request Timeout", (status, rest[:300])
    assert b'"body_timeout"' in rest
    await _visitor_is_answered(http, served)
    _quiet(served.log_since(offset))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_oversized_body_gets_413_before_it_is_sent_whole(
    served: Served, http: aiohttp.ClientSession, chunked: bool
) -> None:
    offset = served.log_size()
    declared = 50 * 1024 * 1024
    length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % declared
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(
        b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n\r\n" % length
    )
    sent = 0

    async def send() -> None:
        """Body bytes until the server answers and closes; far fewer than declared."""
        nonlocal sent
        chunk = b"a" * 16384
        with contextlib.suppress(ConnectionError):
            while not reader.at_eof() and sent < declared:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await writer.drain()
                sent += len(chunk)
                await asyncio.sleep(0.005)

    sending = asyncio.create_task(send())
    try:
        status, rest = await _answer(reader)
    finally:
        sending.cancel()
        writer.close()
    assert status == b"HTTP/1.1 413 Request Entity Too Large", (status, rest[:300])
    assert b'"body_too_large"' in rest
    assert sent < declared // 10, sent  # cut off early, not after reading it all
    await _visitor_is_answered(http, served)
    _quiet(served.log_since(offset))
