"""A file a visitor sends from the widget (multipart ``POST /api/v1/messages``) is uploaded into
the ticket's Slack thread like any channel's customer file, once, even when the visitor retries."""

from __future__ import annotations

import aiohttp

from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_ts, in_thread, is_card, start
from tests.webchat.helpers import send, start_session

HUMAN = "I want to talk to a human about my broken parcel"
PNG = b"\x89PNG\r\n\x1a\n a photo of the broken parcel"


async def test_widget_file_is_shared_into_the_ticket_thread_once(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)

    for _ in range(2):  # the visitor's retry of the same message (a lost answer)
        form = aiohttp.FormData()
        form.add_field("client_message_id", "photo-1")
        form.add_field("text", "here is a photo")
        form.add_field("files", PNG, filename="parcel.png", content_type="image/png")
        resp = await client.post("/api/v1/messages", data=form, headers=visitor.auth)
        assert resp.status == 200, await resp.text()

    await slack.wait_for("chat.postMessage", where=in_thread(ts, "here is a photo"))
    [shared] = await slack.wait_for_shared()
    assert (shared.channel, shared.thread_ts, shared.title) == ("C0SUPPORT", ts, "parcel.png")
    assert shared.data == PNG
    assert len(slack.shared) == 1
