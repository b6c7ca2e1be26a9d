"""Erasing a customer deletes the Slack copies of their messages (issue 27), through the real app
and the fake Slack Web API: the thread lines the projection posted (``chat.delete``), the files it
uploaded (``files.delete``), the ticket card (redacted with ``chat.update``), and a Slack
customer's bot answers in their own channel. The erase answer counts them; a Slack outage only
delays them; another customer's copies stay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from connectors.slack.erasure import REDACTED_CARD
from core.roles import Role
from tests.api.customer_helpers import FAST, callers, ok
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import PASSWORD, in_thread, is_card, post_event
from tests.slack.payloads import thread_message
from tests.slack.test_customer_channel import CONFIG, HUMAN, REPLY, ROOT, SHARED, add_customer, shared_message
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_webhook import post
from tests.telegram.updates import CUSTOMER, message
from tests.webchat.helpers import eventually, rows
from ticketing.channel_state import ChannelState
from ticketing.customer_admin import CustomerAdmin
from ticketing.models import ChannelIdentity, Ticket
from ticketing.slack_messages import SlackMessage
from ticketing.slack_threads import SlackTicket

PHOTO = b"\xff\xd8\xff\xe0 a photo of the broken parcel"
BOB = {**CUSTOMER, "id": 777002, "first_name": "Bob"}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


async def _app(
    database_url: str, make_client: AppFactory, slack: FakeSlack, extra: str, **slack_config: str
) -> tuple[App, TestClient]:
    app, client = await make_client(database_url, extra=slack.config(**slack_config) + extra + FAST)
    await app.ticketing.roster.add_agent("alice", queues=["support"], display_name="Alice Agent")
    await app.accounts.add("alice", role=Role.AGENT, password=PASSWORD)
    return app, client


async def settled(app: App) -> None:
    """The projection has posted (and recorded) everything there is so far."""
    head = app.ticketing.audit_feed("test").head
    state = ChannelState(engine=app.engine)

    async def caught_up() -> bool:
        cursor = await state.get("slack", "projection")
        return cursor is not None and (cursor["event_id"], cursor["interaction_id"]) == await head()

    await eventually(caught_up)


async def cards(app: App) -> dict[int, str]:
    """Customer id → the ts of their (one) ticket's card."""
    found = await rows(
        app.engine,
        select(Ticket.customer_id, SlackTicket.ts).join(SlackTicket, SlackTicket.ticket_id == Ticket.id),
    )
    return {int(r.customer_id): str(r.ts) for r in found}


def copies(slack: FakeSlack, card: str) -> tuple[set[str], set[str]]:
    """The ts of every line posted into the card's thread, and the ids of the files shared there."""
    lines = {ts for call, ts in slack.post_log if call.params.get("thread_ts") == card}
    files = {f.id for f in slack.shared if f.thread_ts == card}
    return lines, files


def deleted(slack: FakeSlack) -> set[str]:
    return {str(c.params["ts"]) for c in slack.calls_to("chat.delete") if c.accepted}


def redacted(slack: FakeSlack) -> set[str]:
    return {
        str(c.params["ts"]) for c in slack.calls_to("chat.update") if c.params.get("text") == REDACTED_CARD
    }


async def pending(app: App) -> int:
    return len(await rows(app.engine, select(SlackMessage.id).where(SlackMessage.state != "kept")))


