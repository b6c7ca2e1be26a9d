"""Id cursors over the audit trail never pass an event committed out of id order.

On PostgreSQL the holes are real: one connection keeps the transaction that took the lower id
open while another commits a higher one. The clock is injected, so waiting is not slept.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text

from tests.conftest import PG_URL, _dsn
from tests.ticketing.helpers import world, write_rulebook
from ticketing.commit_order import HoleGuard, running_transactions
from ticketing.database import create_engine, dispose
from ticketing.models import TicketEvent
from ticketing.ticket_rows import record
from ticketing.time import utcnow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Two writers at once: PostgreSQL only (SQLite has one writer, so its ids commit in order).
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_hole_holds_the_cursor_until_it_fills(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        ticket_id = (await w.desk.get(number))["id"]
        clock = Clock()
        guard = HoleGuard(w.engine, name="test", grace=2.0, clock=clock)

        async def visible_after(after: int) -> list[int]:
            return [r[0] for r in await w.rows(select(TicketEvent.id).where(TicketEvent.id > after))]

        async with w.engine.connect() as slow:
            last = int((await w.rows(select(func.max(TicketEvent.id))))[0][0])
            await slow.begin()
            await record(slow, ticket_id, "agent:slow", "note", {"text": "first"}, utcnow())  # takes last+1
            async with w.engine.begin() as fast:
                await record(fast, ticket_id, "agent:fast", "note", {"text": "second"}, utcnow())
            ids = await visible_after(last)
            assert len(ids) == 1 and ids[0] > last + 1  # only the later id is visible
            assert await guard.upto(last, ids) == last  # the cursor waits before the hole
            clock.now += 5  # past the grace, but its transaction still runs: keep waiting
            assert await guard.upto(last, ids) == last
            await slow.commit()
        ids = await visible_after(last)
        assert await guard.upto(last, ids) == ids[-1] and len(ids) == 2  # filled: both read, in order
        assert not guard.waiting


async def test_a_rolled_back_insert_is_passed_after_the_grace(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        ticket_id = (await w.desk.get(number))["id"]
        clock = Clock()
        guard = HoleGuard(w.engine, name="test", grace=2.0, clock=clock)
        last = int((await w.rows(select(func.max(TicketEvent.id))))[0][0])
        async with w.engine.connect() as doomed:
            await doomed.begin()
            await record(doomed, ticket_id, "agent:x", "note", {"text": "never"}, utcnow())
            await doomed.rollback()
        async with w.engine.begin() as conn:
            await record(conn, ticket_id, "agent:y", "note", {"text": "kept"}, utcnow())
        ids = [r[0] for r in await w.rows(select(TicketEvent.id).where(TicketEvent.id > last))]
        if ids[0] == last + 1:  # SQLite reuses the rolled-back rowid: no hole at all
            assert await guard.upto(last, ids) == ids[-1]
            return
        assert await guard.upto(last, ids) == last
        clock.now += 1
        assert await guard.upto(last, ids) == last  # within the grace
        clock.now += 1.5
        assert await guard.upto(last, ids) == ids[-1]  # nobody can fill it any more
        assert not guard.waiting


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_only_this_databases_transactions_can_hold_a_hole_open(database_url: str) -> None:
    """A snapshot spans the server: a transaction in another database (another tenant, another
    test) cannot fill a hole here, so a reader never waits for it."""
    engine, elsewhere = create_engine(database_url), await asyncpg.connect(_dsn(PG_URL))
    try:
        async with engine.connect() as here:
            await here.begin()
            mine = int((await here.execute(text("SELECT pg_current_xact_id()::text"))).scalar_one())
            async with elsewhere.transaction():
                theirs = int(await elsewhere.fetchval("SELECT pg_current_xact_id()::text"))
                running = await running_transactions(engine)
            await here.rollback()
        assert mine in running and theirs not in running
    finally:
        await elsewhere.close()
        await dispose(engine)
