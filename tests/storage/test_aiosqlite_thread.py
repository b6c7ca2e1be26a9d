"""aiosqlite internals that ``ticketing.aiosqlite_thread`` relies on, and the path taken without
them: if an aiosqlite release changes ``Connection._execute``/``_conn``, this fails here (and
pyproject.toml's version range has to be verified again) instead of the write path silently
slowing down to one hop per statement."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator

import aiosqlite
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.aiosqlite_thread import thread_runner, worker_thread
from ticketing.database import create_engine, dispose
from ticketing.driver import StatementBatch, commit


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


async def test_a_function_runs_on_aiosqlites_thread_with_its_connection(engine: AsyncEngine) -> None:
    assert hasattr(aiosqlite.Connection, "_execute") and hasattr(aiosqlite.Connection, "_conn")
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        run = thread_runner(driver)
        assert run is not None, "aiosqlite's internals changed: see ticketing/aiosqlite_thread.py"
        public: list[threading.Thread] = []
        await driver.set_trace_callback(lambda _sql: public.append(threading.current_thread()))
        await driver.execute("SELECT 1")  # the public API, on aiosqlite's thread
        await driver.set_trace_callback(None)

        def where(raw: sqlite3.Connection) -> tuple[threading.Thread, int]:
            return threading.current_thread(), raw.execute("SELECT 41 + 1").fetchone()[0]

        thread, answer = await run(where)
    assert public and thread is public[0] and thread is not threading.current_thread()
    assert answer == 42


@pytest.mark.parametrize("one_by_one", [False, True])
async def test_a_batch_gives_the_same_results_one_statement_at_a_time(
    engine: AsyncEngine, one_by_one: bool
) -> None:
    async with engine.connect() as conn:
        batch = StatementBatch(one_by_one=one_by_one)
        batch.executemany("CREATE TABLE IF NOT EXISTS t (n INTEGER)", [()])
        batch.executemany("INSERT INTO t (n) VALUES (?)", [(1,), (2,), (3,)])
        at = batch.fetch("SELECT sum(n) FROM t", ())
        results = await commit(conn, batch)
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None and not driver.in_transaction  # committed
    assert [list(r) for r in results[at]] == [[6]]
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT count(*) FROM t")).scalar_one() == 3


async def test_dispose_waits_for_the_thread_of_a_connection_cancelled_mid_query(sqlite_url: str) -> None:
    """A task cancelled in the middle of a query (and again in its rollback and close: a shutdown
    that times out) leaves the query running on the connection's thread, which reports to the event
    loop when it ends. dispose() returns only once that thread has ended, so it never reports to a
    loop that is closed by then ("Event loop is closed" in a dead thread, which failed CI). The
    query blocks until the test releases it; engine.dispose() alone fails this test."""
    engine = create_engine(sqlite_url)
    release, running = threading.Event(), asyncio.Event()
    threads: list[threading.Thread] = []

    async def blocked() -> None:
        async with engine.begin() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            thread = worker_thread(driver)
            assert thread is not None, "aiosqlite's internals changed: see ticketing/aiosqlite_thread.py"
            threads.append(thread)
            await driver.create_function("held", 0, lambda: release.wait(30))
            running.set()
            await conn.exec_driver_sql("SELECT held()")

    task = asyncio.create_task(blocked())
    try:
        await running.wait()
        await asyncio.sleep(0.05)  # the query is on the thread, waiting
        for _ in range(3):  # the query, then the rollback, then the graceful close behind it
            task.cancel()
            await asyncio.sleep(0.05)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert threads[0].is_alive()
        disposing = asyncio.create_task(dispose(engine))
        await asyncio.sleep(0.1)
        assert not disposing.done()  # waiting for the thread
    finally:
        release.set()
    await disposing
    assert not threads[0].is_alive()
