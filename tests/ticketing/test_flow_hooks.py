"""Ticket lifecycle through the real conversation flow (web chat over loopback, both engines):
a customer reply reopens a solved ticket, and a solved ticket's satisfaction question takes the
customer's next message as its answer instead of running the rules."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, eventually, rows, send, start_session
from ticketing.models import Ticket


async def _ticket(app, number: int):  # type: ignore[no-untyped-def]
    [row] = await rows(app.engine, select(Ticket.status, Ticket.csat_score, Ticket.csat_comment).where(
        Ticket.number == number))  # fmt: skip
    return row


async def test_csat_answer_is_recorded_and_thanked(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url)
    visitor = await start_session(client)
    assert "T-1001" in (await send(client, visitor, UNHANDLED))["replies"][0]["text"]
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")

    async def asked() -> bool:  # the question goes out on the customer's own channel
        history = await client.get("/api/v1/messages", headers=visitor.auth)
        return any(
            "T-1001" in m["text"] and m["direction"] == "out" for m in (await history.json())["messages"][2:]
        )

    await eventually(asked)
    body = await send(client, visitor, "5 - quick and friendly")
    assert [r["text"] for r in body["replies"]] == [app.ticketing.config().settings.csat.thanks]
    ticket = await _ticket(app, 1001)
    assert ticket.csat_score == 5 and "friendly" in (ticket.csat_comment or "")
    assert ticket.status == "solved"  # a rating is not a reply: the ticket stays solved


async def test_customer_reply_reopens_a_solved_ticket(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url, extra="tickets: {scheduler: false}")
    visitor = await start_session(client)
    await send(client, visitor, UNHANDLED)
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")
    assert (await _ticket(app, 1001)).status == "solved"
    # Not a rating: the satisfaction question is dropped and the message is a reply on the ticket.
    await send(client, visitor, "it broke again, can I bring it to the shop")
    ticket = await _ticket(app, 1001)
    assert ticket.status == "open" and ticket.csat_score is None
