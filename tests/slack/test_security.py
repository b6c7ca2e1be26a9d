"""Every request's signature is verified: forged or stale requests get 401 and change nothing."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.slack.fake_api import SIGNING_SECRET, FakeSlack, signed
from tests.slack.helpers import PATH, is_card, start
from tests.slack.payloads import button, thread_message
from tests.webchat.helpers import count, send, start_session
from ticketing.models import InboundDedup, Interaction, TicketEvent


async def test_forged_stale_or_unsigned_requests_are_refused(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    await send(client, visitor, "I want to talk to a human")
    await slack.wait_for("chat.postMessage", where=is_card)
    events_before = await count(app.engine, TicketEvent)
    body = json.dumps(thread_message("forged reply", thread_ts="1700000000.000001"))
    now = int(time.time())
    attempts = [
        {},  # unsigned
        signed(body, secret="not-the-signing-secret"),  # forged
        signed(body, timestamp=now - 6 * 60),  # stale: outside the 5-minute window
        signed(body, timestamp=now + 6 * 60),  # from the future
        {**signed(body), "X-Slack-Signature": "v0=" + "0" * 64},
    ]
    for headers in attempts:
        resp = await client.post(PATH, data=body, headers={"Content-Type": "application/json", **headers})
        assert resp.status == 401
        assert SIGNING_SECRET not in await resp.text()
    form = "payload=" + json.dumps(button("ticket_resolve", 1))
    resp = await client.post(PATH, data=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                        **signed(form, secret="wrong")})  # fmt: skip
    assert resp.status == 401
    assert await count(app.engine, TicketEvent) == events_before
    assert await count(app.engine, Interaction, Interaction.text == "forged reply") == 0
    assert await count(app.engine, InboundDedup, InboundDedup.channel == "slack") == 0
    async with app.engine.connect() as conn:
        statuses = (await conn.execute(select(TicketEvent.kind))).scalars().all()
    assert "status" not in statuses


async def test_url_verification_answers_the_challenge(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    _app, client = await start(database_url, make_client, slack)
    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})  # fmt: skip
    resp = await client.post(PATH, data=body, headers={"Content-Type": "application/json", **signed(body)})
    assert resp.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await resp.text()
