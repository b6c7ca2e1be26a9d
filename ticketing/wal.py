"""Checkpointing SQLite's write-ahead log beside the writers instead of inside them.

By default the commit that takes the log past 1,000 pages copies the log back into the
database file and syncs it to disk before it returns. Under load that was every tenth batch
of messages: those batches took 10 to 20 ms longer (more on a slow disk), and every message
waiting behind them did too. The service turns the automatic checkpoint off on its connection
and checkpoints once a second from a connection and thread of its own. A PASSIVE checkpoint
neither waits for nor blocks the writers and readers; when it has copied everything, the next
commit starts the log from its beginning again, so the log stays at about one second of
writes. Other processes on the file (``frontdesk tickets ...``) keep SQLite's default.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["WalCheckpointer"]

_LOGGER = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, engine: AsyncEngine, *, interval: float = 1.0) -> None:
        """Create it before ``engine`` first connects: it turns off the automatic checkpoint of
        the engine's connections as they are made."""
        self._path = engine.url.database or ""
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None
        # One thread: the connection is closed only after the checkpoint running on it.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoints")
        if self._path and self._path != ":memory:":
            event.listen(engine.sync_engine, "connect", _no_autocheckpoint)

    async def start(self) -> None:
        if self._path and self._path != ":memory:":
            self._task = asyncio.create_task(self._run(), name="wal-checkpoints")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self.checkpoint)
            except sqlite3.Error as exc:  # the next round retries; the log only grows meanwhile
                _LOGGER.warning("WAL checkpoint failed: %s", exc)

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint (in a worker thread): (busy, frames in the log, frames copied)."""
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, timeout=10.0, check_same_thread=False)
        busy, log, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(log), int(copied)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
