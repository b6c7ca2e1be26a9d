"""``frontdesk email ingest`` with several mails sends every reply before it exits (hardening
issue, bug 6): the background dispatcher's round in progress is finished at shutdown, not
cancelled with claimed rows left ``sending``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.email import EmailConnector
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder, smtp_server
from tests.email.test_cli import _in_thread
from tests.webchat.helpers import count, eventually
from ticketing.models import OutboxItem

MAILS = 6
ROOT = Path(__file__).resolve().parents[2]


class SlowSmtp(SmtpRecorder):
    """A real SMTP server that takes a while to accept each mail, as a busy relay does: the
    dispatcher's background round is still sending when the last mail has been ingested."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0.3)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def slow_smtp() -> AsyncIterator[tuple[SlowSmtp, int]]:
    recorder = SlowSmtp()
    async with smtp_server(recorder) as port:
        yield recorder, port


async def test_ingest_of_several_mails_sends_every_reply_before_it_exits(
    sqlite_url: str, tmp_path: Path, slow_smtp: tuple[SlowSmtp, int]
) -> None:
    recorder, port = slow_smtp
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {sqlite_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n"
        f"webchat:\n  secret_key: test-secret-key-0123456789abcdef\n{email_config(port)}"
    )
    files = []
    for n in range(MAILS):
        path = tmp_path / f"mail-{n}.eml"
        path.write_bytes(
            make_mail(
                "what are your opening hours?",
                sender=f"customer{n}@example.com",
                message_id=f"<drain-{n}@example.com>",
            )
        )
        files.append(str(path))
    assert await _in_thread(["--config", str(config), "email", "ingest", *files]) == 0
    engine = create_async_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            states = (await conn.execute(select(OutboxItem.state))).scalars().all()
    finally:
        await engine.dispose()
    assert sorted(states) == ["sent"] * MAILS
    assert len(recorder.mails) == MAILS  # accepted by the server before the command returned


async def test_stop_finishes_the_round_in_progress(
    database_url: str, make_client: AppFactory, slow_smtp: tuple[SlowSmtp, int]
) -> None:
    """The dispatcher is stopped while it is sending a claimed reply: the reply is delivered
    and recorded as sent, instead of being cancelled and left ``sending`` until its lease
    runs out (and then sent a second time)."""
    recorder, port = slow_smtp
    app, _client = await make_client(database_url, extra=email_config(port))
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    await email.ingest(make_mail("what are your opening hours?", message_id="<stop-1@example.com>"))

    async def claimed() -> bool:
        return await count(app.engine, OutboxItem, OutboxItem.state == "sending") == 1

    await eventually(claimed)  # the background round holds the row and is talking to SMTP
    await app.dispatcher.stop()
    assert await count(app.engine, OutboxItem, OutboxItem.state == "sent") == 1
    assert len(recorder.mails) == 1
