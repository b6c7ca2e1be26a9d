"""The customer's language on Telegram: the text's detected language beats the client's
``language_code`` (here ``en``), and a short "ok" keeps the conversation's."""

from __future__ import annotations

from pathlib import Path

from connectors.telegram.connector import SECRET_HEADER
from tests.conftest import AppFactory
from tests.nlp.languages import (
    ANSWERS,
    GERMAN,
    SHORT,
    conversation_languages,
    inbound_languages,
    language_rulebook,
)
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.updates import CUSTOMER, message

SECRET = "hook-secret_1"


async def test_a_german_message_is_answered_in_german(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    assert CUSTOMER["language_code"] == "en"  # the hint detection overrules
    app, client = await make_client(
        database_url, extra=api.config(mode="webhook"), rulebook=language_rulebook(tmp_path / "rulebook")
    )
    for n, text in enumerate((GERMAN, SHORT), start=1):
        resp = await client.post("/telegram/webhook", json=message(text), headers={SECRET_HEADER: SECRET})
        assert resp.status == 200, await resp.text()
        await api.wait_for("sendMessage", count=n)
    assert [c.params["text"] for c in api.calls_to("sendMessage")] == [ANSWERS["de"], ANSWERS["de"]]
    assert await inbound_languages(app.engine) == [("de", "de"), (None, "de")]
    assert await conversation_languages(app.engine) == ["de"]


async def test_without_detection_the_clients_language_code_is_the_hint(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    app, client = await make_client(
        database_url, extra=api.config(mode="webhook"), rulebook=language_rulebook(tmp_path / "rulebook")
    )
    french = {**CUSTOMER, "language_code": "fr-CA"}
    resp = await client.post(
        "/telegram/webhook", json=message(SHORT, user=french), headers={SECRET_HEADER: SECRET}
    )
    assert resp.status == 200, await resp.text()
    [call] = await api.wait_for("sendMessage")
    assert call.params["text"] == ANSWERS["fr"]
    assert await inbound_languages(app.engine) == [(None, "fr")]
    assert await conversation_languages(app.engine) == ["fr"]
