"""Macros from Slack (rulebook/macros.yml): ``macro: NAME`` in a ticket's thread and
``/ticket macro T-1042 NAME`` send the rendered reply to the customer on their own channel and
apply the macro's actions, once per Slack request, audited with the macro's name; a viewer, an
unknown macro or a variable the ticket has no value for change nothing and send nothing."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from connectors.slack.translate import parse_command, parse_thread_message
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_ts, in_thread, is_card, post_command, post_event, start
from tests.slack.payloads import command, thread_message
from tests.slack.test_actions import _row
from tests.webchat.helpers import Visitor, count, eventually, history, send, start_session
from ticketing.models import InboundDedup, Interaction, Ticket, TicketEvent

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
REFUND = "the refund for order A-12345 has been approved"


async def _ticket(
    app: App, client: TestClient, slack: FakeSlack, text: str, *, name: str | None = None
) -> tuple[int, str, Visitor]:
    visitor = await start_session(client)
    if name is not None:
        resp = await client.post("/api/v1/identify", json={"name": name}, headers=visitor.auth)
        assert resp.status == 200, await resp.text()
    await send(client, visitor, text)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    async with app.engine.connect() as conn:
        number = (await conn.execute(select(Ticket.number))).scalar_one()
    return int(number), ts, visitor


async def _events(app: App, kind: str) -> list[tuple[str, dict[str, Any]]]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(TicketEvent.actor, TicketEvent.data).where(TicketEvent.kind == kind))
        return [(actor, dict(data)) for actor, data in rows.all()]


async def _ask(client: TestClient, text: str, fields: dict[str, str] | None = None) -> str:
    resp = await post_command(client, fields or command(text))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    return str(body["text"])


async def _agent_messages(app: App) -> list[str]:
    async with app.engine.connect() as conn:
        stmt = select(Interaction.text).where(Interaction.sender_role == "agent").order_by(Interaction.id)
        return list((await conn.execute(stmt)).scalars())


async def test_macro_in_the_thread_reaches_the_customer_once_with_its_actions(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, ts, visitor = await _ticket(
        app, client, slack, "I want to talk to a human about my order A-12345", name="Dana Scully"
    )
    event = thread_message("macro: refund-status", thread_ts=ts)
    assert (await post_event(client, event)).status == 200
    assert (await post_event(client, event, **RETRY)).status == 200  # Slack's retry: nothing twice

    async def customer_reads_it() -> bool:
        return any(REFUND in m["text"] for m in await history(client, visitor))

    await eventually(customer_reads_it)
    [reply] = [m for m in await history(client, visitor) if REFUND in m["text"]]
    assert reply["text"].startswith("Hi Dana, good news:") and f"T-{number}" in reply["text"]
    assert reply["sender"] == "agent" and reply["sender_name"] == "Alice Agent"
    assert "{" not in reply["text"] and "macro:" not in reply["text"]
    assert await count(app.engine, Interaction, Interaction.text.contains(REFUND)) == 1

    row = await _row(app)
    assert row["status"] == "pending" and "refund" in row["tags"]
    [(actor, data)] = await _events(app, "reply")
    assert actor == "agent:alice" and data["macro"] == "refund-status" and REFUND in data["text"]
    statuses = [(a, d["from"], d["to"]) for a, d in await _events(app, "status")]
    assert statuses == [("agent:alice", "new", "open"), ("agent:alice", "open", "pending")]
    [(_actor, tags)] = [e for e in await _events(app, "tags") if e[0] == "agent:alice"]
    assert tags["added"] == ["refund"]
    assert await count(app.engine, InboundDedup, InboundDedup.key == f"event:{event['event_id']}") == 1

    # The agent typed a name: the thread shows what the customer read, and the ✓ reaction.
    mirrored = in_thread(ts, "replied to the customer with macro `refund-status`: Hi Dana")
    await slack.wait_for("chat.postMessage", where=mirrored)
    [reaction] = await slack.wait_for("reactions.add")
    assert reaction.params["name"] == "outbox_tray" and reaction.params["timestamp"] == event["event"]["ts"]


async def test_ticket_macro_command_lists_applies_and_refuses(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, ts, visitor = await _ticket(
        app, client, slack, "I want to talk to a human about my broken parcel"
    )
    ref = f"T-{number}"

    listed = await _ask(client, "macros")
    for name in ("refund-status", "ask-for-order-number", "shipping-delay-apology", "solved-thanks"):
        assert f"`{name}`" in listed
    assert "Refund status" in listed

    # No order number anywhere on the ticket: refused, from /ticket and from the thread alike.
    refused = await _ask(client, f"macro {ref} refund-status")
    assert "was not sent" in refused and "{order_number}" in refused
    event = thread_message("macro: refund-status", thread_ts=ts)
    assert (await post_event(client, event)).status == 200
    [ephemeral] = await slack.wait_for("chat.postEphemeral")
    assert ephemeral.params["user"] == "U0ALICE" and ephemeral.params["thread_ts"] == ts
    assert "{order_number}" in ephemeral.params["text"]
    assert "did you mean `refund-status`" in await _ask(client, f"macro {ref} refund-stauts")
    assert "needs a macro name" in await _ask(client, f"macro {ref}")
    assert await _agent_messages(app) == []
    assert (await _row(app))["status"] == "new"
    assert await count(app.engine, InboundDedup, InboundDedup.key.like("command:%")) == 0

    # A viewer may not send: refused, nothing written.
    await app.accounts.set_role("alice", Role.VIEWER)
    assert "viewer and may not do tickets:write" in await _ask(client, f"macro {ref} ask-for-order-number")
    assert await _agent_messages(app) == []
    await app.accounts.set_role("alice", Role.AGENT)

    # Applied: the customer reads it, the ticket is solved; the same request again does nothing.
    fields = command(f"macro {ref} solved-thanks")
    assert "sent to the customer" in await _ask(client, "", fields)
    assert "already applied" in await _ask(client, "", fields)
    thanks = f"I'm marking ticket {ref} as solved"

    async def customer_reads_it() -> bool:
        return any(thanks in m["text"] for m in await history(client, visitor))

    await eventually(customer_reads_it)
    [message] = [m for m in await history(client, visitor) if thanks in m["text"]]
    assert message["text"].startswith("Hi there, I'm glad") and message["sender_name"] == "Alice Agent"
    assert await _agent_messages(app) == [message["text"]]
    assert (await _row(app))["status"] == "solved"
    [(_actor, data)] = await _events(app, "reply")
    assert data["macro"] == "solved-thanks"


def test_macro_messages_and_commands_are_parsed() -> None:
    def macro_of(text: str) -> str | None:
        message = parse_thread_message(thread_message(text, thread_ts="1700000000.000100"))
        assert message is not None
        return message.macro

    assert macro_of("macro: refund-status") == "refund-status"
    assert macro_of("  Macro:   solved-thanks  ") == "solved-thanks"
    assert macro_of("macro: no such thing") == "no such thing"  # a name, refused later: never sent
    assert macro_of("note: macro: refund-status") is None  # a note that mentions a macro
    assert macro_of("the macro: refund-status did not fit") is None  # only at the start
    assert macro_of("Hi, your refund is on its way") is None

    applied = parse_command("macro t-1042 refund-status")
    assert (applied.verb, applied.ticket, applied.args, applied.error) == (
        "macro",
        "T-1042",
        ("refund-status",),
        None,
    )
    assert parse_command("macros").verb == "macros"
    assert parse_command("macro refund-status").error is not None  # the ticket comes first
