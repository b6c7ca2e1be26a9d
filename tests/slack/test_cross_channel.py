"""Across channels: a Telegram customer → ticket card in Slack → the customer's next message in
the thread → an agent's reply in the thread → the customer's Telegram chat, with the agent's name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.telegram.connector import SECRET_HEADER
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_fields, card_ts, in_thread, is_card, post_event
from tests.slack.payloads import thread_message
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.updates import CUSTOMER, message
from tests.webchat.helpers import count, eventually
from ticketing.models import Interaction

HUMAN = "I want to talk to a human about my broken parcel"
REPLY = "Hi, Alice here. Your refund is on its way."
SECRET = "hook-secret_1"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


async def test_telegram_customer_to_slack_card_to_agent_reply_on_telegram(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    app, client = await make_client(
        database_url, extra=slack.config() + telegram.config(mode="webhook", secret=SECRET)
    )
    await app.ticketing.roster.add_agent("alice", queues=["support"], display_name="Alice Agent")
    await app.accounts.add("alice", role=Role.AGENT, password="correct horse battery")

    async def customer_writes(text: str) -> None:
        resp = await client.post("/telegram/webhook", json=message(text), headers={SECRET_HEADER: SECRET})
        assert resp.status == 200, await resp.text()

    await customer_writes(HUMAN)
    [card] = await slack.wait_for("chat.postMessage", where=is_card)
    assert card.params["channel"] == "C0SUPPORT"
    assert "broken parcel" in card_fields(card)
    ts = await card_ts(app)

    # Handed off: the customer's next Telegram message is mirrored into the ticket's thread.
    await customer_writes("are you there?")
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "are you there?"))

    # The agent answers in the thread: the customer's Telegram chat gets it, with her name.
    assert (await post_event(client, thread_message(REPLY, thread_ts=ts))).status == 200

    async def delivered() -> bool:
        return any(REPLY in c.params["text"] for c in telegram.calls_to("sendMessage"))

    await eventually(delivered)
    [sent] = [c for c in telegram.calls_to("sendMessage") if REPLY in c.params["text"]]
    assert sent.params["chat_id"] == str(CUSTOMER["id"])
    assert sent.params["text"] == f"Alice Agent:\n{REPLY}"
    assert sent.json("entities") == [{"type": "bold", "offset": 0, "length": len("Alice Agent:")}]
    assert await count(app.engine, Interaction, Interaction.text == REPLY) == 1
