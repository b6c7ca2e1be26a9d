"""The IMAP poller against a real Dovecot, replies through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import aioimaplib
import pytest
from sqlalchemy import select

from bot.app import App
from connectors.email import EmailConnector
from connectors.email.imap import ImapPoller
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import PASSWORD, USER, Dovecot, SmtpRecorder
from tests.webchat.helpers import count, eventually, rows
from ticketing.models import ChannelCursor, Interaction, OutboxItem

HOURS = "what are your opening hours?"


class ProcessKilled(BaseException):
    """Stands for SIGKILL: nothing of the poller runs after it (BaseException: no handler catches it)."""


async def imap_client(dovecot: Dovecot) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=dovecot.port)
    await client.wait_hello_from_server()
    assert (await client.login(USER, PASSWORD)).result == "OK"
    return client


async def append(dovecot: Dovecot, raw: bytes) -> None:
    client = await imap_client(dovecot)
    assert (await client.append(raw, mailbox="INBOX")).result == "OK"
    await client.logout()


async def seen(dovecot: Dovecot) -> list[bool]:
    client = await imap_client(dovecot)
    await client.select("INBOX")
    response = await client.uid("fetch", "1:*", "(FLAGS)")
    await client.logout()
    return [b"\\Seen" in bytes(line) for line in response.lines if b"FETCH" in bytes(line)]


async def test_poller_answers_new_mail_and_flags_it(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], dovecot: Dovecot
) -> None:
    recorder, port = smtp
    await append(dovecot, make_mail(HOURS, message_id="<imap-1@example.com>"))
    app, _client = await make_client(database_url, extra=email_config(port, imap=dovecot.config()))
    [reply] = await recorder.wait_for(1)
    assert reply["In-Reply-To"] == "<imap-1@example.com>"
    assert "Monday to Friday" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # A mail arriving while the poller waits (IDLE) is picked up too.
    await append(dovecot, make_mail("how much is shipping?", message_id="<imap-2@example.com>"))
    await recorder.wait_for(2)

    async def flagged() -> bool:
        return await seen(dovecot) == [True, True]

    await eventually(flagged)
    [cursor] = await rows(app.engine, select(ChannelCursor.value).where(ChannelCursor.channel == "email"))
    assert cursor.value["last_uid"] == 2 and cursor.value["uidvalidity"] > 0


async def test_killed_between_fetch_and_flag_loses_and_duplicates_nothing(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], dovecot: Dovecot
) -> None:
    recorder, port = smtp
    app, _client = await make_client(
        database_url, extra=email_config(port, imap=dovecot.config(), extra="  poll: false\n")
    )
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector) and email.poller is not None
    await append(dovecot, make_mail(HOURS, message_id="<crash-1@example.com>"))

    async def ingest_then_die(raw: bytes) -> object:
        await email.ingest(raw)  # fetched and committed...
        raise ProcessKilled  # ...and the process dies before the next line of the poller runs

    doomed = ImapPoller(settings=app.settings.email.imap, backend=email._backend, handle=ingest_then_die)  # type: ignore[union-attr]
    with pytest.raises(ProcessKilled):
        await doomed.poll_once()
    assert await seen(dovecot) == [False]  # never flagged
    assert await count(app.engine, ChannelCursor, ChannelCursor.channel == "email") == 0  # not advanced
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 1

    assert await email.poller.poll_once() == 1  # the restarted poller reads it again
    assert await seen(dovecot) == [True]
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 1
    await _all_sent(app)
    assert len(recorder.mails) == 1
    assert await email.poller.poll_once() == 0  # and nothing is left


async def _all_sent(app: App) -> None:
    async def done() -> bool:
        return await count(app.engine, OutboxItem, OutboxItem.state != "sent") == 0

    await eventually(done)
