"""Live events across processes: direct on SQLite, PostgreSQL LISTEN/NOTIFY when scaled out.

Every process LISTENs on one channel and every publish is a NOTIFY, so a reply delivered by
whichever process claimed its outbox row reaches the socket wherever the visitor is connected
(the publisher hears its own notifications, so there is one path for local sockets too).
Events are best effort by design: the conversation history is the durable copy, and the widget
catches up over REST after any gap. A notification over PostgreSQL's 8000-byte limit is
replaced by a ``resync`` event that tells clients to fetch the history.

On PostgreSQL the events published while a NOTIFY is on its way go out together in the next
one, one statement and one commit for all of them (a web chat message alone publishes three:
typing, its own copy, typing done), as the turn writer group-commits messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.loops import BackgroundTask
from ticketing.batching import GroupCommit

__all__ = ["LocalFanout", "PostgresFanout"]

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]

CHANNEL = "frontdesk_live"
_MAX_PAYLOAD = 7900  # bytes; PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
# In the array's order, which is the order they were published in.
_NOTIFY_ALL = text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p")


class LocalFanout:
    """One process: publishing is handing the event to the local subscribers."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        for handler in self._handlers:
            await handler(topic, event)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class PostgresFanout:
    def __init__(self, *, engine: AsyncEngine, reconnect_delay: float = 1.0) -> None:
        self._engine = engine
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._handlers: list[Handler] = []
        self._reconnect_delay = reconnect_delay
        self._listener = BackgroundTask(name="live-fanout")
        self._deliveries: set[asyncio.Future[None]] = set()
        self._listening = asyncio.Event()
        self._notify: GroupCommit[str, None] = GroupCommit(
            self._notify_all, name="live-fanout", max_batch=200
        )

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        payload = json.dumps({"t": topic, "e": event}, separators=(",", ":"))
        if len(payload.encode()) > _MAX_PAYLOAD:
            payload = json.dumps({"t": topic, "e": {"type": "resync"}})
        await self._notify.submit(payload)

    async def _notify_all(self, payloads: Sequence[str]) -> list[None]:
        async with self._engine.connect() as conn:
            await conn.execute(_NOTIFY_ALL, {"channel": CHANNEL, "payloads": list(payloads)})
            await conn.commit()
        return [None] * len(payloads)

    async def start(self) -> None:
        self._listener.start(self._listen_forever())
        # Wait briefly so events published right after start are heard; a slow database only
        # delays live pushes, never start-up.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5.0)

    async def stop(self) -> None:
        await self._notify.close()
        await self._listener.stop()
        for task in list(self._deliveries):
            task.cancel()

    async def _listen_forever(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                _LOGGER.warning("live fanout: cannot connect (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self._reconnect_delay)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
                self._listening.set()
                await lost.wait()
                _LOGGER.warning("live fanout: connection lost; reconnecting")
            finally:
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
            await asyncio.sleep(self._reconnect_delay)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            topic, event = str(data["t"]), dict(data["e"])
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("live fanout: ignoring a malformed notification")
            return
        for handler in self._handlers:
            task = asyncio.ensure_future(handler(topic, event))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
