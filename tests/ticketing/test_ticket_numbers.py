"""The documented guarantee of ticket numbers with several processes on one PostgreSQL
(docs/ticketing.md, "Ticket numbers"): unique, gapless, and issued in the order tickets are
opened, across processes too (hardening issue, bug 11: they used to interleave by blocks of 50).

Two apps on one database stand for two processes: each has its own ``Turns``.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, send, start_session
from ticketing.models import Ticket

pytestmark = pytest.mark.postgres


async def open_ticket(client: TestClient) -> str:
    """A new visitor's message that the example rulebook cannot answer opens a ticket."""
    visitor = await start_session(client)
    await send(client, visitor, UNHANDLED)
    return visitor.conversation_id


async def numbers_in_order(database_url: str) -> list[int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(Ticket.number).order_by(Ticket.created_at, Ticket.id)
            return list((await conn.execute(query)).scalars())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_numbers_follow_the_order_tickets_are_opened_across_processes(
    database_url: str, make_client: AppFactory
) -> None:
    (_, first), (_, second) = await make_client(database_url), await make_client(database_url)
    for client in [first, second, first, second, second, first]:
        await open_ticket(client)
    numbers = await numbers_in_order(database_url)
    assert numbers == list(range(numbers[0], numbers[0] + 6)), numbers


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_tickets_from_two_processes_leave_no_gap(
    database_url: str, make_client: AppFactory
) -> None:
    (_, first), (_, second) = await make_client(database_url), await make_client(database_url)
    await asyncio.gather(*(open_ticket(client) for client in [first, second] * 15))
    numbers = await numbers_in_order(database_url)
    assert sorted(numbers) == list(range(min(numbers), min(numbers) + 30)), numbers


async def test_a_new_process_continues_where_the_last_one_stopped(
    database_url: str, make_client: AppFactory
) -> None:
    """No block is abandoned at exit: a short-lived process (``frontdesk chat``) skips nothing."""
    _, first = await make_client(database_url)
    await open_ticket(first)
    _, second = await make_client(database_url)
    await open_ticket(second)
    await open_ticket(first)
    numbers = await numbers_in_order(database_url)
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2], numbers
