"""Customers in Slack: a Slack Connect shared channel and direct messages to the app.

A customer's message is an inbound message like any channel's (analysed, decided, answered by
the bot in a thread under it); its ticket's card and internal thread stay in the ticket channel,
and an agent's reply there comes back into the customer's thread. Nothing of the agents' side
(cards, notes, agent-only lines) is ever posted where a customer can read it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import ConfigError, settings_from_text
from connectors.slack.customer_messages import inbound_message, parse_customer_message
from tests.conftest import AppFactory
from tests.slack.fake_api import Call, FakeSlack
from tests.slack.helpers import (
    card_fields,
    card_ts,
    in_thread,
    is_card,
    post_action,
    post_command,
    post_event,
    start,
)
from tests.slack.payloads import button, command, load, thread_message
from tests.webchat.helpers import count, eventually
from ticketing.models import (
    ChannelIdentity,
    Conversation,
    Customer,
    Interaction,
    OutboxItem,
    Ticket,
    TicketEvent,
)

SHARED = "C0ACME"
CUSTOMER = "U0CUST"
ROOT = "1700001000.000100"  # the customer's first message: the conversation's thread
FAQ = "How long does shipping take?"
FAQ_ANSWER = "ship the same day"
HUMAN = "I want to talk to a human about my broken parcel"
REPLY = "Hi Carol, Alice here. Your refund is on its way."
NOTE = "note: customer is on the enterprise plan, be careful"
CONFIG = {"customer_channels": f"[{SHARED}]"}

_counter = iter(range(1, 1_000_000))


def shared_message(
    text: str,
    *,
    thread_ts: str | None = ROOT,
    ts: str | None = None,
    user: str = CUSTOMER,
    channel: str = SHARED,
) -> dict[str, Any]:
    """A message in the shared channel as Slack sends it to the host workspace's app: the
    customer belongs to another team (``user_team``). ``thread_ts=None``: a top-level message."""
    body = load("event_message_shared_channel")
    n = next(_counter)
    body["event_id"] = f"Ev0SHARED{n:06d}"
    event = body["event"]
    event.update(text=text, user=user, channel=channel, ts=ts or f"1700001{n:03d}.000200")
    event["client_msg_id"] = f"00000000-0000-4000-8000-{n:012d}"
    event["event_ts"] = event["ts"]
    if thread_ts is not None and thread_ts != event["ts"]:
        event["thread_ts"] = thread_ts
    return body


def direct_message(text: str, *, thread_ts: str | None = None, ts: str | None = None) -> dict[str, Any]:
    body = load("event_message_im")
    n = next(_counter)
    body["event_id"] = f"Ev0DIRECT{n:06d}"
    event = body["event"]
    event.update(text=text, ts=ts or f"1700002{n:03d}.000300")
    event["client_msg_id"] = f"00000000-0000-4000-9000-{n:012d}"
    event["event_ts"] = event["ts"]
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return body


def add_customer(slack: FakeSlack) -> None:
    """``users.info`` of a Slack Connect user from Acme's workspace."""
    slack.users[CUSTOMER] = {
        "id": CUSTOMER, "team_id": "T0ACME", "name": "carol", "real_name": "Carol Customer",
        "is_bot": False, "is_stranger": False,
        "profile": {"real_name": "Carol Customer", "display_name": "carol", "email": "carol@acme.example"},
    }  # fmt: skip


def to_channel(channel: str) -> Any:
    return lambda c: c.params.get("channel") == channel


def customer_side(slack: FakeSlack, channel: str) -> list[Call]:
    """Every Web API call that showed something in the customer's channel."""
    return [c for c in slack.calls if channel in (c.params.get("channel"), c.params.get("channel_id"))]


def assert_nothing_internal(slack: FakeSlack, channel: str) -> None:
    for call in customer_side(slack, channel):
        assert call.method in ("chat.postMessage", "files.completeUploadExternal", "chat.postEphemeral"), call
        assert call.params.get("user", CUSTOMER) == CUSTOMER, call  # an ephemeral only for the customer
        assert "blocks" not in call.params, call  # never a card
        assert "thread_ts" in call.params or channel.startswith("D"), call  # a DM is answered in it
        text = str(call.params.get("text") or call.params.get("initial_comment") or "")
        for internal in (
            "customer is on the enterprise plan",
            "Note by",
            ":memo:",
            "ticket_claim",
            "Status ",
        ):
            assert internal not in text, text


