"""Checkpointing SQLite's write-ahead log beside the writers instead of inside them.

By default the commit that takes the log past 1,000 pages copies it into the database file and
syncs before it returns, and every message waiting behind that commit waits too. The service
turns the automatic checkpoint off on its connection and checkpoints once a second, PASSIVE,
from a connection and thread of its own (other processes on the file keep SQLite's default).

Under sustained load a PASSIVE checkpoint never copies the log whole (a batch commits during
each one), so no commit starts the log again and it grows for as long as the load lasts. Past
``catch_up_after_bytes`` the checkpointer therefore copies the last frames on the service's own
connection, between two of its transactions, and the next commit starts the log again.
``journal_size_limit`` is four times that size, so such a restart of the log overwrites the file
instead of truncating it inside a commit that every chat waits for.

A reader that keeps an old snapshot open (a backup, a ``sqlite3`` shell inside a transaction)
stops every checkpoint at its mark; the checkpointer warns (at most every ten minutes) instead of
letting the disk fill silently. Measured figures: docs/performance.md.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.loops import BackgroundTask, every

__all__ = ["WalCheckpointer"]

_LOGGER = logging.getLogger(__name__)
_CATCH_UP_AFTER = 64 * 1024 * 1024  # log bytes past which the service's connection copies the rest
_LOG_LIMIT = 4 * _CATCH_UP_AFTER  # bytes the log file keeps once checkpointed (journal_size_limit)
_WARN_EVERY = 600.0  # seconds between two warnings about a log that cannot be checkpointed


class WalCheckpointer:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval: float = 1.0,
        warn_after_pages: int = 25_000,
        catch_up_after_bytes: int = _CATCH_UP_AFTER,
    ) -> None:
        """Create it before ``engine`` first connects: it turns off the automatic checkpoint of
        the engine's connections as they are made. ``warn_after_pages``: log pages (4 KB each
        by default) left uncopied by a checkpoint before it warns of a pinned log.
        ``catch_up_after_bytes``: the log size at which it copies the last frames on the
        service's connection so that the log can start again (:meth:`catch_up`)."""
        self._engine = engine
        self._path = engine.url.database or ""
        self._interval = interval
        self._warn_after = warn_after_pages
        self._catch_up_after = catch_up_after_bytes
        self._warned_at: float | None = None
        self._page_size = 4096
        self._loop = BackgroundTask(name="wal-checkpoints")
        self._conn: sqlite3.Connection | None = None
        # One thread: the connection is closed only after the checkpoint running on it.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoints")
        if self._path and self._path != ":memory:":
            event.listen(engine.sync_engine, "connect", _no_autocheckpoint)

    async def start(self) -> None:
        if self._path and self._path != ":memory:":
            self._loop.start(
                every(self._interval, self._round, failed=_failed, retry_on=(sqlite3.Error, SQLAlchemyError))
            )

    async def stop(self) -> None:
        if not self._loop.started:
            return
        await self._loop.stop()
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)

    async def _round(self) -> None:
        _busy, log, copied = await asyncio.get_running_loop().run_in_executor(self._thread, self.checkpoint)
        if log * self._page_size >= self._catch_up_after and log - copied < self._warn_after:
            await self.catch_up()

    async def catch_up(self) -> tuple[int, int, int]:
        """Copy the last frames on the service's connection, where no commit can come in between
        (see the module's docstring); returns what the checkpoint reported."""
        async with self._engine.connect() as conn:
            row = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")).one()
        busy, log, copied = (int(n) for n in row)
        return busy, log, copied

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint (in a worker thread): (busy, frames in the log, frames copied)."""
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, timeout=10.0, check_same_thread=False)
            self._page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
        busy, log, copied = (int(n) for n in self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        self._watch_backlog(log - copied)
        return busy, log, copied

    def _watch_backlog(self, behind: int) -> None:
        if behind < self._warn_after:
            return
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < _WARN_EVERY:
            return
        self._warned_at = now
        _LOGGER.warning(
            "the SQLite write-ahead log of %s holds %d MB that cannot be copied into the database: "
            "a reader keeps an old snapshot open (a backup, or a sqlite3 shell inside a transaction). "
            "Close it; until then the log grows with every write.",
            self._path, behind * self._page_size // (1024 * 1024),
        )  # fmt: skip

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _failed(exc: Exception) -> None:  # the next round retries
    _LOGGER.warning("WAL checkpoint failed: %s", exc)


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA journal_size_limit={_LOG_LIMIT}")
    cursor.close()
