"""Running one function on aiosqlite's own thread: the project's only use of aiosqlite internals.

Why: a :class:`~ticketing.driver.StatementBatch` should reach SQLite in one hop to aiosqlite's
thread, and aiosqlite's public API makes one hop per call (each execute, fetch, executemany and
commit comes back through the event loop, behind every request the loop is busy with). There
is no public way to run a function there. Internally aiosqlite runs every call as a function
queued with ``Connection._execute(fn, *args)``, on the sqlite3 connection ``Connection._conn``;
the batch is sent as one such function. Each connection's thread is ``Connection._thread``,
which ``ticketing.database.dispose`` waits for. Read and verified in aiosqlite 0.20.0, 0.21.0
and 0.22.1 (pyproject.toml pins that range); tests/storage/test_aiosqlite_thread.py fails if
they change. A driver without them gets None here, and its statements are sent one by one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiosqlite

__all__ = ["thread_runner", "worker_thread"]

T = TypeVar("T")

Runner = Callable[[Callable[[sqlite3.Connection], T]], Awaitable[T]]


def thread_runner(driver: object) -> Runner[Any] | None:
    """``run(fn)`` that calls ``fn(sqlite3_connection)`` on ``driver``'s thread, in its queue
    with the driver's other calls; None if ``driver`` is not an aiosqlite connection of the
    verified shape."""
    if not isinstance(driver, aiosqlite.Connection):
        return None
    execute = getattr(driver, "_execute", None)
    if execute is None or not hasattr(type(driver), "_conn"):
        return None

    async def run(fn: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await execute(fn, driver._conn)
        return result

    return run


def worker_thread(driver: object) -> threading.Thread | None:
    """The thread ``driver`` runs its calls on; None if it is not an aiosqlite connection."""
    thread = getattr(driver, "_thread", None) if isinstance(driver, aiosqlite.Connection) else None
    return thread if isinstance(thread, threading.Thread) else None
