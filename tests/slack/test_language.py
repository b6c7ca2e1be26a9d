"""The customer's language in Slack (a Slack Connect shared channel): a German message gets
the German answer in its thread, stored as ``de``; "ok" keeps the conversation German."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import AppFactory
from tests.nlp.languages import (
    ANSWERS,
    GERMAN,
    SHORT,
    conversation_languages,
    inbound_languages,
    language_rulebook,
)
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import post_event
from tests.slack.test_customer_channel import CONFIG, ROOT, SHARED, add_customer, shared_message, to_channel


async def test_a_german_customer_is_answered_in_german(
    database_url: str, make_client: AppFactory, slack: FakeSlack, tmp_path: Path
) -> None:
    add_customer(slack)
    app, client = await make_client(
        database_url, extra=slack.config(**CONFIG), rulebook=language_rulebook(tmp_path / "rulebook")
    )
    resp = await post_event(client, shared_message(GERMAN, thread_ts=None, ts=ROOT))
    assert resp.status == 200, await resp.text()
    await slack.wait_for("chat.postMessage", where=to_channel(SHARED))
    assert (await post_event(client, shared_message(SHORT))).status == 200
    answers = await slack.wait_for("chat.postMessage", count=2, where=to_channel(SHARED))
    assert [a.params["text"] for a in answers] == [ANSWERS["de"], ANSWERS["de"]]
    assert all(a.params["thread_ts"] == ROOT for a in answers)
    assert await inbound_languages(app.engine) == [("de", "de"), (None, "de")]
    assert await conversation_languages(app.engine) == ["de"]
