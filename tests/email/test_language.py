"""The customer's language by email: a German mail gets the German answer, stored as ``de``."""

from __future__ import annotations

from pathlib import Path

from connectors.email import EmailConnector
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.nlp.languages import (
    ANSWERS,
    GERMAN,
    conversation_languages,
    inbound_languages,
    language_rulebook,
)


async def test_a_german_mail_is_answered_in_german(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    recorder, port = smtp
    app, _client = await make_client(
        database_url, extra=email_config(port), rulebook=language_rulebook(tmp_path / "rulebook")
    )
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    mail = make_mail(GERMAN, subject="Meine Bestellung", message_id="<de1@example.com>")
    assert (await email.ingest(mail)).outcome == "delivered"
    [reply] = await recorder.wait_for(1)
    plain = reply.get_body(("plain",))
    assert plain is not None and ANSWERS["de"] in plain.get_content()
    assert await inbound_languages(app.engine) == [("de", "de")]
    assert await conversation_languages(app.engine) == ["de"]