async def test_shared_channel_customer_to_ticket_to_agent_reply(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    add_customer(slack)
    app, client = await start(database_url, make_client, slack, **CONFIG)

    # A top-level message in the shared channel: answered by the bot in a thread under it.
    resp = await post_event(client, shared_message(FAQ, thread_ts=None, ts=ROOT))
    assert resp.status == 200, await resp.text()
    [answer] = await slack.wait_for("chat.postMessage", where=to_channel(SHARED))
    assert answer.params["thread_ts"] == ROOT and FAQ_ANSWER in answer.params["text"]
    assert not slack.calls_to("chat.postMessage", where=is_card)  # answered: no ticket

    # In the same thread the customer asks for a person: a ticket, its card in the ticket channel.
    assert (await post_event(client, shared_message(HUMAN))).status == 200
    [card] = await slack.wait_for("chat.postMessage", where=is_card)
    assert card.params["channel"] == "C0SUPPORT" and "broken parcel" in card_fields(card)
    # The profile's e-mail is only a claim: shown as unverified, linking nobody.
    assert "Carol Customer · carol@acme.example (unverified)" in card.params["text"]
    await slack.wait_for("chat.postMessage", count=2, where=to_channel(SHARED))
    ts = await card_ts(app)

    async with app.engine.connect() as conn:
        identity = (await conn.execute(select(ChannelIdentity.channel, ChannelIdentity.external_id))).one()
        customer = (
            await conn.execute(select(Customer.display_name, Customer.email, Customer.claimed_email))
        ).one()
        threads = (await conn.execute(select(Conversation.external_thread_id))).scalars().all()
    assert tuple(identity) == ("slack", "T0ACME:U0CUST")
    assert tuple(customer) == ("Carol Customer", None, "carol@acme.example")
    assert threads == [f"{SHARED}:{ROOT}"]  # one conversation: the thread

    # The customer writes again: mirrored into the internal thread by the bot, whose post,
    # coming back as an event, is not an agent's reply.
    assert (await post_event(client, shared_message("are you there?"))).status == 200
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "are you there?"))
    [mirror] = slack.calls_to("chat.postMessage", where=in_thread(ts, "are you there?"))
    echo = load("event_message_bot")
    echo["event"].update(thread_ts=ts, text=mirror.params["text"])
    assert (await post_event(client, echo)).status == 200

    # The agent answers in the internal thread: the reply appears in the customer's thread.
    assert (await post_event(client, thread_message(REPLY, thread_ts=ts))).status == 200
    [delivered] = await slack.wait_for(
        "chat.postMessage", where=lambda c: to_channel(SHARED)(c) and REPLY in c.params["text"]
    )
    assert delivered.params["thread_ts"] == ROOT
    assert delivered.params["text"].startswith("*Alice Agent:*\n")
    # Its echo in the shared channel (the bot's post) changes nothing either.
    bot_echo = load("event_message_bot")
    bot_echo["event"].update(channel=SHARED, thread_ts=ROOT, text=REPLY, channel_type="channel")
    assert (await post_event(client, bot_echo)).status == 200

    assert await count(app.engine, Interaction, Interaction.direction == "in") == 3
    assert await count(app.engine, Interaction, Interaction.sender_role == "agent") == 1
    assert not slack.calls_to("chat.postEphemeral")
    assert_nothing_internal(slack, SHARED)


async def test_a_note_never_reaches_the_customer(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, **CONFIG)
    assert (await post_event(client, shared_message(HUMAN, thread_ts=None, ts=ROOT))).status == 200
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    await slack.wait_for("chat.postMessage", where=to_channel(SHARED))  # the bot's hand-off answer
    assert (await post_event(client, thread_message(NOTE, thread_ts=ts))).status == 200

    async def noted() -> bool:
        return (
            await count(
                app.engine, TicketEvent, TicketEvent.kind == "note", TicketEvent.actor == "agent:alice"
            )
            == 1
        )

    await eventually(noted)
    # A reply after the note reaches the customer; the note, sent before it, never did.
    assert (await post_event(client, thread_message(REPLY, thread_ts=ts))).status == 200
    await slack.wait_for(
        "chat.postMessage", where=lambda c: to_channel(SHARED)(c) and REPLY in c.params["text"]
    )

    # From the command line: a note stays internal; a reply that solves the ticket reaches the
    # customer's thread (mirrored into the internal one), then the rating question with its choices.
    async with app.engine.connect() as conn:
        number = (await conn.execute(select(Ticket.number))).scalar_one()
    await app.ticketing.desk.note(number, "enterprise plan: renewal due in May", actor="agent:alice")
    await app.ticketing.desk.reply(
        number, "Sorted: a new parcel ships today.", agent="alice", status="solved"
    )
    [cli] = await slack.wait_for(
        "chat.postMessage", where=lambda c: to_channel(SHARED)(c) and "ships today" in c.params["text"]
    )
    assert cli.params["thread_ts"] == ROOT and cli.params["text"].startswith("*Alice Agent:*")
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "ships today"))
    [rating] = await slack.wait_for(
        "chat.postMessage", where=lambda c: to_channel(SHARED)(c) and "Reply with:" in c.params["text"]
    )
    assert rating.params["thread_ts"] == ROOT
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "renewal due in May"))  # internal only

    assert await count(app.engine, Interaction, Interaction.text.contains("enterprise plan")) == 0
    async with app.engine.connect() as conn:
        payloads = (await conn.execute(select(OutboxItem.payload))).scalars().all()
    assert all("enterprise plan" not in json.dumps(p) for p in payloads)
    assert_nothing_internal(slack, SHARED)


