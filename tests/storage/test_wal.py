"""SQLite's write-ahead log is checkpointed beside the service's writers, not inside their
commits (ticketing/wal.py). SQLite only: PostgreSQL has no such log to manage."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from ticketing.database import create_engine
from ticketing.wal import WalCheckpointer


async def test_the_service_connection_leaves_checkpoints_to_the_checkpointer(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    checkpoints = WalCheckpointer(engine, interval=3600)  # checkpoint() is called by hand here
    path = Path(sqlite_url.split(":///", 1)[1])
    try:
        async with engine.begin() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
            await conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        for _ in range(60):  # 6 MB of commits: past SQLite's own 1,000-page checkpoint
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO filler (body) VALUES (:b)"), [{"b": "x" * 1000} for _ in range(100)]
                )
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 1000 * 4096  # nothing checkpointed it during the commits

        await checkpoints.start()
        busy, log, copied = checkpoints.checkpoint()
        assert (busy, copied) == (0, log) and log > 1000

        async with engine.begin() as conn:  # the next commit starts the log from the beginning
            await conn.execute(text("INSERT INTO filler (body) VALUES ('after')"))
        busy, log, copied = checkpoints.checkpoint()
        assert busy == 0 and log < 10
    finally:
        await checkpoints.stop()
        await engine.dispose()
    with sqlite3.connect(path) as plain:  # everything is in the database file
        assert plain.execute("SELECT count(*) FROM filler").fetchone() == (6001,)
        assert plain.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)  # others: default


async def test_a_reader_pinning_the_log_is_reported(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader that keeps an old snapshot (a sqlite3 shell inside a transaction) stops the
    checkpoints at its mark: the checkpointer warns, once, naming the cause and the fix, and
    after the reader lets go the log is copied whole again."""
    engine = create_engine(sqlite_url)
    checkpoints = WalCheckpointer(engine, interval=3600, warn_after_pages=100)
    path = Path(sqlite_url.split(":///", 1)[1])
    try:
        async with engine.begin() as conn:
            # a routine restart of the log truncates nothing (ticketing.wal)
            assert (await conn.execute(text("PRAGMA journal_size_limit"))).scalar_one() == 256 * 1024 * 1024
            await conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM filler").fetchone()  # the snapshot is now held
        for _ in range(10):
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO filler (body) VALUES (:b)"), [{"b": "x" * 1000} for _ in range(100)]
                )
        caplog.set_level(logging.WARNING, logger="ticketing.wal")
        busy, log, copied = checkpoints.checkpoint()
        assert log - copied > 100
        checkpoints.checkpoint()  # still pinned: no second warning so soon
        (warning,) = [r.getMessage() for r in caplog.records]
        assert "a reader keeps an old snapshot open" in warning and str(path) in warning
        reader.execute("COMMIT")
        reader.close()
        busy, log, copied = checkpoints.checkpoint()
        assert busy == 0 and copied == log
    finally:
        await checkpoints.stop()
        await engine.dispose()


async def test_the_log_starts_again_under_writes_that_never_pause(sqlite_url: str) -> None:
    """Commits land while every checkpoint runs, so no checkpoint ever copies the log whole and
    no commit ever starts it again: the log grew for as long as the load lasted. Past its
    limit the checkpointer copies the last frames on the service's connection, and the log
    stays near that limit however long the writes go on."""
    engine = create_engine(sqlite_url)
    limit = 400 * 4096
    checkpoints = WalCheckpointer(engine, interval=0.01, catch_up_after_bytes=limit)
    path = Path(sqlite_url.split(":///", 1)[1])
    wal = path.with_name(path.name + "-wal")
    written = largest = 0
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        await checkpoints.start()
        for _ in range(300):  # about 120 MB of commits, back to back
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO filler (body) VALUES (:b)"), [{"b": "x" * 4000} for _ in range(100)]
                )
            written += 100
            largest = max(largest, wal.stat().st_size)
    finally:
        await checkpoints.stop()
        await engine.dispose()
    assert largest < 30 * limit  # without catching up: the whole 120 MB
    with sqlite3.connect(path) as plain:
        assert plain.execute("SELECT count(*) FROM filler").fetchone() == (written,)
