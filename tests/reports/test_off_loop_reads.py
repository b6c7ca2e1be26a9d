"""``ticketing.off_loop_reads``: on SQLite the rollups' reads run in a process of their own (the
event loop and the engine's one connection stay free for turns), which survives a failing read
and is replaced when it dies; on PostgreSQL they run on a pooled connection."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from ticketing.database import create_engine
from ticketing.off_loop_reads import OffLoopReads, ReaderFailed


def where_and_what(conn: Connection, number: int) -> tuple[int, int]:
    """Read in the reading process: its pid, and the database's answer."""
    return os.getpid(), int(conn.execute(text("SELECT :n + 1"), {"n": number}).scalar_one())


def fails(conn: Connection) -> None:
    conn.execute(text("SELECT * FROM no_such_table"))


def slow(conn: Connection, seconds: float) -> str:
    time.sleep(seconds)
    return "late"


def writes(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE t (x INTEGER)"))


async def test_sqlite_reads_run_in_a_kept_process_that_survives_failures(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    reads = OffLoopReads(engine)
    try:
        pid, answer = await reads.run(where_and_what, 41)
        assert answer == 42 and pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)  # turns first
        assert (await reads.run(where_and_what, 1))[0] == pid  # kept, not one per read
        with pytest.raises(ReaderFailed, match="no_such_table"):
            await reads.run(fails)
        with pytest.raises(ReaderFailed, match="readonly"):  # it only reads
            await reads.run(writes)
        assert (await reads.run(where_and_what, 2)) == (pid, 3)  # still serving
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ReaderFailed, match="ended"):
            await reads.run(where_and_what, 3)
        again, answer = await reads.run(where_and_what, 3)
        assert answer == 4 and again != pid  # a new one
        with pytest.raises(TimeoutError):  # a read given up on: its late answer is never taken
            await asyncio.wait_for(reads.run(slow, 1.0), 0.2)
        again, answer = await reads.run(where_and_what, 4)
        assert answer == 5
    finally:
        await reads.close()
        await engine.dispose()
    with pytest.raises(ProcessLookupError):
        os.kill(again, 0)  # close() ended it


async def test_reads_run_in_the_reading_process_on_sqlite_and_on_the_pool_on_postgresql(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    reads = OffLoopReads(engine)
    try:
        pid, answer = await reads.run(where_and_what, 1)
        assert answer == 2
        assert (pid == os.getpid()) is database_url.startswith("postgresql")
        with pytest.raises(Exception, match="no_such_table"):
            await reads.run(fails)
    finally:
        await reads.close()
        await engine.dispose()
