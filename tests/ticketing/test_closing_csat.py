"""Closing the loop through the real app (web chat over loopback, both engines): after a solve the
customer reads the solve message first and then the rating question with 1-5 buttons; a button's
payload or a typed rating is recorded once; "Thanks, all good now" is answered and recorded on the
ticket without reopening it, while a real follow-up still reopens it (issue 22, findings 4 and 5)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, Visitor, eventually, history, rows, send, start_session
from ticketing.models import Ticket, TicketEvent


async def _ticket(app: App, number: int) -> Any:
    [row] = await rows(app.engine, select(Ticket.id, Ticket.status, Ticket.csat_score, Ticket.csat_comment)
                       .where(Ticket.number == number))  # fmt: skip
    return row


async def _events(app: App, ticket_id: int, kind: str) -> list[dict[str, Any]]:
    stmt = select(TicketEvent.data).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    return [row.data for row in await rows(app.engine, stmt.order_by(TicketEvent.id))]


async def _solved(app: App, client: TestClient) -> tuple[Visitor, list[dict[str, Any]]]:
    """A visitor whose ticket T-1001 an agent solved; the messages that followed the solve."""
    visitor = await start_session(client)
    assert "T-1001" in (await send(client, visitor, UNHANDLED))["replies"][0]["text"]
    before = len(await history(client, visitor))
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")
    after: list[dict[str, Any]] = []

    async def both_arrived() -> bool:
        nonlocal after
        after = (await history(client, visitor))[before:]
        return len(after) >= 2

    await eventually(both_arrived)
    return visitor, after


async def test_the_solve_message_comes_first_then_the_question_with_buttons(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    _visitor, after = await _solved(app, client)
    solve, question = after[:2]
    assert solve["id"] < question["id"]
    assert "marked as solved" in solve["text"] and not solve["quick_replies"]
    assert "How did we do with T-1001" in question["text"]
    assert [(q["label"], q["payload"]) for q in question["quick_replies"]] == [
        (str(n), str(n)) for n in range(1, 6)
    ]


async def test_a_button_press_is_recorded_once(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url)
    visitor, _after = await _solved(app, client)
    body = await send(client, visitor, "4")  # what the widget sends for the "4" button
    assert [r["text"] for r in body["replies"]] == [app.ticketing.config().settings.csat.thanks]
    again = await send(client, visitor, "5")  # pressed again: thanked, not counted, not reopened
    assert [r["text"] for r in again["replies"]] == [app.ticketing.config().settings.csat.thanks]
    ticket = await _ticket(app, 1001)
    assert (ticket.csat_score, ticket.status) == (4, "solved")
    assert await _events(app, ticket.id, "csat") == [{"score": 4, "comment": None}]


async def test_typed_stars_are_a_rating(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url)
    visitor, _after = await _solved(app, client)
    body = await send(client, visitor, "⭐⭐⭐⭐ quick and friendly")
    assert [r["text"] for r in body["replies"]] == [app.ticketing.config().settings.csat.thanks]
    ticket = await _ticket(app, 1001)
    assert (ticket.csat_score, ticket.csat_comment, ticket.status) == (4, "quick and friendly", "solved")


async def test_thanks_after_a_solve_does_not_reopen_but_a_follow_up_does(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    visitor, _after = await _solved(app, client)
    body = await send(client, visitor, "Thanks, all good now")
    [reply] = body["replies"]
    assert "stays solved" in reply["text"] and "T-1001" in reply["text"]
    ticket = await _ticket(app, 1001)
    assert ticket.status == "solved"
    assert await _events(app, ticket.id, "closing") == [{"intent": "thanks"}]  # the agent sees it
    assert [e["to"] for e in await _events(app, ticket.id, "status")] == ["solved"]
    body = await send(client, visitor, "bye!")
    assert (await _ticket(app, 1001)).status == "solved"
    # A real follow-up still reopens it.
    await send(client, visitor, "it broke again, can I bring it to the shop")
    assert (await _ticket(app, 1001)).status == "open"


async def test_thanks_on_an_open_ticket_is_small_talk(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url)
    visitor = await start_session(client)
    await send(client, visitor, UNHANDLED)
    body = await send(client, visitor, "thanks a lot!")
    assert "stays solved" not in body["replies"][0]["text"]
    ticket = await _ticket(app, 1001)
    assert ticket.status in ("new", "open") and await _events(app, ticket.id, "closing") == []
