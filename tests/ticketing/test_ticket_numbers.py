"""The documented guarantee of ticket numbers with several processes on one PostgreSQL
(docs/ticketing.md, "Ticket numbers"): unique everywhere, increasing within a process, and
interleaved across processes, since each process hands out numbers from a block of its own.

Two apps on one database stand for two processes: each has its own ``Turns`` and number pool.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import AppFactory
from tests.webchat.helpers import UNRELATED, send, start_session
from ticketing.models import Ticket

pytestmark = pytest.mark.postgres


async def open_ticket(client: TestClient) -> str:
    """A new visitor's message that the example rulebook cannot answer opens a ticket."""
    visitor = await start_session(client)
    await send(client, visitor, UNRELATED)
    return visitor.conversation_id


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_numbers_are_unique_and_increase_within_each_process(
    database_url: str, make_client: AppFactory
) -> None:
    (_, first), (_, second) = await make_client(database_url), await make_client(database_url)
    order = [first, second, first, second, second, first]
    for client in order:
        await open_ticket(client)

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            numbers = list((await conn.execute(select(Ticket.number).order_by(Ticket.id))).scalars())
    finally:
        await engine.dispose()
    assert len(numbers) == len(order) and len(set(numbers)) == len(numbers), numbers
    by_process = {
        "first": [n for n, c in zip(numbers, order, strict=True) if c is first],
        "second": [n for n, c in zip(numbers, order, strict=True) if c is second],
    }
    for mine in by_process.values():
        assert mine == sorted(mine) and len(mine) == 3, by_process
    # Each process draws from its own block, so in the order the tickets were opened the numbers
    # interleave rather than increase: the documented behaviour, not a fault.
    assert max(by_process["first"]) < min(by_process["second"]), by_process
