"""Long-polling mode end to end: the real app polls the fake Bot API and answers through it."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.updates import message
from tests.webchat.helpers import count, eventually, rows
from ticketing.models import ChannelCursor, Interaction

HOURS = "what are your opening hours?"


async def test_polled_update_is_answered_and_the_offset_is_saved(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, _client = await make_client(database_url, extra=api.config(mode="polling"))
    first = message(HOURS, update_id=5001)
    await api.queue_update(first)
    await api.queue_update(first)  # Telegram sent it twice
    await api.queue_update(message("hello there", update_id=5002))
    calls = await api.wait_for("sendMessage", 2)
    assert "Monday to Friday" in calls[0].params["text"]
    assert api.calls_to("deleteWebhook")

    async def offset_saved() -> bool:
        cursor = await rows(
            app.engine, select(ChannelCursor.value).where(ChannelCursor.channel == "telegram")
        )
        return bool(cursor) and cursor[0].value == {"offset": 5003}

    await eventually(offset_saved)
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 2


async def test_a_restarted_poller_resumes_from_the_saved_offset(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    first, client = await make_client(database_url, extra=api.config(mode="polling"))
    await api.queue_update(message(HOURS, update_id=6001))
    await api.wait_for("sendMessage")

    async def offset_saved() -> bool:
        cursor = await rows(
            first.engine, select(ChannelCursor.value).where(ChannelCursor.channel == "telegram")
        )
        return bool(cursor) and cursor[0].value == {"offset": 6002}

    await eventually(offset_saved)
    await client.close()  # the process stops
    before = len(api.calls_to("getUpdates"))
    second, _client = await make_client(database_url, extra=api.config(mode="polling"))
    calls = await api.wait_for("getUpdates", before + 1)
    assert calls[before].params["offset"] == "6002"
    await api.queue_update(message("and shipping costs?", update_id=6002))
    await api.wait_for("sendMessage", 2)
    assert await count(second.engine, Interaction, Interaction.direction == "in") == 2
