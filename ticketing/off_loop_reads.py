"""Reads that must not stall the message path: on SQLite, in a process and on a connection of their own.

A SQLite engine has one pooled connection (``ticketing.database.create_engine``) and the event
loop decodes every row it reads: a background job that reads and counts thousands of rows
through it holds the connection the turns wait for and the loop that serves them (the report
rollups did, and the web chat's tail latency showed it). A thread of its own freed the
connection but not the loop: its Python work took the interpreter lock from the loop in 5 ms
slices. :class:`OffLoopReads` therefore runs a synchronous function in a process of its own on
its own connection to the same file (WAL readers neither block nor wait for the writer). The
process is a plain ``python -m ticketing.off_loop_reads`` (not multiprocessing, which would
re-run whatever script embeds the service), started on first use and kept; requests and answers
are 4-byte-length-prefixed pickles over its stdin and stdout, one at a time, so arguments and
results should be small (ids and sums, not rows). It runs at a lower priority than the service.
The caller writes what it found in a short transaction of its own. PostgreSQL has a pool of
connections, so there the function runs on one of them through ``run_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import FrontdeskError
from ticketing.database import JSON_OPTIONS

__all__ = ["OffLoopReads", "ReaderFailed"]

T = TypeVar("T")
_HEADER = struct.Struct("!I")
_EXIT_GRACE_SECONDS = 5.0
# Below the service's priority: on a busy machine the turns get the CPU first and the reads wait
# (a report a few seconds late rather than a customer).
_NICENESS = 10


class ReaderFailed(FrontdeskError):
    """The reading process raised (its message says what) or died; the next read starts another."""


class OffLoopReads:
    """``await reads.run(fn, *args)`` calls ``fn(connection, *args)`` in a read transaction;
    ``fn`` must be a module-level function and its arguments and result must pickle."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._url = _sqlite_file(engine)
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()  # one request in flight

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._url is None:
            async with self._engine.connect() as conn:
                return await conn.run_sync(fn, *args)
        async with self._lock:
            process = self._process or await self._start(self._url)
            assert process.stdin is not None and process.stdout is not None
            body = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
            try:
                process.stdin.write(_HEADER.pack(len(body)) + body)
                await process.stdin.drain()
                size = _HEADER.unpack(await process.stdout.readexactly(_HEADER.size))[0]
                ok, value = pickle.loads(await process.stdout.readexactly(size))  # noqa: S301 - our child's pipe
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self._process = None
                await _ended(process, kill=True)
                raise ReaderFailed(f"the reading process ended: {exc!r}") from None
            except asyncio.CancelledError:  # its answer would be read as the next request's
                self._process = None
                # Killed and waited for, so its pipes are closed now, not by the garbage collector.
                await asyncio.shield(_ended(process, kill=True))
                raise
            if not ok:
                raise ReaderFailed(value)
            return value  # type: ignore[no-any-return]

    async def close(self) -> None:
        async with self._lock:
            process, self._process = self._process, None
            if process is not None:
                await _ended(process)

    async def _start(self, url: str) -> asyncio.subprocess.Process:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ticketing.off_loop_reads",
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return self._process


async def _ended(process: asyncio.subprocess.Process, *, kill: bool = False) -> None:
    """Close its stdin (it reads end-of-file and exits), or kill it; wait until it has."""
    if process.stdin is not None:
        process.stdin.close()
    if kill:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    try:
        await asyncio.wait_for(process.wait(), _EXIT_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _sqlite_file(engine: AsyncEngine) -> str | None:
    """The synchronous driver's URL of the engine's SQLite file (``database.url`` is never an
    in-memory one, ``bot.config``); None for PostgreSQL."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    return url.set(drivername="sqlite").render_as_string(hide_password=False)


def _serve(url: str, requests: BinaryIO, answers: BinaryIO) -> None:
    """The reading process: answer requests on one connection until the service closes our stdin."""
    os.nice(_NICENESS)
    engine = create_sync_engine(url, pool_size=1, max_overflow=0, **JSON_OPTIONS)
    event.listen(engine, "connect", _reader_pragmas)
    while header := requests.read(_HEADER.size):
        fn, args = pickle.loads(requests.read(_HEADER.unpack(header)[0]))  # noqa: S301 - our parent's pipe
        try:
            answer = (True, _call(engine, fn, args))
        except Exception as exc:  # the service reports it; this process keeps serving
            answer = (False, f"{type(exc).__name__}: {exc}")
        body = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(_HEADER.pack(len(body)) + body)
        answers.flush()
    engine.dispose()


def _call(engine: Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    conn: Connection
    with engine.connect() as conn:  # one read transaction, rolled back on close
        return fn(conn, *args)


def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA query_only=ON")  # it reads; the caller writes through the app's engine
    cursor.close()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
