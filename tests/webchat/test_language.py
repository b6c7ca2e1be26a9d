"""The customer's language on the web chat: detected per message, kept by the conversation.

A German message is answered with the German variant and stored as ``de`` on its interaction
and its conversation; "ok" says nothing about its language, so the conversation stays German;
an English sentence turns it English.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import AppFactory
from tests.nlp.languages import (
    ANSWERS,
    ENGLISH,
    GERMAN,
    SHORT,
    conversation_languages,
    inbound_languages,
    language_rulebook,
)
from tests.webchat.helpers import eventually, history, new_id, send, start_session


async def test_replies_follow_the_customers_language(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, rulebook=language_rulebook(tmp_path / "rulebook"))
    visitor = await start_session(client)
    said = []
    for text in (GERMAN, SHORT, ENGLISH):
        body = await send(client, visitor, text)
        said.append([reply["text"] for reply in body["replies"]])
    assert said == [[ANSWERS["de"]], [ANSWERS["de"]], [ANSWERS["en"]]]
    assert await inbound_languages(app.engine) == [("de", "de"), (None, "de"), ("en", "en")]
    assert await conversation_languages(app.engine) == ["en"]


async def test_a_short_first_message_gets_the_default_language(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, rulebook=language_rulebook(tmp_path / "rulebook"))
    visitor = await start_session(client)
    body = await send(client, visitor, "T-1042")
    assert [reply["text"] for reply in body["replies"]] == [ANSWERS["en"]]
    assert await inbound_languages(app.engine) == [(None, "en")]
    assert await conversation_languages(app.engine) == ["en"]


async def test_the_browsers_language_is_the_hint(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    """``language`` in the message body: used while the text says nothing; the text wins."""
    app, client = await make_client(database_url, rulebook=language_rulebook(tmp_path / "rulebook"))
    visitor = await start_session(client)
    said = []
    for text in (SHORT, GERMAN):
        resp = await client.post(
            "/api/v1/messages",
            json={"client_message_id": new_id(), "text": text, "language": "fr-FR"},
            headers=visitor.auth,
        )
        assert resp.status == 200, await resp.text()
        said.append([reply["text"] for reply in (await resp.json())["replies"]])
    assert said == [[ANSWERS["fr"]], [ANSWERS["de"]]]
    assert await inbound_languages(app.engine) == [(None, "fr"), ("de", "de")]
    bad = {"client_message_id": new_id(), "text": "hi", "language": "<script>"}
    assert (await client.post("/api/v1/messages", json=bad, headers=visitor.auth)).status == 422


async def test_replies_about_the_ticket_are_in_the_conversations_language(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    """An ``event: ticket`` rule has no message to detect: it answers in the conversation's."""
    rulebook = language_rulebook(tmp_path / "rulebook", tickets=True)
    app, client = await make_client(database_url, rulebook=rulebook)
    visitor = await start_session(client)
    assert [r["text"] for r in (await send(client, visitor, GERMAN))["replies"]] == [ANSWERS["de"]]
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")

    async def told() -> bool:
        return [m["text"] for m in await history(client, visitor) if m["direction"] == "out"][:2] == [
            ANSWERS["de"],
            ANSWERS["de"],
        ]

    await eventually(told)
