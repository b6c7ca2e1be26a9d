"""The single-consumer lock of the polling loops (IMAP, Telegram, Slack projection) on
PostgreSQL: when the holder's lock connection dies and another process takes the lock, the old
holder's loop stops and competes again instead of running beside the new one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.channel_state import single_consumer
from ticketing.database import create_engine

# A competitor waiting for the lock is what this tests: PostgreSQL only (SQLite has one process).
pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def test_a_holder_that_lost_its_lock_stops_and_competes_again(database_url: str) -> None:
    engine = create_engine(database_url)
    running: list[str] = []  # who runs the loop body right now
    stints: list[str] = []

    async def consumer(who: str) -> None:
        while True:  # as the connectors' loops do
            async with single_consumer(engine, "test-loop", retry_seconds=0.05, check_seconds=0.05):
                running.append(who)
                stints.append(who)
                try:
                    await asyncio.Event().wait()
                finally:
                    running.remove(who)

    async def until(predicate) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(20):  # a hang guard, not a speed check
            while not predicate():  # noqa: ASYNC110 - the lock changes hands in other tasks' I/O
                await asyncio.sleep(0.02)

    first = asyncio.create_task(consumer("a"))
    try:
        await until(lambda: running == ["a"])
        second = asyncio.create_task(consumer("b"))
        await asyncio.sleep(0.3)
        assert running == ["a"]  # b waits for the lock
        async with engine.connect() as admin:  # the server drops a's lock connection
            await admin.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ))  # fmt: skip
            await admin.commit()
        await until(lambda: running == ["b"])  # b took over; a stopped instead of running on
        assert stints == ["a", "b"]
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        await until(lambda: running == ["a"])  # a competed again and leads once b is gone
        assert stints == ["a", "b", "a"]
    finally:
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await engine.dispose()
