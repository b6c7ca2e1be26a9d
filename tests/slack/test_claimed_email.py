"""A ticket card shows an email the customer only typed in web chat as unverified, so an agent
never takes it for the customer's address (it is what ``customer-verify-email`` confirms)."""

from __future__ import annotations

import json

from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_fields, is_card, start
from tests.webchat.helpers import send, start_session


async def test_card_marks_a_claimed_email_unverified(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    _app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    resp = await client.post(
        "/api/v1/identify", json={"name": "Ada", "email": "ada@example.com"}, headers=visitor.auth
    )
    assert resp.status == 200, await resp.text()
    await send(client, visitor, "I want to talk to a human")
    [card] = await slack.wait_for("chat.postMessage", where=is_card)
    shown = "Ada · ada@example.com (unverified)"
    assert shown in card.params["text"]
    assert json.dumps(shown)[1:-1] in card_fields(card)  # the Customer field, as JSON has it
