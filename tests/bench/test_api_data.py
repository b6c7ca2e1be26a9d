"""The REST API benchmark's data (bench/api_data.py): what it loads is what the app reads. A
small desk is bulk-loaded into a migrated database and read back through the real ticket
queries: the search index is filled (an order number finds its ticket), the filters see the
rows, and the counters the app keeps are in step with them."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from ticketing.database import create_engine
from ticketing.models import Conversation, Counter, Interaction, Ticket
from ticketing.ticket_queries import TicketQueries, TicketQuery

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import api_data

SIZES = api_data.Sizes(tickets=200, interactions=2000)


async def _load(database_url: str) -> None:
    now = time.time()
    if database_url.startswith("sqlite"):
        api_data.load_sqlite(database_url.split(":///", 1)[1], SIZES, seed=7, now=now, chunk=64)
    else:
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        await api_data.load_postgresql(dsn, SIZES, seed=7, now=now, chunk=64)


async def test_the_loaded_desk_reads_back_through_the_ticket_queries(database_url: str) -> None:
    await _load(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tickets = (await conn.execute(select(func.count()).select_from(Ticket))).scalar_one()
            messages = (await conn.execute(select(func.count()).select_from(Interaction))).scalar_one()
            tally = (
                await conn.execute(select(Counter.value).where(Counter.name == "ticket_number"))
            ).scalar_one()
            turns = (await conn.execute(select(func.sum(Conversation.turns)))).scalar_one()
            inbound = (
                await conn.execute(select(func.count()).where(Interaction.direction == "in"))
            ).scalar_one()
        assert tickets == 200 and abs(messages - 2000) < 200
        assert tally == 1000 + 200  # the next ticket opened is T-1201
        assert turns == inbound
        queries = TicketQueries(engine=engine)
        found = await queries.page(TicketQuery(q=api_data.order_number(123)))
        assert [t["number"] for t in found.items] == [1123]
        by_name = await queries.page(TicketQuery(q="zipper", limit=5))
        assert by_name.items and by_name.next_cursor is not None
        closed = await queries.page(TicketQuery(status=["closed"], limit=10))
        assert len(closed.items) == 10 and all(t["status"] == "closed" for t in closed.items)
    finally:
        await engine.dispose()


def test_search_terms_name_tickets_that_exist() -> None:
    terms = api_data.search_terms(24, 1000)
    assert all(1_000_000 <= int(n) < 10_000_000 for n in terms["order_number"])
    assert len(set(api_data.order_number(t) for t in range(1, 5001))) == 5000  # one per ticket
