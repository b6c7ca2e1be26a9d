"""The projection never skips an entry: rows committed out of id order on PostgreSQL, rolled
back inserts, Retry-After honoured with each line posted once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from connectors.slack.feed import build_feed
from tests.conftest import AppFactory
from tests.slack.fake_api import TIMEOUT, Call, FakeSlack
from tests.slack.helpers import card_ts, in_thread, is_card, start
from tests.slack.test_flow import HUMAN
from tests.webchat.helpers import eventually, send, start_session
from ticketing.models import Ticket
from ticketing.slack_threads import SlackTicket
from ticketing.ticket_rows import record
from ticketing.time import utcnow

T0 = datetime(2026, 1, 1, 12, 0)
postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def _ticket(app: App, client: TestClient, slack: FakeSlack) -> tuple[int, str, str]:
    """A handed-off web chat ticket with its card in Slack: (ticket id, card ts, visitor)."""
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    async with app.engine.connect() as conn:
        ticket_id = (await conn.execute(select(Ticket.id))).scalar_one()
    return int(ticket_id), ts, visitor


def _posted(slack: FakeSlack, ts: str, text: str) -> list[Call]:
    return slack.calls_to("chat.postMessage", where=lambda c: c.accepted and in_thread(ts, text)(c))


async def _one_more_step(client: TestClient, slack: FakeSlack, visitor: str, ts: str) -> None:
    """Return once a projection step has *started* after this call: the step that posts the
    second message began after the one that posted the first had read it."""
    for text in ("ping one", "ping two"):
        await send(client, visitor, text)
        await slack.wait_for("chat.postMessage", where=in_thread(ts, text))


@postgres_only
async def test_an_event_committed_after_a_later_one_is_still_posted(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    ticket_id, ts, _visitor = await _ticket(app, client, slack)
    # A second ticket whose customer keeps talking: its messages show the projection stepping.
    # (Its ticket row is not the one A's insert holds a key-share lock on.)
    other = await start_session(client)
    await send(client, other, HUMAN)
    other_card = select(SlackTicket.ts).where(SlackTicket.ticket_id != ticket_id)

    async def other_card_saved() -> bool:
        async with app.engine.connect() as conn:
            return (await conn.execute(other_card)).first() is not None

    await eventually(other_card_saved)
    async with app.engine.connect() as conn:
        other_ts = (await conn.execute(other_card)).scalar_one()
    # Transaction A takes the lower event id and stays open; B takes the next one and commits.
    slow = await app.engine.connect()
    try:
        await slow.begin()
        await record(slow, ticket_id, "agent:alice", "note", {"text": "first note"}, utcnow())
        async with app.engine.begin() as quick:
            await record(quick, ticket_id, "agent:alice", "note", {"text": "second note"}, utcnow())
        async with asyncio.timeout(TIMEOUT):
            await _one_more_step(client, slack, other, other_ts)  # the projection has read B's event
        assert not _posted(slack, ts, "second note")  # held behind A's id, not posted past it
        await slow.commit()
    finally:
        await slow.close()
    [first] = await slack.wait_for("chat.postMessage", where=in_thread(ts, "first note"))
    [second] = await slack.wait_for("chat.postMessage", where=in_thread(ts, "second note"))
    assert first.at <= second.at
    assert len(_posted(slack, ts, "first note")) == len(_posted(slack, ts, "second note")) == 1


@postgres_only
async def test_a_rolled_back_insert_holds_the_feed_only_briefly(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    ticket_id, ts, _visitor = await _ticket(app, client, slack)
    async with app.engine.connect() as failed:
        await failed.begin()
        await record(failed, ticket_id, "agent:alice", "note", {"text": "never happened"}, utcnow())
        async with app.engine.begin() as quick:
            await record(quick, ticket_id, "agent:alice", "note", {"text": "after the gap"}, utcnow())
        await failed.rollback()
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "after the gap"))  # after the grace
    assert not _posted(slack, ts, "never happened")
    assert len(_posted(slack, ts, "after the gap")) == 1


async def test_retry_after_is_waited_for_and_the_line_posted_once(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    _ticket_id, ts, visitor = await _ticket(app, client, slack)
    slack.rate_limit(
        "chat.postMessage", retry_after="1", when=lambda p: "slow down" in str(p.get("text", ""))
    )
    await send(client, visitor, "please slow down")
    [accepted] = await slack.wait_for(
        "chat.postMessage", where=lambda c: c.accepted and in_thread(ts, "slow down")(c)
    )
    [limited] = slack.calls_to("chat.postMessage", where=lambda c: not c.accepted)
    assert in_thread(ts, "slow down")(limited)
    assert accepted.at - limited.at >= 0.95  # Retry-After: 1 (lower bound only)
    assert len(slack.calls_to("chat.postMessage", where=in_thread(ts, "slow down"))) == 2  # 429, then once


def _event(id: int, at: datetime) -> dict[str, Any]:
    return {"id": id, "ticket_id": 1, "kind": "note", "created_at": at, "actor": "system", "data": {}}


def _message(id: int, at: datetime) -> dict[str, Any]:
    return {"id": id, "ticket_id": 1, "channel": "webchat", "direction": "in", "sender_role": "customer",
            "sender_name": None, "text": "hi", "created_at": at}  # fmt: skip


def test_a_batch_stops_where_each_source_may_go() -> None:
    events = [_event(11, T0), _event(12, T0), _event(15, T0)]
    scanned = [{"id": i, "created_at": T0} for i in (21, 22, 24)]  # 22 has no ticket
    # the holes 13-14 and 23 may still fill: the guards let events go to 12, messages to 22
    feed = build_feed(
        events, scanned, [_message(21, T0), _message(24, T0)], after=(10, 20), ends=(12, 22), limit=100
    )
    assert [(i.source, i.id) for i in feed.items] == [("interaction", 21), ("event", 11), ("event", 12)]
    assert feed.cursor == (12, 22)


def test_a_full_batch_cuts_the_other_source_at_its_last_time() -> None:
    events = [_event(11, T0), _event(12, T0 + timedelta(seconds=1))]
    later = T0 + timedelta(seconds=5)
    scanned = [{"id": 21, "created_at": T0}, {"id": 22, "created_at": later}]
    feed = build_feed(
        events, scanned, [_message(21, T0), _message(22, later)], after=(10, 20), ends=(12, 22), limit=2
    )
    assert [(i.source, i.id) for i in feed.items] == [("interaction", 21), ("event", 11), ("event", 12)]
    assert feed.cursor == (12, 21) and not feed.waiting