async def test_direct_message_conversation(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    slack.add_user("U0DAVE", "dave@example.com")
    app, client = await start(database_url, make_client, slack, customer_dms="true")
    root = "1700002000.000100"
    assert (await post_event(client, direct_message(FAQ, ts=root))).status == 200
    [answer] = await slack.wait_for("chat.postMessage", where=to_channel("D0DAVE"))
    # A DM is one conversation, answered in the DM itself (not a thread per message).
    assert "thread_ts" not in answer.params and FAQ_ANSWER in answer.params["text"]
    assert (await post_event(client, direct_message(HUMAN, ts="1700002000.000200"))).status == 200
    [card] = await slack.wait_for("chat.postMessage", where=is_card)
    assert card.params["channel"] == "C0SUPPORT"
    assert "dave@example.com (unverified)" in card.params["text"]
    ts = await card_ts(app)
    assert (await post_event(client, thread_message(REPLY, thread_ts=ts))).status == 200
    [delivered] = await slack.wait_for(
        "chat.postMessage", where=lambda c: to_channel("D0DAVE")(c) and REPLY in c.params["text"]
    )
    assert "thread_ts" not in delivered.params
    async with app.engine.connect() as conn:
        identity = (await conn.execute(select(ChannelIdentity.external_id))).scalar_one()
        conversations = (await conn.execute(select(Conversation.external_thread_id))).scalars().all()
    assert identity == "T0TEAM:U0DAVE" and conversations == ["D0DAVE:"]
    assert_nothing_internal(slack, "D0DAVE")


async def test_a_retried_event_is_stored_and_answered_once(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, **CONFIG)
    event = shared_message(FAQ, thread_ts=None, ts=ROOT)
    assert (await post_event(client, event)).status == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await post_event(client, event, **retry)).status == 200
    assert (await post_event(client, event, **{**retry, "X-Slack-Retry-Num": "2"})).status == 200
    await slack.wait_for("chat.postMessage", where=to_channel(SHARED))

    async def all_sent() -> bool:
        return await count(app.engine, OutboxItem, OutboxItem.state != "sent") == 0

    await eventually(all_sent)
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 1
    assert await count(app.engine, OutboxItem) == 1
    assert len(slack.calls_to("chat.postMessage", where=to_channel(SHARED))) == 1


async def test_other_channels_agents_bots_and_edits_are_ignored(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, **CONFIG)
    ignored = [
        shared_message(HUMAN, thread_ts=None, channel="C0RANDOM"),  # not a customer channel
        direct_message(HUMAN),  # DMs are not configured
        shared_message(HUMAN, thread_ts=None, user="U0ALICE"),  # an agent in the shared channel
    ]
    edit = load("event_message_changed")
    edit["event"].update(channel=SHARED, message={**edit["event"]["message"], "user": CUSTOMER})
    deleted = load("event_message_changed")
    deleted["event"].update(channel=SHARED, subtype="message_deleted", deleted_ts=ROOT)
    deleted["event_id"] = "Ev0DELETED1"
    bot = load("event_message_bot")
    bot["event"].update(channel=SHARED)
    for body in (*ignored, edit, deleted, bot):
        resp = await post_event(client, body)
        assert resp.status == 200, await resp.text()
    assert await count(app.engine, Interaction) == 0
    assert await count(app.engine, Conversation) == 0
    assert not slack.calls_to("chat.postMessage") and not slack.calls_to("chat.postEphemeral")


async def test_a_customer_may_not_act_on_tickets(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, **CONFIG)
    assert (await post_event(client, shared_message(HUMAN, thread_ts=None, ts=ROOT))).status == 200
    await slack.wait_for("chat.postMessage", where=is_card)
    async with app.engine.connect() as conn:
        number = (await conn.execute(select(Ticket.number))).scalar_one()
    before = await count(app.engine, TicketEvent)
    assert (await post_action(client, button("ticket_resolve", number, user=CUSTOMER))).status == 200
    [refused] = await slack.wait_for("chat.postEphemeral")
    assert refused.params["user"] == CUSTOMER and "not allowed" in refused.params["text"]
    fields = command(f"solve T-{number}", user=CUSTOMER)
    fields.update(channel_id=SHARED, team_id="T0ACME")
    resp = await post_command(client, fields)
    assert resp.status == 200 and "not allowed" in (await resp.json())["text"]
    assert await count(app.engine, TicketEvent) == before


