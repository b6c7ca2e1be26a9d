"""A mail through the real app (``EmailConnector.ingest``, as the poller calls it) → SMTP reply."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select

from connectors.email import EmailConnector
from tests.conftest import AppFactory
from tests.email.conftest import SUPPORT, email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import count, eventually, rows
from ticketing.models import Conversation, Interaction, OutboxItem, Ticket
from ticketing.time import utcnow

HOURS = "what are your opening hours?"


async def start(database_url: str, make_client: AppFactory, smtp_port: int, extra: str = ""):  # type: ignore[no-untyped-def]
    app, _client = await make_client(database_url, extra=email_config(smtp_port, extra=extra))
    connector = app.connectors["email"]
    assert isinstance(connector, EmailConnector)
    return app, connector


async def test_new_mail_gets_a_threaded_reply(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    result = await email.ingest(make_mail(HOURS, subject="Opening hours?", message_id="<q1@example.com>"))
    assert result.outcome == "delivered"
    [reply] = await recorder.wait_for(1)
    assert reply["To"] == "ada@example.com"
    assert reply["From"].addresses[0].addr_spec == SUPPORT
    assert reply["Subject"] == "Re: Opening hours?"
    assert reply["In-Reply-To"] == "<q1@example.com>"
    assert "<q1@example.com>" in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply.get_content_type() == "multipart/alternative"
    plain = reply.get_body(("plain",))
    html = reply.get_body(("html",))
    assert plain is not None and "Monday to Friday" in plain.get_content()
    assert html is not None and "Monday to Friday" in html.get_content()

    async def recorded() -> bool:  # the outbox keeps the Message-ID it sent (threading lookups use it)
        return [r.external_id for r in await rows(app.engine, select(OutboxItem.external_id))] == [
            reply["Message-ID"]
        ]

    await eventually(recorded)


async def test_duplicate_mail_is_answered_once(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    _recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    raw = make_mail(HOURS)
    assert (await email.ingest(raw)).outcome == "delivered"
    assert (await email.ingest(raw)).outcome == "duplicate"
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 1
    assert await count(app.engine, OutboxItem) == 1


async def test_replies_to_our_reply_and_ticket_references_stay_in_the_thread(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    await email.ingest(make_mail(HOURS, subject="Opening hours", message_id="<root@example.com>"))
    [first] = await recorder.wait_for(1)
    # A client that keeps only In-Reply-To (no References) still lands in the same conversation.
    await email.ingest(make_mail("thanks!", subject="Re: Opening hours", in_reply_to=first["Message-ID"]))
    # A ticket on that conversation (whichever rule opened it) ...
    [(conversation_id, customer_id)] = await rows(
        app.engine, select(Conversation.id, Conversation.customer_id)
    )
    now = utcnow()
    async with app.engine.begin() as conn:
        await conn.execute(
            insert(Ticket),
            {
                "number": 4242,
                "customer_id": customer_id,
                "conversation_id": conversation_id,
                "channel": "email",
                "subject": "Opening hours",
                "created_at": now,
                "updated_at": now,
            },
        )
    # ... is joined by a brand-new mail (new thread) that names it in its subject.
    await email.ingest(make_mail("one more question", subject="About [T-4242]"))
    threads = await rows(app.engine, select(Conversation.external_thread_id))
    assert [t.external_thread_id for t in threads] == ["<root@example.com>"]
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 3


async def test_auto_replies_bounces_and_lists_are_never_answered(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    _recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    noise = [
        make_mail("I am away", headers={"Auto-Submitted": "auto-replied"}),
        make_mail("away", headers={"X-Autoreply": "yes"}),
        make_mail("away", headers={"Precedence": "bulk"}),
        make_mail("news", headers={"List-Id": "<news.example.com>"}),
        make_mail("away", subject="Out of Office: Question"),
        make_mail("bounce", sender="MAILER-DAEMON@mx.example.com"),
        make_mail("loop", sender=SUPPORT),
    ]
    outcomes = [await email.ingest(raw) for raw in noise]
    assert [o.outcome for o in outcomes] == ["ignored"] * len(noise)
    assert await count(app.engine, Interaction) == 0
    assert list((tmp_path / "var" / "email" / "set-aside").rglob("*.eml"))


async def test_a_looping_sender_is_rate_limited(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    _recorder, port = smtp
    app, email = await start(database_url, make_client, port, extra="  max_mails_per_sender_per_hour: 3\n")
    outcomes = [(await email.ingest(make_mail(f"ping {i}"))).outcome for i in range(5)]
    assert outcomes == ["delivered"] * 3 + ["recorded"] * 2
    assert await count(app.engine, OutboxItem) == 3
    # Over the limit: in the history (agents see them), never answered.
    stored = await rows(
        app.engine,
        select(Interaction.text, Interaction.analysis)
        .where(Interaction.direction == "in")
        .order_by(Interaction.id),
    )
    assert [r.text for r in stored] == [f"ping {i}" for i in range(5)]
    assert [r.analysis for r in stored[3:]] == [{"not_answered": "rate-limited"}] * 2


async def test_a_rate_limited_customer_mail_joins_the_conversation_and_its_ticket_unanswered(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    """Zendesk-style loop protection: the mail is on the ticket for the agent, the bot is silent
    (no reply, no CSAT thanks, the solved ticket stays solved), it is recorded once however
    often it is read, and nothing is set aside."""
    recorder, port = smtp
    app, email = await start(database_url, make_client, port, extra="  max_mails_per_sender_per_hour: 1\n")
    first = make_mail(
        "my jacket arrived with a broken zipper", subject="Broken zipper", message_id="<z1@example.com>"
    )
    assert (await email.ingest(first)).outcome == "delivered"  # the fallback opened T-1001
    [reply] = await recorder.wait_for(1)
    await app.ticketing.desk.solve(1001, actor="agent:alice")  # mails the CSAT question, and
    # the rulebook's ticket_solved rule its notice within a poll of the ticket rules (0.5 s)
    await recorder.wait_for(3)
    follow_up = make_mail(
        "here is a photo of the zipper, please hurry",
        subject="Re: Broken zipper [T-1001]",
        message_id="<z2@example.com>",
        in_reply_to=reply["Message-ID"],
    )
    result = await email.ingest(follow_up)
    assert (result.outcome, result.detail) == ("recorded", "rate-limited")
    assert (await email.ingest(follow_up)).outcome == "duplicate"  # read again after a crash
    [(ticket_id,)] = await rows(app.engine, select(Ticket.id))
    stored = await rows(
        app.engine,
        select(Interaction.conversation_id, Interaction.ticket_id, Interaction.external_message_id)
        .where(Interaction.direction == "in")
        .order_by(Interaction.id),
    )
    assert [r.external_message_id for r in stored] == ["<z1@example.com>", "<z2@example.com>"]
    assert {r.conversation_id for r in stored} == {stored[0].conversation_id}
    assert stored[1].ticket_id == ticket_id
    assert (await app.ticketing.desk.get(1001))["status"] == "solved"  # not reopened
    # reply, CSAT question, solved notice; nothing for the rate-limited mail
    assert await count(app.engine, Interaction, Interaction.direction == "out") == 3
    assert await count(app.engine, OutboxItem) == 3
    assert not (tmp_path / "var" / "email" / "set-aside" / "rate-limited").exists()


async def test_unparseable_mail_is_quarantined_not_dropped(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    _recorder, port = smtp
    _app, email = await start(database_url, make_client, port)
    raw = b"Subject: no sender here\n\nwho wrote this?\n"
    result = await email.ingest(raw)
    assert result.outcome == "quarantined"
    [kept] = list((tmp_path / "var" / "email" / "quarantine").glob("*.eml"))
    assert kept.read_bytes() == raw
    assert "no sender" in kept.with_suffix(".json").read_text()


async def test_attachments_and_raw_mail_are_stored(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    _recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    raw = (Path(__file__).parent / "corpus" / "frontdesk" / "attachment-rfc2231.eml").read_bytes()
    assert (await email.ingest(raw)).outcome == "delivered"
    [(text, attachments)] = await rows(
        app.engine, select(Interaction.text, Interaction.attachments).where(Interaction.direction == "in")
    )
    assert text == "Bonjour, la facture ci-jointe est fausse."
    pdf, original = attachments
    assert (pdf["filename"], pdf["content_type"]) == ("facture n°1.pdf", "application/pdf")
    assert (tmp_path / "var" / pdf["storage_key"]).read_bytes().startswith(b"%PDF-1.4")
    assert (tmp_path / "var" / original["storage_key"]).read_bytes() == raw


async def test_reply_carries_the_whole_references_chain_and_the_ticket_in_its_subject(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    _app, email = await start(database_url, make_client, port)
    mail = make_mail(
        "my jacket arrived with a broken zipper",
        subject="Broken zipper",
        message_id="<third@example.com>",
        in_reply_to="<second@example.com>",
        references="<root@example.com> <second@example.com>",
        headers={"Reply-To": "ada.work@example.com"},
    )
    assert (await email.ingest(mail)).outcome == "delivered"
    [reply] = await recorder.wait_for(1)
    assert reply["References"].split() == [
        "<root@example.com>",
        "<second@example.com>",
        "<third@example.com>",
    ]
    assert reply["Subject"] == "Re: Broken zipper [T-1001]"  # the fallback opened ticket T-1001
    assert reply["To"] == "ada.work@example.com"


async def test_the_csat_question_is_marked_auto_generated(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    """Solving an email ticket mails the CSAT question as a system mail: RFC 3834
    ``Auto-Submitted: auto-generated`` (it answers nothing), so auto-responders stay quiet."""
    recorder, port = smtp
    app, email = await start(database_url, make_client, port)
    mail = make_mail("my jacket arrived with a broken zipper", message_id="<zip@example.com>")
    assert (await email.ingest(mail)).outcome == "delivered"
    [reply] = await recorder.wait_for(1)
    assert reply["Auto-Submitted"] == "auto-replied"
    await app.ticketing.desk.solve(1001, actor="agent:alice")  # the fallback opened T-1001
    # The question, and the rulebook's ticket_solved notice within a poll of the ticket rules:
    # either may be mailed first.
    mails = await recorder.wait_for(3)
    texts = [m.get_body(("plain",)).get_content() for m in mails[1:]]  # type: ignore[union-attr]
    [question] = [m for m, text in zip(mails[1:], texts, strict=True) if "marked as solved" not in text]
    assert "T-1001" in question.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert question["Auto-Submitted"] == "auto-generated"
    assert question["X-Auto-Response-Suppress"] == "All"
    assert question["In-Reply-To"] == "<zip@example.com>"
