"""The whole path: a web chat customer → ticket card in Slack → agent reply in the thread →
the customer sees it in web chat, with retries, echoes and outages along the way."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_fields, card_ts, in_thread, is_card, post_event, start
from tests.slack.payloads import load, thread_message
from tests.webchat.helpers import count, eventually, history, send, start_session
from ticketing.models import Interaction, OutboxItem, TicketEvent

HUMAN = "I want to talk to a human about my broken parcel"
REPLY = "Hi, Alice here. Your refund is on its way."


async def test_customer_to_card_to_agent_reply_to_customer(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)

    [card] = await slack.wait_for("chat.postMessage", where=is_card)
    assert card.params["channel"] == "C0SUPPORT"
    assert "broken parcel" in card_fields(card)
    assert "ticket_claim" in card_fields(card) and "ticket_priority" in card_fields(card)
    assert card.accepted
    ts = await card_ts(app)

    # The customer writes again while handed off: mirrored into the thread.
    await send(client, visitor, "are you there?")
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "are you there?"))

    # The agent answers in the thread; Slack retries the same event: one reply only.
    event = thread_message(REPLY, thread_ts=ts)
    assert (await post_event(client, event)).status == 200
    assert (
        await post_event(client, event, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    ).status == 200

    async def customer_sees_it() -> bool:
        return any(m["text"] == REPLY for m in await history(client, visitor))

    await eventually(customer_sees_it)
    [agent_message] = [m for m in await history(client, visitor) if m["text"] == REPLY]
    assert agent_message["sender"] == "agent" and agent_message["sender_name"] == "Alice Agent"
    assert await count(app.engine, Interaction, Interaction.text == REPLY) == 1
    assert await count(app.engine, OutboxItem, OutboxItem.state == "sent") >= 1

    # Frontdesk's own posts coming back as events change nothing.
    echo = load("event_message_bot")
    echo["event"]["thread_ts"] = ts
    assert (await post_event(client, echo)).status == 200
    # The card was updated in place (first reply), and the reply was never echoed into the thread.
    await slack.wait_for("chat.update", where=lambda c: c.params["ts"] == ts)
    await send(client, visitor, "thanks!")
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "thanks!"))
    assert not slack.calls_to("chat.postMessage", where=in_thread(ts, "refund is on its way"))
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 3


async def test_note_is_never_sent_to_the_customer(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    resp = await post_event(client, thread_message("note: customer called twice, be kind", thread_ts=ts))
    assert resp.status == 200
    async with app.engine.connect() as conn:
        notes = (
            (
                await conn.execute(
                    select(TicketEvent.data).where(
                        TicketEvent.kind == "note", TicketEvent.actor.not_like("rule:%")
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [n["text"] for n in notes] == ["customer called twice, be kind"]
    assert all("customer called" not in m["text"] for m in await history(client, visitor))
    assert await count(app.engine, Interaction, Interaction.text.contains("customer called")) == 0


async def test_slack_outage_and_rate_limit_delay_but_lose_nothing(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    slack.outage("chat.postMessage", times=2)
    slack.rate_limit("chat.postMessage", times=1, retry_after="0")
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    slack.rate_limit("chat.postMessage", times=2, retry_after="0")
    for text in ("alpha", "bravo", "charlie"):
        await send(client, visitor, text)
    for text in ("alpha", "bravo", "charlie"):
        await slack.wait_for("chat.postMessage", where=in_thread(ts, text))
    cards = slack.calls_to("chat.postMessage", where=is_card)
    assert [c.accepted for c in cards] == [False, False, False, True]  # 503, 503, 429, then posted
    for text in ("alpha", "bravo", "charlie"):  # each posted exactly once, in order
        assert (
            len(
                slack.calls_to("chat.postMessage", where=lambda c, t=text: c.accepted and in_thread(ts, t)(c))
            )
            == 1
        )
    posted = [c.params["text"] for c in slack.calls_to("chat.postMessage", where=in_thread(ts)) if c.accepted]
    order = [next(i for i, p in enumerate(posted) if t in p) for t in ("alpha", "bravo", "charlie")]
    assert order == sorted(order)
