"""Database-backed state for polling connectors: cursors and the single-consumer lock.

``channel_cursors`` keeps where a poller got to (Telegram's next update offset, an IMAP
mailbox's UIDVALIDITY and last UID), so a restart resumes instead of re-reading everything.
Polling loops must run in one process only: on PostgreSQL that process holds a session-level
advisory lock on a connection of its own, and another process takes over when it dies (its
connection closes, the server releases the lock). On SQLite there is one process by design.

TODO(ticketing): move into ticketing/ as a repository once the lead's refactor lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.models import ChannelCursor
from ticketing.time import utcnow

__all__ = ["ChannelCursors", "single_consumer"]

_LOGGER = logging.getLogger(__name__)


class ChannelCursors:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert

    async def get(self, channel: str, name: str) -> dict[str, Any] | None:
        stmt = select(ChannelCursor.value).where(ChannelCursor.channel == channel, ChannelCursor.name == name)
        async with self._engine.connect() as conn:
            value = (await conn.execute(stmt)).scalar()
        return dict(value) if isinstance(value, dict) else None

    async def put(self, channel: str, name: str, value: dict[str, Any]) -> None:
        now = utcnow()
        stmt = self._insert(ChannelCursor).values(channel=channel, name=name, value=value, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ChannelCursor.channel, ChannelCursor.name],
            set_={"value": value, "updated_at": now},
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"frontdesk:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def single_consumer(
    engine: AsyncEngine, name: str, *, retry_seconds: float = 5.0
) -> AsyncIterator[None]:
    """Wait until this process may run the single-consumer loop ``name``; hold it until exit."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = _lock_key(name)
    conn = await _acquire(engine, name, key, retry_seconds)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(_release(conn, key))


async def _acquire(engine: AsyncEngine, name: str, key: int, retry_seconds: float) -> AsyncConnection:
    waiting_logged = False
    while True:
        conn = await engine.connect()
        try:
            held = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
            await conn.commit()  # the lock is per session; do not sit idle in a transaction
        except Exception:
            await conn.close()
            raise
        if held:
            return conn
        await conn.close()
        if not waiting_logged:
            _LOGGER.info("%s runs in another process; this one takes over if that one stops", name)
            waiting_logged = True
        await asyncio.sleep(retry_seconds)


async def _release(conn: AsyncConnection, key: int) -> None:
    try:
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        await conn.commit()
    finally:
        await conn.close()
