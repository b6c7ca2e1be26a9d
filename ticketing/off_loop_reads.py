"""Reads that must not stall the message path: on SQLite, on a connection and a thread of their own.

A SQLite engine has one pooled connection (``ticketing.database.create_engine``) and the
event loop decodes every row it reads: a background job that reads and counts thousands of rows
through it holds the connection the turns wait for and the loop that serves them (the report
rollups did, and the web chat's tail latency showed it). :class:`OffLoopReads` runs a
synchronous function on a separate SQLite connection (WAL readers neither block nor wait for
the writer) in a worker thread, so rows are decoded and counted there; the caller writes what
it found in a short transaction of its own. PostgreSQL has a pool of connections, so the
function runs on one of them through ``run_sync`` (on the loop, as any query there does).
An in-memory SQLite database cannot be opened twice: it is read through the engine too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from ticketing.database import JSON_OPTIONS

__all__ = ["OffLoopReads"]

P = ParamSpec("P")
T = TypeVar("T")


class OffLoopReads:
    """``await reads.run(fn, *args)`` calls ``fn(connection, *args)`` in a read transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync = _sqlite_reader(engine)

    @property
    def off_loop(self) -> bool:
        return self._sync is not None

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        sync = self._sync
        if sync is not None:

            def read() -> T:
                with sync.connect() as conn:  # one read transaction, rolled back on close
                    return fn(conn, *args, **kwargs)

            return await asyncio.to_thread(read)
        async with self._engine.connect() as conn:
            return await conn.run_sync(fn, *args, **kwargs)

    def dispose(self) -> None:
        if self._sync is not None:
            self._sync.dispose()


def _sqlite_reader(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file, a fresh connection each use (opening one
    costs far less than the reads it serves); None for PostgreSQL and in-memory databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    reader = create_sync_engine(url.set(drivername="sqlite"), poolclass=NullPool, **JSON_OPTIONS)
    event.listen(reader, "connect", _reader_pragmas)
    return reader


def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA query_only=ON")  # it reads; the job writes through the app's engine
    cursor.close()
