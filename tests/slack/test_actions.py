"""Card buttons and the priority menu: the ticket changes, the card updates in place, retries
do nothing twice, and only configured agents may act."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import PASSWORD, card_fields, card_ts, in_thread, is_card, post_action, start
from tests.slack.payloads import button, priority
from tests.slack.test_flow import HUMAN
from tests.webchat.helpers import count, eventually, send, start_session
from ticketing.models import InboundDedup, Ticket, TicketEvent


async def _ticket(app: App, client: TestClient, slack: FakeSlack) -> tuple[int, str]:
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    async with app.engine.connect() as conn:
        number = (await conn.execute(select(Ticket.number))).scalar_one()
    return int(number), ts


async def _row(app: App) -> Any:
    async with app.engine.connect() as conn:
        return (await conn.execute(select(Ticket.__table__))).mappings().one()


async def _events(app: App, kind: str) -> list[dict[str, Any]]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(TicketEvent.data).where(TicketEvent.kind == kind))
        return [dict(d) for d in rows.scalars()]


def _menu_shows(blocks: list[dict[str, Any]], value: str) -> bool:
    menus = [
        e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "static_select"
    ]
    return bool(menus) and menus[0]["initial_option"]["value"] == value


async def test_claim_updates_the_card_once_even_when_slack_retries(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, ts = await _ticket(app, client, slack)
    press = button("ticket_claim", number)
    assert (await post_action(client, press)).status == 200
    assert (await post_action(client, press)).status == 200  # the same press, retried
    row = await _row(app)
    assert (row["assignee"], row["status"]) == ("alice", "open")
    assert len(await _events(app, "assignee")) == 1
    [update] = await slack.wait_for("chat.update", where=lambda c: "<@U0ALICE>" in card_fields(c))
    assert update.params["ts"] == ts and update.params["channel"] == "C0SUPPORT"
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "Assigned to <@U0ALICE>"))


async def test_priority_resolve_and_escalate(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, escalate="{queue: tier2, priority: high}")
    await app.ticketing.roster.add_queue("tier2")
    await app.ticketing.roster.add_agent("bob", queues=["tier2"], display_name="Bob")
    number, ts = await _ticket(app, client, slack)

    assert (await post_action(client, priority(number, "urgent"))).status == 200
    assert (await _row(app))["priority"] == "urgent"
    await slack.wait_for("chat.update", where=lambda c: _menu_shows(c.params["blocks"], f"{number}:urgent"))

    assert (await post_action(client, button("ticket_escalate", number))).status == 200
    row = await _row(app)
    assert (row["queue"], row["priority"], row["assignee"]) == ("tier2", "high", "bob")
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "Moved to queue *tier2*"))

    assert (await post_action(client, button("ticket_resolve", number))).status == 200
    assert (await _row(app))["status"] == "solved"
    # The CSAT question goes to the customer and is mirrored into the thread.
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "How did we do with"))
    await slack.wait_for("chat.update", where=lambda c: "solved" in card_fields(c))


async def test_strangers_are_not_allowed(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, _ts = await _ticket(app, client, slack)
    events_before = len(await _events(app, "assignee")) + len(await _events(app, "status"))
    assert (await post_action(client, button("ticket_resolve", number, user="U0MALLORY"))).status == 200
    [answer] = await slack.wait_for("chat.postEphemeral")
    assert answer.params["user"] == "U0MALLORY" and "not allowed" in answer.params["text"]
    assert (await _row(app))["status"] == "new"
    assert len(await _events(app, "assignee")) + len(await _events(app, "status")) == events_before


async def test_user_group_members_are_matched_to_agents_by_email(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    slack.usergroups["S0AGENTS"] = ["U0BOB"]
    slack.add_user("U0BOB", "bob@example.com")
    slack.add_user("U0EVE", "eve@example.com")
    app, client = await start(database_url, make_client, slack, allowed_usergroup="S0AGENTS")
    await app.ticketing.roster.add_agent("bob", queues=["support"])
    await app.ticketing.roster.add_agent("eve", queues=["support"])
    await app.accounts.add("bob", role=Role.AGENT, password=PASSWORD, email="bob@example.com")
    number, _ts = await _ticket(app, client, slack)
    assert (await post_action(client, button("ticket_claim", number, user="U0EVE"))).status == 200
    await slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == "U0EVE")
    assert (await _row(app))["assignee"] is None  # eve is an agent, but not in the Slack group
    assert (await post_action(client, button("ticket_claim", number, user="U0BOB"))).status == 200

    async def claimed() -> bool:
        return (await _row(app))["assignee"] == "bob"

    await eventually(claimed)


async def test_a_refused_press_writes_nothing_so_its_retry_can_succeed(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    """The press's idempotency key commits with the change or not at all: escalating to a queue
    that does not exist yet changes neither the priority nor records the key, and Slack's retry
    of the same press, once the queue exists, escalates the ticket, once."""
    app, client = await start(database_url, make_client, slack, escalate="{queue: tier2, priority: urgent}")
    number, _ts = await _ticket(app, client, slack)
    before = await _row(app)
    assert before["priority"] != "urgent"
    keys = await count(app.engine, InboundDedup, InboundDedup.channel == "slack")
    press = button("ticket_escalate", number)
    assert (await post_action(client, press)).status == 200
    [refusal] = await slack.wait_for("chat.postEphemeral")
    assert "tier2" in refusal.params["text"]
    row = await _row(app)
    assert (row["queue"], row["priority"]) == (before["queue"], before["priority"])  # nothing half done
    assert await count(app.engine, InboundDedup, InboundDedup.channel == "slack") == keys

    await app.ticketing.roster.add_queue("tier2")
    await app.ticketing.roster.add_agent("bob", queues=["tier2"], display_name="Bob")
    for _attempt in range(2):  # Slack's retry of the same press, then another one: done once
        assert (await post_action(client, press)).status == 200
    row = await _row(app)
    assert (row["queue"], row["priority"], row["assignee"]) == ("tier2", "urgent", "bob")
    assert len(await _events(app, "queue")) == len(await _events(app, "priority")) == 1
    assert await count(app.engine, InboundDedup, InboundDedup.channel == "slack") == keys + 1
