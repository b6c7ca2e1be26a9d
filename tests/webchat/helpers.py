"""Helpers shared by the web chat and storage tests: sessions, messages, row counts, waiting."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import DeliveryError
from core.contracts import InboundSink, OutboundMessage
from tests.conftest import ROOT

# Must match tests/conftest.py:make_settings.
SECRET = b"test-secret-key-0123456789abcdef"
TTL_SECONDS = 30 * 86400
TIMEOUT = 15.0  # generous: only a hang or a lost event ever reaches it

FAQ_HOURS = "what are your opening hours?"
# A request the example rulebook has no rule for (change_address): the fallback opens a ticket
# on the first message. An unclear message ("can I bring my dog to the shop") gets clarify's
# "I didn't understand" first, and a ticket only from the third.
UNHANDLED = "I need to change my delivery address"

_ids = itertools.count(1)


def new_id(prefix: str = "m") -> str:
    return f"{prefix}-{next(_ids)}"


@dataclass(frozen=True)
class Visitor:
    token: str
    conversation_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def start_session(client: TestClient) -> Visitor:
    resp = await client.post("/api/v1/sessions", json={})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return Visitor(body["token"], body["conversation_id"])


async def send(
    client: TestClient, visitor: Visitor, text: str, client_message_id: str | None = None
) -> dict[str, Any]:
    resp = await client.post(
        "/api/v1/messages",
        json={"client_message_id": client_message_id or new_id(), "text": text},
        headers=visitor.auth,
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def history(client: TestClient, visitor: Visitor, query: str = "") -> list[dict[str, Any]]:
    resp = await client.get(f"/api/v1/messages{query}", headers=visitor.auth)
    assert resp.status == 200, await resp.text()
    messages: list[dict[str, Any]] = (await resp.json())["messages"]
    return messages


async def assert_still_serves(client: TestClient) -> None:
    """After any refusal the server must still answer an ordinary visitor normally."""
    visitor = await start_session(client)
    body = await send(client, visitor, FAQ_HOURS)
    assert "Monday to Friday" in body["replies"][0]["text"]


async def count(engine: AsyncEngine, model: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await conn.execute(stmt)).scalar_one())


async def rows(engine: AsyncEngine, stmt: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for an asynchronous effect (an outbox delivery); fails only if it never happens."""
    deadline = time.monotonic() + TIMEOUT
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {TIMEOUT}s")
        await asyncio.sleep(0.02)


async def next_frame(
    ws: ClientWebSocketResponse, want: Callable[[dict[str, Any]], bool] = lambda f: True
) -> dict[str, Any]:
    """The next JSON frame that ``want`` accepts (typing indicators and others are skipped)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            msg = await ws.receive()
            assert msg.type == WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
            frame: dict[str, Any] = json.loads(msg.data)
            if want(frame):
                return frame


class FlakyChannel:
    """A fake outside channel (think: a chat service's API) that can be taken down and brought
    back. It is a test double of the *remote service*, not of any Frontdesk code."""

    def __init__(self, name: str = "loopback") -> None:
        self.name = name
        self.down = False
        self.attempts = 0
        self.delivered: list[OutboundMessage] = []
        self.sink: InboundSink | None = None

    async def start(self, sink: InboundSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    async def send(self, message: OutboundMessage) -> str | None:
        self.attempts += 1
        if self.down:
            raise DeliveryError("loopback service unavailable (HTTP 503)")
        self.delivered.append(message)
        return f"ext-{message.interaction_id}"


# -- a running app's rulebook: edit it as an admin would, read what the app says -------------------


def save(path: Path, text: str) -> None:
    """Write like an editor does, and make sure the stamp changes even within one clock tick."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000, max(path.stat().st_mtime_ns, before + 1_000_000)))


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


async def health(client: TestClient) -> dict[str, Any]:
    """The ``rulebook`` part of ``/healthz``."""
    resp = await client.get("/healthz")
    assert resp.status == 200, await resp.text()
    rulebook: dict[str, Any] = (await resp.json())["rulebook"]
    return rulebook


async def ask(client: TestClient, text: str) -> str:
    """One message from a new visitor (no repeat limits, no open tickets); the replies' text."""
    body = await send(client, await start_session(client), text)
    return "\n".join(r["text"] for r in body["replies"])


async def erase_customer(database_url: str, folder: Path, customer_id: int) -> str:
    """``frontdesk tickets customer-erase ID --yes`` in a process of its own, as an operator runs
    it beside the server; its standard output."""
    config = folder / "erase-config.yaml"
    config.write_text(f"database:\n  url: {database_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "--config", str(config),
        "tickets", "customer-erase", str(customer_id), "--yes",
        cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()
