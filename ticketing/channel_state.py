"""Database-backed state for polling connectors: cursors and the single-consumer lock.

``channel_cursors`` keeps where a poller got to (Telegram's next update offset, an IMAP
mailbox's UIDVALIDITY and last UID), so a restart resumes instead of re-reading everything.
Polling loops must run in one process only: on PostgreSQL that process holds a session-level
advisory lock (``ticketing.leader.Leadership``) on a connection of its own, and another process
takes over when it dies (its connection closes, the server releases the lock); a holder whose
lock connection dropped stops its loop as soon as it notices. On SQLite there is one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from core.loops import BackgroundTask
from ticketing.leader import Leadership
from ticketing.models import ChannelCursor
from ticketing.time import utcnow

__all__ = ["ChannelState", "single_consumer"]

_LOGGER = logging.getLogger(__name__)


class ChannelState:
    """The ``channel_cursors`` table and the polling loops' lock, for every channel."""

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

    def single_consumer(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Entered once this process is the only one allowed to run the loop ``name``."""
        return single_consumer(self._engine, name)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"frontdesk:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def single_consumer(
    engine: AsyncEngine, name: str, *, retry_seconds: float = 5.0, check_seconds: float = 5.0
) -> AsyncIterator[None]:
    """Wait until this process may run the single-consumer loop ``name``; hold it until exit.

    The lock is ``ticketing.leader.Leadership``'s, checked every ``check_seconds``: if its
    connection drops and another process takes the lock meanwhile, the body is cancelled and the
    ``async with`` ends without an error, so callers run it in a loop to compete again (another
    process runs the loop now; this one takes over again when that one stops).
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    leadership = Leadership(engine=engine, key=_lock_key(name), name=f"the {name} loop")
    waiting_logged = False
    while not await leadership.check():
        if not waiting_logged:
            _LOGGER.info("%s runs in another process; this one takes over if that one stops", name)
            waiting_logged = True
        await asyncio.sleep(retry_seconds)
    body = asyncio.current_task()
    lost = asyncio.Event()

    async def watch() -> None:
        while True:
            await asyncio.sleep(check_seconds)
            if not await leadership.check():
                _LOGGER.warning("%s: another process holds the lock now; stopping here", name)
                lost.set()
                if body is not None:
                    body.cancel()
                return

    watcher = BackgroundTask(name=f"lock-watch:{name}")
    watcher.start(watch())
    try:
        yield
    except asyncio.CancelledError:
        if not lost.is_set() or body is None or body.uncancel() > 0:
            raise  # a real cancellation (shutdown), not ours
    finally:
        with contextlib.suppress(Exception):
            await watcher.stop()
        with contextlib.suppress(Exception):
            await asyncio.shield(leadership.release())
