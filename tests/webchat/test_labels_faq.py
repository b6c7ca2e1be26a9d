"""Issue 22 findings 6 and 7 through the real app over loopback, with the example rulebook.

6. A clarifying question offers labels ("Where is my order?"), never an intent's name, and only
   intents worth offering; a football question is not guessed at: "I didn't understand" with the
   topics and a person as buttons, no ticket yet (a ticket comes after repeated failures).
7. A paraphrase of an FAQ ("can i buy a giftcard for my brother", 0.72 fuzzily) is answered from
   the FAQ's examples, and no ticket is opened.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import App
from tests.webchat.helpers import rows, send, start_session
from ticketing.models import Ticket


def _buttons(body: dict[str, Any]) -> list[str]:
    return [q["label"] for r in body["replies"] for q in r["quick_replies"]]


async def _ticket_count(app: App) -> int:
    [(count,)] = await rows(app.engine, select(func.count()).select_from(Ticket))
    return int(count)


async def test_clarify_offers_labels_and_out_of_scope_gets_no_guess(
    app_client: tuple[App, TestClient],
) -> None:
    app, client = app_client
    visitor = await start_session(client)
    unsure = await send(client, visitor, "I have a question about my order")
    assert _buttons(unsure) == ["Where is my order?"], unsure
    assert await _ticket_count(app) == 0
    pressed = await send(client, visitor, "Where is my order?")
    assert "What's your order number?" in pressed["replies"][0]["text"], pressed

    other = await start_session(client)
    football = await send(client, other, "who won the football game yesterday")
    topics = ["Where is my order?", "Returns & refunds", "Opening hours", "Talk to a person"]
    assert _buttons(football) == topics, football
    said = " ".join(r["text"] for r in football["replies"])
    assert "Did you mean" not in said and "didn't" in said, said  # the variants' words vary
    assert await _ticket_count(app) == 0
    again = await send(client, other, "who won the match")
    assert "didn't" in " ".join(r["text"] for r in again["replies"]), again
    third = await send(client, other, "blorp")  # the third: the team gets a ticket
    assert "T-1001" in " ".join(r["text"] for r in third["replies"]), third
    [(tags,)] = await rows(app.engine, select(Ticket.tags))
    assert tags == ["bot-fallback"]


async def test_a_paraphrased_faq_is_answered(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    body = await send(client, visitor, "can i buy a giftcard for my brother")
    assert "gift cards from 10 to 200 EUR" in body["replies"][0]["text"], body
    assert await _ticket_count(app) == 0
