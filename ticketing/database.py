"""Engine creation and schema migrations for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite gets WAL, ``synchronous=NORMAL`` (durable across process crashes; a power cut may lose
the last transactions, the documented WAL trade-off) and a busy timeout so a second process
such as ``frontdesk chat`` waits instead of failing. Migrations are Alembic's, configured in
code so there is no alembic.ini to keep in step.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ticketing import json_text
from ticketing.aiosqlite_thread import worker_thread

__all__ = ["create_engine", "current_revision", "dispose", "head_revision", "is_sqlite", "upgrade"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseTarget:
    """Where ``database.url`` points, for messages to the operator (the password hidden)."""

    backend: str  # "sqlite" or "postgresql"
    shown: str
    path: Path | None  # SQLite's file
    host: str
    port: int
    name: str
    user: str | None


def database_target(url: str | URL) -> DatabaseTarget:
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    return DatabaseTarget(
        backend=parsed.get_backend_name(),
        shown=parsed.render_as_string(hide_password=True),
        path=Path(parsed.database or "") if sqlite else None,
        host=parsed.host or "localhost",
        port=parsed.port or 5432,
        name=parsed.database or "",
        user=parsed.username,
    )


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        _ensure_directory(url)
        # One connection: SQLite has one writer anyway, and writers on separate connections
        # wait for each other inside SQLite's busy handler, which sleeps in steps of up to
        # 100 ms. Queued in the pool instead, they wait on the event loop and batch up.
        # Every use ends its transaction itself (begin() commits or rolls back, connect()
        # rolls back on close), so the pool's extra reset round trip is skipped.
        engine = create_async_engine(
            url, echo=echo, pool_size=1, max_overflow=0, pool_reset_on_return=None, **JSON_OPTIONS
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        _THREADS[engine.sync_engine] = threads
        event.listen(engine.sync_engine, "connect", lambda conn, _record: _track_thread(threads, conn))
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **JSON_OPTIONS
    )


# hide_parameters: a statement's error (logged by whoever catches it) and ``database.echo``
# show the SQL but never its values, which are message texts, names and email addresses.
JSON_OPTIONS: dict[str, Any] = {
    "json_serializer": json_text.dumps,
    "json_deserializer": json_text.loads,
    "hide_parameters": True,
}


def _ensure_directory(url: str) -> None:
    """SQLite creates the file but not its folder (``var/`` on a fresh checkout)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# aiosqlite runs each connection in a thread of its own. A connection whose task was cancelled
# mid-query is terminated without waiting (SQLAlchemy's force close), and its thread reports the
# outcome to the event loop later; were the loop closed by then, the thread dies with "Event loop
# is closed". dispose() therefore waits for the threads of the engine's connections to end.
_THREADS: weakref.WeakKeyDictionary[Any, weakref.WeakSet[threading.Thread]] = weakref.WeakKeyDictionary()
_THREAD_END_SECONDS = 5.0


def _track_thread(threads: weakref.WeakSet[threading.Thread], dbapi_connection: Any) -> None:
    thread = worker_thread(dbapi_connection.driver_connection)
    if thread is not None:
        threads.add(thread)


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections and, on SQLite, wait until their threads have ended."""
    await engine.dispose()
    for thread in list(_THREADS.get(engine.sync_engine, ())):
        await asyncio.to_thread(thread.join, _THREAD_END_SECONDS)
    await asyncio.sleep(0)  # run the callbacks the threads left on the loop


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config("")).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def upgrade(url: str, revision: str = "head") -> None:
    """Run migrations; Alembic drives its own event loop, so it runs in a worker thread."""
    await asyncio.to_thread(command.upgrade, _config(url), revision)


def migration_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):
        _ensure_directory(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine
