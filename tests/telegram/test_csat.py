"""A solved ticket on Telegram, through the real app and the fake Bot API: the solve message goes
out first and the rating question after it with an inline keyboard of 1-5 (in order even when
Telegram refuses the first send for a moment); a button press is recorded once, "thanks" after
the solve keeps the ticket solved, and the old keyboard still rates after that."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.telegram.fake_api import BOT_USER, FakeBotApi
from tests.telegram.test_webhook import post
from tests.telegram.updates import CUSTOMER, button, message
from tests.webchat.helpers import rows
from ticketing.models import Ticket, TicketEvent

# A request the example rulebook has no rule for (change_address): the fallback opens a ticket
# on the first message. An unclear message ("can I bring my dog to the shop") gets clarify's
# "I didn't understand" first, and a ticket only from the third.
UNHANDLED = "I need to change my delivery address"


def _bot_message(call: Any, message_id: int) -> dict[str, Any]:
    """The message as Telegram shows it in a callback query, built from our sendMessage call."""
    return {
        "message_id": message_id,
        "date": 1_700_000_000,
        "from": BOT_USER,
        "chat": {"id": CUSTOMER["id"], "type": "private"},
        "text": call.params["text"],
        "reply_markup": call.json("reply_markup"),
    }


async def test_solve_message_then_rating_keyboard_and_a_press_recorded_once(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    assert (await post(client, message(UNHANDLED))).status == 200
    [opened] = await api.wait_for("sendMessage")
    assert "T-1001" in opened.params["text"]
    api.fail_sends = 1  # Telegram refuses the solve message once: the question must still follow it
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")
    calls = await api.wait_for("sendMessage", 4)
    refused, solve, question = calls[1:]
    assert "marked as solved" in refused.params["text"]
    assert "marked as solved" in solve.params["text"]
    assert "How did we do with T-1001" in question.params["text"]
    keyboard = question.json("reply_markup")["inline_keyboard"]
    assert [[(b["text"], b["callback_data"]) for b in row] for row in keyboard] == [
        [(str(n), str(n)) for n in range(1, 6)]
    ]
    press = _bot_message(question, 9300)
    assert (await post(client, button("4", bot_message=press))).status == 200
    [_, _, _, _, thanks] = await api.wait_for("sendMessage", 5)
    assert thanks.params["text"] == app.ticketing.config().settings.csat.thanks
    assert (await post(client, button("4", bot_message=press))).status == 200  # pressed again
    await api.wait_for("sendMessage", 6)
    [ticket] = await rows(app.engine, select(Ticket.id, Ticket.status, Ticket.csat_score))
    assert (ticket.status, ticket.csat_score) == ("solved", 4)
    ratings = select(TicketEvent.data).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "csat")
    assert [r.data for r in await rows(app.engine, ratings)] == [{"score": 4, "comment": None}]


async def test_thanks_after_a_solve_keeps_the_ticket_solved(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    assert (await post(client, message(UNHANDLED))).status == 200
    await api.wait_for("sendMessage")
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")
    [*_, question] = await api.wait_for("sendMessage", 3)
    assert (await post(client, message("thanks, all good now"))).status == 200
    [*_, closing] = await api.wait_for("sendMessage", 4)
    assert "stays solved" in closing.params["text"]
    [ticket] = await rows(app.engine, select(Ticket.status))
    assert ticket.status == "solved"
    # The thanks dropped the question, but Telegram keeps its keyboard: a press still rates.
    assert (await post(client, button("3", bot_message=_bot_message(question, 9400)))).status == 200
    [*_, thanks] = await api.wait_for("sendMessage", 5)
    assert thanks.params["text"] == app.ticketing.config().settings.csat.thanks
    [ticket] = await rows(app.engine, select(Ticket.status, Ticket.csat_score))
    assert (ticket.status, ticket.csat_score) == ("solved", 3)
