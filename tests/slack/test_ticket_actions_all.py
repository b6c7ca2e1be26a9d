"""Every ticket action from Slack: the card's overflow menu (status choices, reopen), its queue and
assignee menus, and ``/ticket status|reopen|priority|tag|untag|queue``. Each is checked against
the agent's account role, lands on the audit trail as ``agent:<handle>``, is done once however
often Slack retries it, and a transition the lifecycle forbids is explained, ephemerally."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from connectors.slack.translate import parse_action, parse_command
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_fields, in_thread, post_action, post_command, start
from tests.slack.payloads import button, command, load
from tests.slack.test_actions import _row, _ticket
from tests.webchat.helpers import count
from ticketing.models import InboundDedup, TicketEvent
from ticketing.tickets import TicketChange

_ts = itertools.count(1)


def menu(
    action_id: str,
    number: int,
    value: str,
    *,
    user: str = "U0ALICE",
    kind: str = "static_select",
    action_ts: str | None = None,
) -> dict[str, Any]:
    """A choice in one of the card's menus: ``overflow`` / ``static_select`` carry ``N:value``,
    a ``users_select`` carries the Slack user picked and names the ticket in its block id."""
    body = load("block_actions_priority")
    body["user"]["id"] = user
    action: dict[str, Any] = {
        "type": kind,
        "action_id": action_id,
        "block_id": f"ticket-{number}-menus" if kind == "users_select" else f"ticket-{number}",
        "action_ts": action_ts or f"1700006666.{next(_ts):06d}",
    }
    if kind == "users_select":
        action["selected_user"] = value
    else:
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": value},
            "value": f"{number}:{value}",
        }
    body["actions"] = [action]
    body["state"] = {"values": {}}
    return body


async def _trail(app: App, kind: str) -> list[tuple[str, dict[str, Any]]]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(
            select(TicketEvent.actor, TicketEvent.data)
            .where(TicketEvent.kind == kind)
            .order_by(TicketEvent.id)
        )
        return [(str(actor), dict(data)) for actor, data in rows.all()]


async def _ask(client: TestClient, text: str, *, user: str = "U0ALICE", trigger: str | None = None) -> str:
    fields = command(text, user=user)
    if trigger is not None:
        fields["trigger_id"] = trigger
    resp = await post_command(client, fields)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body.get("response_type") == "ephemeral"
    return str(body["text"])


def _overflow(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        o["value"].partition(":")[2]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "overflow"
        for o in e["options"]
    ]


async def test_overflow_sets_each_status_and_reopens_once_per_press(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, ts = await _ticket(app, client, slack)
    [card] = await slack.wait_for("chat.postMessage", where=lambda c: "blocks" in c.params)
    assert _overflow(card.params["blocks"]) == ["open", "pending", "on-hold"]

    press = menu("ticket_status", number, "pending", kind="overflow")
    for _attempt in range(2):  # Slack's retry of the same choice: done once
        assert (await post_action(client, press)).status == 200
    assert (await _row(app))["status"] == "pending"
    await slack.wait_for("chat.update", where=lambda c: _overflow(c.params["blocks"]) == ["open", "on-hold"])
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "Status new → *pending* (by alice)"))

    assert (
        await post_action(client, menu("ticket_status", number, "on-hold", kind="overflow"))
    ).status == 200
    assert (await _row(app))["status"] == "on-hold"
    assert (await post_action(client, button("ticket_resolve", number))).status == 200
    assert (await _row(app))["status"] == "solved"
    [solved] = await slack.wait_for(
        "chat.update", where=lambda c: _overflow(c.params["blocks"]) == ["open", "closed"]
    )
    assert "Reopen" in card_fields(solved) and "Close (final)" in card_fields(solved)

    assert (await post_action(client, menu("ticket_status", number, "open", kind="overflow"))).status == 200
    assert (await _row(app))["status"] == "open"
    statuses = [(actor, data["to"]) for actor, data in await _trail(app, "status")]
    assert statuses == [("agent:alice", s) for s in ("pending", "on-hold", "solved", "open")]


async def test_a_refused_transition_is_explained_and_writes_nothing(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, _ts = await _ticket(app, client, slack)
    assert "status solved" in await _ask(client, f"status T-{number} solved")
    keys = await count(app.engine, InboundDedup, InboundDedup.channel == "slack")
    # A stale card's menu (or a forged payload) asks for solved → pending: refused, said why.
    assert (
        await post_action(client, menu("ticket_status", number, "pending", kind="overflow"))
    ).status == 200
    [refusal] = await slack.wait_for("chat.postEphemeral")
    assert refusal.params["user"] == "U0ALICE"
    assert f"T-{number} cannot go from solved to pending" in refusal.params["text"]
    assert (await _row(app))["status"] == "solved"
    assert await count(app.engine, InboundDedup, InboundDedup.channel == "slack") == keys  # not even the key

    assert "status closed" in await _ask(client, f"status T-{number} closed")
    answer = await _ask(client, f"reopen T-{number}")
    assert "cannot go from closed to open" in answer and "follow-up" in answer
    assert "closed" in await _ask(client, f"priority T-{number} high")
    row = await _row(app)
    assert (row["status"], row["priority"]) == ("closed", "normal")
    await slack.wait_for(
        "chat.update", where=lambda c: not any(b["type"] == "actions" for b in c.params["blocks"])
    )


async def test_queue_and_assignee_menus(database_url: str, make_client: AppFactory, slack: FakeSlack) -> None:
    app, client = await start(database_url, make_client, slack, agents="{U0ALICE: alice, U0BOB: bob}")
    await app.ticketing.roster.add_queue("tier2")
    await app.ticketing.roster.add_agent("bob", queues=["support", "tier2"], display_name="Bob")
    number, ts = await _ticket(app, client, slack)

    def queue_menu(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
        found = [
            e
            for b in blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "ticket_queue"
        ]
        return found[0] if found else None

    [card] = await slack.wait_for("chat.postMessage", where=lambda c: "blocks" in c.params)
    shown = queue_menu(card.params["blocks"])
    assert shown is not None and [o["value"] for o in shown["options"]] == [
        f"{number}:support",
        f"{number}:tier2",
    ]
    assert "users_select" in card_fields(card)

    assert (await post_action(client, menu("ticket_queue", number, "tier2"))).status == 200
    assert (await _row(app))["queue"] == "tier2"
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "Moved to queue *tier2* (by alice)"))

    pick = menu("ticket_assignee", number, "U0BOB", kind="users_select")
    for _attempt in range(2):
        assert (await post_action(client, pick)).status == 200
    assert (await _row(app))["assignee"] == "bob"
    assert [d for _a, d in await _trail(app, "assignee")] == [{"from": None, "to": "bob"}]
    await slack.wait_for("chat.update", where=lambda c: '"initial_user": "U0BOB"' in card_fields(c))

    assert (
        await post_action(client, menu("ticket_assignee", number, "U0MALLORY", kind="users_select"))
    ).status == 200
    [refusal] = await slack.wait_for("chat.postEphemeral")
    assert "<@U0MALLORY> is not a Frontdesk agent" in refusal.params["text"]
    assert (await post_action(client, menu("ticket_queue", number, "nowhere"))).status == 200
    await slack.wait_for("chat.postEphemeral", where=lambda c: "unknown queue 'nowhere'" in c.params["text"])
    row = await _row(app)
    assert (row["queue"], row["assignee"]) == ("tier2", "bob")


async def test_slash_subcommands_change_each_field_on_the_audit_trail(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    await app.ticketing.roster.add_queue("tier2")
    number, ts = await _ticket(app, client, slack)
    ref = f"T-{number}"

    assert await _ask(client, f"status {ref} pending") == f"{ref}: status pending."
    assert await _ask(client, f"status {ref} on hold") == f"{ref}: status on-hold."
    assert await _ask(client, f"priority {ref} HIGH") == f"{ref}: priority high."
    # Slack escapes ``<``, ``>``, ``&`` in a command's text; the tag is stored as typed.
    assert await _ask(client, f"tag {ref} vip 2024 &lt;b&gt;") == f"{ref}: tagged `vip` `2024` `&lt;b&gt;`."
    assert await _ask(client, f"untag {ref} 2024") == f"{ref}: untagged `2024`."
    assert await _ask(client, f"queue {ref} tier2") == f"{ref}: moved to queue tier2."
    assert await _ask(client, f"status {ref} solved") == f"{ref}: status solved."
    assert await _ask(client, f"reopen {ref}") == f"{ref}: status open."

    row = await _row(app)
    assert (row["status"], row["priority"], row["queue"]) == ("open", "high", "tier2")
    assert row["tags"][-2:] == ["vip", "<b>"] and "2024" not in row["tags"]
    mine = {kind: [d for actor, d in await _trail(app, kind) if actor == "agent:alice"]
            for kind in ("status", "priority", "tags", "queue")}  # fmt: skip
    assert [d["to"] for d in mine["status"]] == ["pending", "on-hold", "solved", "open"]
    assert mine["priority"] == [{"from": "normal", "to": "high"}]
    assert mine["tags"] == [
        {"added": ["vip", "2024", "<b>"], "removed": []},
        {"added": [], "removed": ["2024"]},
    ]
    assert mine["queue"] == [{"from": "support", "to": "tier2"}]
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "Priority normal → *high* (by alice)"))
    await slack.wait_for("chat.update", where=lambda c: "`&lt;b&gt;`" in card_fields(c))

    assert "unknown status 'later'" in await _ask(client, f"status {ref} later")
    assert "unknown priority 'asap'" in await _ask(client, f"priority {ref} asap")
    assert "tag needs tags" in await _ask(client, f"tag {ref}")
    assert "needs a ticket first" in await _ask(client, "queue tier2")
    assert "unknown queue 'nowhere'" in await _ask(client, f"queue {ref} nowhere")
    assert "no ticket T-999999" in await _ask(client, "status T-999999 open")
    assert len(await _trail(app, "status")) == 4


async def test_a_retried_slash_command_is_done_once(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    """The request's ``trigger_id`` is its idempotency key: a retry of ``status pending`` after
    someone set the ticket open again changes nothing."""
    app, client = await start(database_url, make_client, slack)
    number, _ts = await _ticket(app, client, slack)
    assert "status pending" in await _ask(client, f"status T-{number} pending", trigger="6001.1.first")
    assert "status open" in await _ask(client, f"status T-{number} open", trigger="6002.1.second")
    assert "already done" in await _ask(client, f"status T-{number} pending", trigger="6001.1.first")
    assert (await _row(app))["status"] == "open"
    assert len(await _trail(app, "status")) == 2


async def _press(client: TestClient, body: dict[str, Any]) -> None:
    assert (await post_action(client, body)).status == 200


async def _say(client: TestClient, text: str, user: str) -> str:
    return await _ask(client, text, user=user)


ACTIONS: dict[str, Callable[[TestClient, int, str], Awaitable[str | None]]] = {
    "overflow pending": lambda c, n, u: _press(
        c, menu("ticket_status", n, "pending", user=u, kind="overflow")
    ),
    "queue menu": lambda c, n, u: _press(c, menu("ticket_queue", n, "tier2", user=u)),
    "assignee menu": lambda c, n, u: _press(
        c, menu("ticket_assignee", n, "U0ALICE", user=u, kind="users_select")
    ),
    "/ticket status": lambda c, n, u: _say(c, f"status T-{n} pending", u),
    "/ticket reopen": lambda c, n, u: _say(c, f"reopen T-{n}", u),
    "/ticket priority": lambda c, n, u: _say(c, f"priority T-{n} urgent", u),
    "/ticket tag": lambda c, n, u: _say(c, f"tag T-{n} vip", u),
    "/ticket untag": lambda c, n, u: _say(c, f"untag T-{n} vip", u),
    "/ticket queue": lambda c, n, u: _say(c, f"queue T-{n} tier2", u),
}
_KIND = {"overflow pending": "status", "queue menu": "queue", "assignee menu": "assignee",
         "/ticket status": "status", "/ticket reopen": "status", "/ticket priority": "priority",
         "/ticket tag": "tags", "/ticket untag": "tags", "/ticket queue": "queue"}  # fmt: skip
_REFUSED = {
    "U0MALLORY": "not allowed",
    "U0CARL": "link-slack",
    "viewer": "viewer and may not do tickets:write",
}


async def _fields(app: App) -> tuple[Any, ...]:
    row = await _row(app)
    return tuple(row[k] for k in ("status", "priority", "queue", "tags", "assignee"))


async def _changes(app: App) -> int:
    kinds = ("status", "priority", "tags", "queue", "assignee")
    return await count(app.engine, TicketEvent, TicketEvent.kind.in_(kinds))


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_each_action_per_role(
    action: str, database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    """A stranger, an agent without an account and a viewer are refused, ephemerally, and nothing
    is written; then the agent does it, as ``agent:alice`` on the audit trail."""
    app, client = await start(database_url, make_client, slack, agents="{U0ALICE: alice, U0CARL: carl}")
    await app.ticketing.roster.add_queue("tier2")
    await app.ticketing.roster.add_agent("carl", queues=["support"])  # an agent without an account
    number, _ts = await _ticket(app, client, slack)
    if action in ("/ticket reopen", "/ticket untag"):  # something to undo first
        change = (
            TicketChange(status="solved") if action == "/ticket reopen" else TicketChange(add_tags=("vip",))
        )
        await app.ticketing.desk.update(f"T-{number}", change, actor="operator:test")
    before, fields = await _changes(app), await _fields(app)
    for who in ("U0MALLORY", "U0CARL", "viewer"):
        user = "U0ALICE" if who == "viewer" else who
        await app.accounts.set_role("alice", Role.VIEWER if who == "viewer" else Role.AGENT)
        answer = await ACTIONS[action](client, number, user)
        if answer is None:  # a card action answers ephemerally
            [refusal] = await slack.wait_for(
                "chat.postEphemeral", where=lambda c, u=user: c.params["user"] == u
            )
            answer = str(refusal.params["text"])
        assert _REFUSED[who] in answer, (who, answer)
        assert (await _changes(app), await _fields(app)) == (before, fields)
    await app.accounts.set_role("alice", Role.AGENT)
    await ACTIONS[action](client, number, "U0ALICE")
    assert await _changes(app) > before
    [(actor, _data)] = (await _trail(app, _KIND[action]))[-1:]
    assert actor == "agent:alice"


def test_menu_payloads_and_subcommands_parse_strictly() -> None:
    status = parse_action(menu("ticket_status", 12, "on-hold", kind="overflow"))
    assert status is not None and (status.action, status.number, status.value) == ("status", 12, "on-hold")
    assert status.key.startswith("action:U0ALICE:") and status.key.endswith(":ticket_status")
    assert parse_action(menu("ticket_status", 12, "deleted", kind="overflow")) is None  # not a status
    picked = parse_action(menu("ticket_assignee", 12, "U0BOB", kind="users_select"))
    assert picked is not None and (picked.number, picked.value) == (12, "U0BOB")
    nameless = menu("ticket_assignee", 12, "U0BOB", kind="users_select")
    nameless["actions"][0]["block_id"] = "elsewhere"
    assert parse_action(nameless) is None
    customer = parse_action(button("ticket_customer", 12))
    assert customer is not None and customer.trigger_id == "6000000000001.1000000000.abcdef0123456789"

    tag = parse_command("tag t1042 2024 &amp;co")
    assert (tag.verb, tag.ticket, tag.args, tag.error) == ("tag", "T1042", ("2024", "&co"), None)
    assert parse_command("status T-1042").error == "status needs a status, e.g. `status T-1042 pending`"
    assert parse_command("customer 1042").ticket == "T-1042"
