"""Mails that share a Message-ID are one mail only when sender and content match too (hardening
issue, bug 7): Message-IDs are the sender's to choose, so a different mail that reuses one is
answered like any other, and what is skipped says why."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.email.test_app import HOURS, start
from tests.webchat.helpers import count
from ticketing.models import Interaction, OutboxItem

SHARED = "<same-id@example.com>"


async def test_different_mails_sharing_a_message_id_are_each_answered(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    first = await email.ingest(make_mail(HOURS, sender="ada@example.com", message_id=SHARED))
    other_sender = await email.ingest(
        make_mail(HOURS, sender="grace@example.com", name="Grace Hopper", message_id=SHARED)
    )
    other_text = await email.ingest(
        make_mail("do you ship to Norway?", sender="ada@example.com", message_id=SHARED)
    )
    assert [r.outcome for r in (first, other_sender, other_text)] == ["delivered"] * 3
    assert len({first.interaction_id, other_sender.interaction_id, other_text.interaction_id}) == 3
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 3
    replies = await recorder.wait_for(3)
    assert sorted(r["To"] for r in replies) == [
        "ada@example.com", "ada@example.com", "grace@example.com"
    ]  # fmt: skip


async def test_the_same_mail_again_is_skipped_and_says_why(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    _recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    raw = make_mail(HOURS, message_id=SHARED)
    first = await email.ingest(raw)
    again = await email.ingest(raw)
    assert again.outcome == "duplicate"
    assert again.interaction_id == first.interaction_id
    assert again.detail == f"same Message-ID, sender and content as interaction {first.interaction_id}"
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 1
    assert await count(app.engine, OutboxItem) == 1
