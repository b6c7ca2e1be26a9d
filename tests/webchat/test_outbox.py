"""The outbox delivers every reply exactly once, and keeps retrying through a channel outage.

``FlakyChannel`` stands in for an outside chat service (it is handed to the real app as an extra
connector); everything else is the real flow, storage and dispatcher.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.app import App, AppOverrides
from bot.outbox import OutboxDispatcher
from core.contracts import InboundMessage
from tests.conftest import AppFactory
from tests.webchat.helpers import FAQ_HOURS, FlakyChannel, eventually, new_id, rows, send, start_session
from ticketing.database import create_engine
from ticketing.models import OutboxItem
from ticketing.outbox import OutboxStore


def message(text: str, *, user: str = "u-1", thread: str = "t-1") -> InboundMessage:
    return InboundMessage(
        channel="loopback",
        external_user_id=user,
        external_thread_id=thread,
        text=text,
        idempotency_key=new_id(),
    )


async def outbox_row(app: App, interaction_id: int) -> tuple:
    found = await rows(
        app.engine,
        select(
            OutboxItem.state,
            OutboxItem.attempts,
            OutboxItem.next_attempt_at,
            OutboxItem.last_error,
            OutboxItem.external_id,
        ).where(OutboxItem.interaction_id == interaction_id),
    )
    assert len(found) == 1, found
    return tuple(found[0])


async def start(database_url: str, make_client: AppFactory) -> tuple[App, FlakyChannel]:
    channel = FlakyChannel("loopback")
    # A long sweep interval: only the flow's wake-up (and our explicit drain) delivers.
    overrides = AppOverrides(connectors={"loopback": channel}, outbox_sweep_interval=3600)
    app, _client = await make_client(database_url, overrides=overrides)
    return app, channel


async def test_reply_is_delivered_once_and_marked_sent(database_url: str, make_client: AppFactory) -> None:
    app, channel = await start(database_url, make_client)
    result = await app.flow.handle(message(FAQ_HOURS))
    (reply,) = result.replies

    async def sent() -> bool:
        return (await outbox_row(app, reply.interaction_id))[0] == "sent"

    await eventually(sent)
    assert [m.interaction_id for m in channel.delivered] == [reply.interaction_id]
    assert "Monday to Friday" in channel.delivered[0].text
    state, attempts, _next, error, external_id = await outbox_row(app, reply.interaction_id)
    assert (state, attempts, error, external_id) == ("sent", 1, None, f"ext-{reply.interaction_id}")

    # Nothing is left to deliver: draining again sends nothing twice.
    assert await app.dispatcher.drain_once() == 0
    assert len(channel.delivered) == 1


async def test_channel_outage_keeps_the_reply_pending_then_delivers_once(
    database_url: str,
    make_client: AppFactory,
) -> None:
    app, channel = await start(database_url, make_client)
    channel.down = True
    result = await app.flow.handle(message(FAQ_HOURS))
    (reply,) = result.replies

    async def failed_once() -> bool:
        state, attempts, _next, error, _ext = await outbox_row(app, reply.interaction_id)
        return state == "pending" and attempts == 1 and error is not None

    await eventually(failed_once)
    state, attempts, next_attempt_at, error, external_id = await outbox_row(app, reply.interaction_id)
    assert next_attempt_at > datetime.now(UTC)  # backed off into the future
    assert "503" in error
    assert external_id is None
    assert channel.delivered == []
    assert await app.dispatcher.drain_once() == 0  # not due yet

    # The service recovers and the retry comes due.
    channel.down = False
    async with app.engine.begin() as conn:
        await conn.execute(
            update(OutboxItem)
            .where(OutboxItem.interaction_id == reply.interaction_id)
            .values(next_attempt_at=datetime.now(UTC))
        )
    assert await app.dispatcher.drain_once() == 1
    state, attempts, _next, _error, external_id = await outbox_row(app, reply.interaction_id)
    assert (state, attempts, external_id) == ("sent", 2, f"ext-{reply.interaction_id}")
    assert [m.interaction_id for m in channel.delivered] == [reply.interaction_id]
    assert channel.delivered[0].text == reply.text

    assert await app.dispatcher.drain_once() == 0
    assert len(channel.delivered) == 1
    assert channel.attempts == 2


async def test_many_replies_each_delivered_exactly_once(database_url: str, make_client: AppFactory) -> None:
    app, channel = await start(database_url, make_client)
    expected = []
    for i in range(5):
        result = await app.flow.handle(message(FAQ_HOURS, user=f"u-{i}", thread=f"t-{i}"))
        expected += [r.interaction_id for r in result.replies]

    async def all_sent() -> bool:
        return len(channel.delivered) >= len(expected)

    await eventually(all_sent)
    await app.dispatcher.drain_once()
    assert sorted(m.interaction_id for m in channel.delivered) == sorted(expected)
    states = await rows(app.engine, select(OutboxItem.state))
    assert [s for (s,) in states] == ["sent"] * len(expected)


async def test_webchat_reply_is_marked_sent(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    body = await send(client, await start_session(client), FAQ_HOURS)
    reply_id = body["replies"][0]["id"]

    async def sent() -> bool:
        return (await outbox_row(app, reply_id))[0] == "sent"

    await eventually(sent)
    assert (await outbox_row(app, reply_id))[1] == 1


async def test_stop_is_prompt_even_when_a_wake_races_the_cancel(sqlite_url: str) -> None:
    """stop() right after wake(): the cancel must not be lost (it was, with wait_for on 3.11,
    and shutdown then waited out the app's whole stop timeout)."""
    threads = set(threading.enumerate())
    engine = create_engine(sqlite_url)
    try:
        dispatcher = OutboxDispatcher(store=OutboxStore(engine=engine), connectors={}, sweep_interval=30.0)
        for _ in range(20):
            await dispatcher.start()
            await asyncio.sleep(0.01)  # the loop is parked on its wake event
            dispatcher.wake()
            stopping = asyncio.ensure_future(dispatcher.stop())
            done, _ = await asyncio.wait({stopping}, timeout=5)  # a hang guard, not a speed check
            if not done:
                stopping.cancel()
            assert done, "the dispatcher ignored its cancel"
    finally:
        await engine.dispose()
        # A cancel that lands inside a query makes SQLAlchemy force-close that aiosqlite
        # connection without waiting: its thread answers later, and must find this test's
        # loop still open (on a loaded CI machine it once did not, and the next test failed).
        for thread in set(threading.enumerate()) - threads:
            if "_connection_worker_thread" in thread.name:  # aiosqlite's, by its target's name
                await asyncio.to_thread(thread.join, 10)