def test_a_recorded_shared_channel_message_translates() -> None:
    body = load("event_message_shared_channel")
    message = parse_customer_message(body)
    assert message is not None
    inbound = inbound_message(message, name=None)
    assert inbound.channel == "slack" and inbound.sender_role == "customer"
    assert inbound.external_user_id == "T0ACME:U0CUST"
    assert inbound.external_thread_id == "C0ACME:1700001000.000100"
    assert inbound.idempotency_key == "event:Ev0SHARED0001"
    assert (
        inbound.text
        == "Hi team! Our invoices page <billing> shows a 500: invoices (https://acme.example/invoices)"
    )
    assert inbound.sender_email is None  # a profile address is never given as a verified one
    assert message.profile_name == "Carol Customer"
    reply = load("event_message_shared_channel")
    reply["event"]["thread_ts"] = "1700000900.000001"
    assert inbound_message(parse_customer_message(reply), name="C").external_thread_id == (  # type: ignore[arg-type]
        "C0ACME:1700000900.000001"
    )


def test_customer_channels_must_not_be_ticket_channels() -> None:
    base = "slack:\n  bot_token: xoxb-1\n  signing_secret: s\n  default_channel: C0SUPPORT\n"
    with pytest.raises(ConfigError, match="customer_channels"):
        settings_from_text(base + "  customer_channels: [C0SUPPORT]\n")
    with pytest.raises(ConfigError, match="customer_channels"):
        settings_from_text(base + "  queues: {tier2: C0ACME}\n  customer_channels: [C0ACME]\n")
    settings = settings_from_text(base + "  customer_channels: [C0ACME]\n  customer_dms: true\n")
    assert settings.slack is not None and settings.slack.customer_channels == ("C0ACME",)


PDF = b"%PDF-1.4 the shipping label " + bytes(range(256))
PNG = b"\x89PNG\r\n\x1a\n a photo of the broken parcel"


async def test_files_both_ways_in_a_shared_channel(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, **CONFIG)
    # The customer posts a photo with their message: downloaded with the bot token and kept.
    body = shared_message(HUMAN, thread_ts=None, ts=ROOT)
    body["event"]["subtype"] = "file_share"
    body["event"]["files"] = [slack.add_file("parcel.png", PNG, mimetype="image/png")]
    assert (await post_event(client, body)).status == 200
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    async with app.engine.connect() as conn:
        [stored] = (
            (await conn.execute(select(Interaction.attachments).where(Interaction.direction == "in")))
            .scalars()
            .all()
        )
    assert [a["filename"] for a in stored] == ["parcel.png"]
    [internal] = await slack.wait_for_shared()  # into the ticket's internal thread, not the customer's
    assert (internal.channel, internal.thread_ts, internal.data) == ("C0SUPPORT", ts, PNG)

    # The agent answers with a file: the text and the file reach the customer's thread together.
    reply = thread_message("Here is your return label.", thread_ts=ts)
    reply["event"]["subtype"] = "file_share"
    reply["event"]["files"] = [slack.add_file("label.pdf", PDF, mimetype="application/pdf")]
    assert (await post_event(client, reply)).status == 200
    shared = await slack.wait_for_shared(2)
    assert (shared[1].channel, shared[1].thread_ts, shared[1].data) == (SHARED, ROOT, PDF)
    [complete] = slack.calls_to(
        "files.completeUploadExternal", where=lambda c: c.params.get("channel_id") == SHARED
    )
    assert "*Alice Agent:*" in complete.params["initial_comment"]
    assert "return label" in complete.params["initial_comment"]

    # A file of a refused type is not kept; only the customer is told, in their thread.
    body = shared_message("and the installer")
    body["event"]["subtype"] = "file_share"
    body["event"]["files"] = [slack.add_file("setup.exe", b"MZ", mimetype="application/x-msdownload")]
    assert (await post_event(client, body)).status == 200
    [told] = await slack.wait_for("chat.postEphemeral", where=to_channel(SHARED))
    assert told.params["user"] == CUSTOMER and told.params["thread_ts"] == ROOT
    assert "setup.exe" in told.params["text"] and "not allowed" in told.params["text"]
    assert await count(app.engine, Interaction, Interaction.text == "and the installer") == 1
    assert_nothing_internal(slack, SHARED)
