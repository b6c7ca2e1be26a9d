"""An agent's web chat reply that the visitor did not see goes to the address they left, by real
SMTP (aiosmtpd), once; one the widget showed does not; nor does a bot reply, nor anything without
an address. docs/webchat-api.md, "Replies by email"."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import Visitor, eventually, next_frame, rows, send, start_session
from ticketing.models import Conversation, Interaction, OutboxItem, Ticket
from ticketing.reply_copies import DueCopy, ReplyCopies, ReplyCopy
from ticketing.time import utcnow

ADA = "ada@example.com"
# Due at once; the job's own loop never runs in the test (the test runs its rounds).
COPIES = "webchat:\n  email_replies:\n    after_seconds: 0\n    check_seconds: 3600\n"


async def _start(database_url: str, make_client: AppFactory, port: int) -> tuple[App, TestClient]:
    return await make_client(database_url, extra=COPIES + email_config(port))


async def _handed_off(app: App, client: TestClient, *, email: str | None = ADA) -> tuple[Visitor, int]:
    """A visitor (who left ``email``) asks for a person: a ticket; returns it and the visitor."""
    visitor = await start_session(client)
    if email is not None:
        resp = await client.post("/api/v1/identify", json={"email": email}, headers=visitor.auth)
        assert resp.status == 200, await resp.text()
    await send(client, visitor, "I want to talk to a person")
    found = await rows(
        app.engine,
        select(Ticket.number)
        .join(Conversation, Conversation.id == Ticket.conversation_id)
        .where(Conversation.public_id == visitor.conversation_id),
    )
    return visitor, int(found[0][0])


@contextlib.asynccontextmanager
async def _socket(client: TestClient, visitor: Visitor) -> AsyncIterator[ClientWebSocketResponse]:
    """The visitor's widget socket, authenticated."""
    async with client.ws_connect("/api/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": visitor.token})
        await next_frame(ws, lambda f: f["type"] == "ready")
        yield ws


async def _reply(app: App, number: int, text: str) -> int:
    await app.ticketing.desk.reply(number, text, agent="alice")
    found = await rows(
        app.engine, select(Interaction.id).where(Interaction.text == text, Interaction.sender_role == "agent")
    )
    return int(found[0][0])


async def test_an_unseen_agent_reply_is_mailed_once_and_nothing_else_is(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, client = await _start(database_url, make_client, port)
    _visitor, number = await _handed_off(app, client)
    await _reply(app, number, "Your refund went out today.")
    assert await app.reply_copies.run_once() == 1
    [mail] = await recorder.wait_for(1)
    assert mail["To"] == ADA and "alice" in mail["From"]
    assert mail["Subject"] == "Re: Your chat with Acme Outfitters"
    assert mail["Auto-Submitted"] is None  # an agent wrote it
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("Your refund went out today.\n\n— alice\n\n")
    assert "You left this address in the chat on our website" in body
    assert await app.reply_copies.run_once() == 0  # once: a second round queues nothing
    outbox = select(OutboxItem.channel, OutboxItem.state).order_by(OutboxItem.id)
    assert [c for c, _ in await rows(app.engine, outbox)].count("email") == 1  # no bot reply copied
    await eventually(lambda: _sent(app))  # marked once the SMTP server has accepted it


async def _sent(app: App) -> bool:
    states = await rows(app.engine, select(OutboxItem.state).where(OutboxItem.channel == "email"))
    return [state for (state,) in states] == ["sent"]


async def test_a_reply_the_widget_showed_is_not_mailed_and_a_later_one_is(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, client = await _start(database_url, make_client, port)
    visitor, number = await _handed_off(app, client)
    first = await _reply(app, number, "Could you send a photo of the label?")
    async with _socket(client, visitor) as ws:
        await ws.send_json({"type": "seen", "id": first})
        await ws.send_json({"type": "ping"})  # frames are handled in order: seen is stored
        await next_frame(ws, lambda f: f["type"] == "pong")
    await _reply(app, number, "Thanks, a new parcel is on its way.")
    assert await app.reply_copies.run_once() == 1
    [mail] = await recorder.wait_for(1)
    assert "a new parcel" in mail.get_body(("plain",)).get_content()
    states = await rows(app.engine, select(ReplyCopy.state).order_by(ReplyCopy.interaction_id))
    assert [s for (s,) in states] == ["seen", "queued"]


async def test_another_visitors_seen_frame_and_a_bad_one_change_nothing(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    _recorder, port = smtp
    app, client = await _start(database_url, make_client, port)
    _visitor, number = await _handed_off(app, client)
    reply = await _reply(app, number, "We have found your order.")
    stranger = await start_session(client)
    async with _socket(client, stranger) as ws:
        await ws.send_json({"type": "seen", "id": reply})  # not their conversation: nothing
        for bad in ("7", -1, 2**70, None, 1.5):
            await ws.send_json({"type": "seen", "id": bad})
            assert (await next_frame(ws))["type"] == "error"
    assert await app.reply_copies.run_once() == 1


async def test_without_an_address_or_when_too_old_nothing_is_mailed(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    _recorder, port = smtp
    app, client = await _start(database_url, make_client, port)
    _visitor, number = await _handed_off(app, client, email=None)
    await _reply(app, number, "Hello, how can we help?")
    _other, later = await _handed_off(app, client)
    await _reply(app, later, "Sorry for the wait.")
    copies = ReplyCopies(engine=app.engine)  # the job's store, run with a later clock
    assert await copies.queue_due(now=utcnow() + timedelta(days=2), after=timedelta(0), letter=_plain) == 0
    states = await rows(app.engine, select(ReplyCopy.state))
    assert sorted(s for (s,) in states) == ["skipped", "skipped"]
    assert await rows(app.engine, select(OutboxItem.id).where(OutboxItem.channel == "email")) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_mail_is_in_the_conversations_language_and_the_widget_says_it_mails(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    _recorder, port = smtp
    app, client = await _start(database_url, make_client, port)
    subject, text = app.reply_copies.letter(DueCopy(1, ADA, "Ihr Paket ist unterwegs.", "Alice", "de"))
    assert subject == "Ihr Chat mit Acme Outfitters"
    assert text.startswith("Ihr Paket ist unterwegs.\n\n— Alice\n\nSie haben diese Adresse im Chat")
    resp = await client.get("/api/v1/widget")
    assert (await resp.json())["email_replies"] is True
    _plain_app, plain = await make_client(database_url)  # no email channel: nothing can be mailed
    resp = await plain.get("/api/v1/widget")
    assert (await resp.json())["email_replies"] is False


def _plain(copy: DueCopy) -> tuple[str, str]:
    return "subject", copy.text
