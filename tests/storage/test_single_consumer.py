"""The single-consumer lock of the polling loops (IMAP, Telegram, Slack projection) on
PostgreSQL: when the holder's lock connection dies and another process takes the lock, the old
holder's loop stops and competes again instead of running beside the new one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from ticketing.channel_state import single_consumer
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

    tasks = {"a": asyncio.create_task(consumer("a"))}
    try:
        await until(lambda: running == ["a"])
        tasks["b"] = asyncio.create_task(consumer("b"))
        await asyncio.sleep(0.3)
        assert running == ["a"]  # b waits for the lock
        async with engine.connect() as admin:  # the server drops a's lock connection
            await admin.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ))  # fmt: skip
            await admin.commit()
        # a stopped (its stint ended) and one of the two leads again: whoever competed first. If
        # b won, both ran until a's next check (check_seconds): the lock only narrows duplicate
        # work, which the loops' own row claims and cursors keep harmless.
        await until(lambda: len(stints) == 2 and len(running) == 1)
        holder = running[0]
        other = "b" if holder == "a" else "a"
        tasks.pop(holder).cancel()  # the holder's process goes away: the other takes over
        await until(lambda: running == [other])
        assert stints[0] == "a" and stints[-1] == other and len(stints) == 3
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await engine.dispose()