async def test_erase_deletes_the_customers_slack_copies_and_only_theirs(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    app, client = await _app(database_url, make_client, slack, telegram.config(mode="webhook"))
    who = await callers(app)
    telegram.files["photo-1"] = PHOTO
    photo = [{"file_id": "photo-1", "file_unique_id": "p1", "file_size": len(PHOTO), "width": 9, "height": 9}]
    for user, chat in ((CUSTOMER, 777001), (BOB, 777002)):  # both handed off: a card each
        assert (await post(client, message(HUMAN, chat_id=chat, user=user))).status == 200
    await slack.wait_for("chat.postMessage", count=2, where=is_card)
    await settled(app)
    ids = dict(await rows(app.engine, select(ChannelIdentity.external_id, ChannelIdentity.customer_id)))
    ada, bob = int(ids["777001"]), int(ids["777002"])
    card = await cards(app)
    # Ada writes again, with a photo: mirrored into her ticket's thread, the photo uploaded there.
    assert (await post(client, message("are you there?"))).status == 200
    assert (await post(client, message(None, photo=photo, caption="the box"))).status == 200
    await slack.wait_for("chat.postMessage", where=in_thread(card[ada], "are you there?"))
    await slack.wait_for_shared()
    assert (await post(client, message("hello?", chat_id=777002, user=BOB))).status == 200
    await settled(app)
    ada_lines, ada_files = copies(slack, card[ada])
    bob_lines, _ = copies(slack, card[bob])
    assert len(ada_lines) >= 2 and len(ada_files) == 1 and bob_lines

    erased = await ok(await client.delete(f"/api/v1/customers/{ada}", headers=who.admin), "eraseCustomer")
    assert erased["removed"]["slack_messages"] == len(ada_lines) + len(ada_files) + 1  # and the card

    async def drained() -> bool:
        return await pending(app) == 0

    await eventually(drained)
    assert deleted(slack) == ada_lines  # exactly Ada's thread lines: Bob's untouched
    assert {c.params["file"] for c in slack.calls_to("files.delete")} == ada_files
    assert redacted(slack) == {card[ada]}  # the card stays, redacted: the thread keeps the agents' notes
    assert all(ts in slack.posted for ts in bob_lines)
    kept = await rows(app.engine, select(SlackMessage.ticket_id, SlackMessage.state))
    assert {r.state for r in kept} == {"kept"}  # Bob's, and the lines after the erase (no personal data)


async def test_slack_down_at_erase_time_the_deletions_wait_and_are_done(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    app, client = await _app(database_url, make_client, slack, telegram.config(mode="webhook"))
    assert (await post(client, message(HUMAN))).status == 200
    [card_call] = await slack.wait_for("chat.postMessage", where=is_card)
    assert (await post(client, message("are you there?"))).status == 200
    await settled(app)
    card = next(iter((await cards(app)).values()))
    lines, _ = copies(slack, card)
    gone = sorted(lines)[0]
    del slack.posted[gone]  # someone deleted one already: message_not_found counts as done
    slack.outage("chat.delete", times=2)
    slack.rate_limit("chat.update", when=lambda params: params.get("text") == REDACTED_CARD)  # the redaction
    [customer] = await rows(app.engine, select(ChannelIdentity.customer_id))

    # Erased from another process (the CLI's way): committed, the server's Slack connector drains it.
    counts = await CustomerAdmin(engine=app.engine).erase(int(customer.customer_id), actor="operator:dpo")
    assert counts["slack_messages"] == len(lines) + 1
    await slack.wait_for("chat.delete", where=lambda c: not c.accepted)
    assert await pending(app) >= 1  # still there, waiting for its retry

    async def drained() -> bool:
        return await pending(app) == 0

    await eventually(drained)
    assert deleted(slack) == lines  # ``gone`` too: Slack answered message_not_found, and that was it
    assert len(slack.calls_to("chat.delete", where=lambda c: c.accepted and c.params["ts"] == gone)) == 1
    assert redacted(slack) == {card} and card_call.params["channel"] == "C0SUPPORT"
    redactions = slack.calls_to("chat.update", where=lambda c: c.params.get("text") == REDACTED_CARD)
    assert [c.accepted for c in redactions] == [False, True]  # 429 first, then done
    assert not any(ts in slack.posted for ts in lines)


async def test_erasing_a_slack_customer_deletes_the_bots_answers_in_their_channel(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    add_customer(slack)
    app, client = await _app(database_url, make_client, slack, "", **CONFIG)  # the shared channel
    who = await callers(app)
    assert (await post_event(client, shared_message(HUMAN, thread_ts=None, ts=ROOT))).status == 200
    await slack.wait_for("chat.postMessage", where=is_card)
    await settled(app)
    card = next(iter((await cards(app)).values()))
    assert (await post_event(client, thread_message(REPLY, thread_ts=card))).status == 200
    await slack.wait_for(
        "chat.postMessage", where=lambda c: c.params.get("channel") == SHARED and REPLY in c.params["text"]
    )
    await settled(app)
    answers = {ts for c, ts in slack.post_log if c.params.get("channel") == SHARED}
    assert len(answers) >= 2  # the bot's hand-off answer and Alice's reply, in the customer's thread
    internal, _ = copies(slack, card)
    [customer] = await rows(app.engine, select(ChannelIdentity.customer_id))

    erased = await ok(
        await client.delete(f"/api/v1/customers/{customer.customer_id}", headers=who.admin), "eraseCustomer"
    )
    assert erased["removed"]["slack_messages"] == len(answers) + len(internal) + 1

    async def drained() -> bool:
        return await pending(app) == 0

    await eventually(drained)
    assert deleted(slack) == answers | internal
    assert ROOT not in deleted(slack)  # the customer's own message: a bot cannot delete it
    assert redacted(slack) == {card}
