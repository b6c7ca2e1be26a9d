"""Pure translation and rendering against recorded Slack payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.slack.blocks import card_blocks, thread_line
from connectors.slack.translate import is_from_self, parse_action, parse_command, parse_thread_message
from connectors.slack.views import FeedItem, MessageLine, TicketCard
from tests.slack.payloads import load

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_thread_reply_is_unescaped_for_the_customer() -> None:
    message = parse_thread_message(load("event_message_thread"))
    assert message is not None
    assert message.event_id == "Ev0THREADREPLY1"
    assert (message.channel, message.thread_ts, message.user) == ("C0SUPPORT", "1700000000.000001", "U0ALICE")
    assert message.text == (
        "Hi, Alice here & happy to help. Your refund is on its way: refund status (https://shop.example/refunds)"
    )
    assert not message.is_note


@pytest.mark.parametrize("text", ["note: call back", "NOTE:call back", "  Note:  call back"])
def test_note_prefix_makes_a_private_note(text: str) -> None:
    body = load("event_message_thread")
    body["event"]["text"] = text
    message = parse_thread_message(body)
    assert message is not None and message.is_note and message.text == "call back"


@pytest.mark.parametrize("name", ["event_message_bot", "event_message_changed", "event_app_home_opened"])
def test_not_agent_thread_messages(name: str) -> None:
    assert parse_thread_message(load(name)) is None


def test_top_level_and_empty_messages_are_ignored() -> None:
    body = load("event_message_thread")
    del body["event"]["thread_ts"]
    assert parse_thread_message(body) is None
    body = load("event_message_thread")
    body["event"]["thread_ts"] = body["event"]["ts"]  # the thread root itself
    assert parse_thread_message(body) is None
    body = load("event_message_thread")
    body["event"]["text"] = "note:   "
    assert parse_thread_message(body) is None


def test_is_from_self() -> None:
    assert is_from_self(load("event_message_bot")["event"], bot_user_id="UBOTFD01", bot_id="BBOTFD01")
    assert is_from_self({"user": "UBOTFD01", "text": "x"}, bot_user_id="UBOTFD01", bot_id=None)
    assert not is_from_self(load("event_message_thread")["event"], bot_user_id="UBOTFD01", bot_id="BBOTFD01")


def test_actions() -> None:
    claim = parse_action(load("block_actions_button"))
    assert claim is not None
    assert (claim.action, claim.number, claim.user, claim.channel) == ("claim", 1, "U0ALICE", "C0SUPPORT")
    assert claim.key == "action:U0ALICE:1700000500.000600:ticket_claim"
    chosen = parse_action(load("block_actions_priority"))
    assert chosen is not None and (chosen.action, chosen.priority) == ("priority", "urgent")
    bad = load("block_actions_priority")
    bad["actions"][0]["selected_option"]["value"] = "1:whenever"
    assert parse_action(bad) is None
    other = load("block_actions_button")
    other["actions"][0]["action_id"] = "someone_elses_button"
    assert parse_action(other) is None


@pytest.mark.parametrize(
    ("text", "verb", "ticket", "user", "handle", "query", "error"),
    [
        ("list", "list", None, None, None, "", False),
        ("show T-1042", "show", "T-1042", None, None, "", False),
        ("show 1042", "show", "T-1042", None, None, "", False),
        ("assign T-1042 <@U0BOB|bob>", "assign", "T-1042", "U0BOB", None, "", False),
        ("assign <@U0BOB> t-7", "assign", "T-7", "U0BOB", None, "", False),
        ("assign T-7 @alice", "assign", "T-7", None, "alice", "", False),
        ("assign T-7", "assign", "T-7", None, None, "", True),
        ("solve T-9", "solve", "T-9", None, None, "", False),
        ("solve", "solve", None, None, None, "", True),
        ("search broken parcel", "search", None, None, None, "broken parcel", False),
        ("frobnicate", "help", None, None, None, "", True),
        ("", "help", None, None, None, "", False),
    ],
)
def test_slash_command_parsing(
    text: str, verb: str, ticket: str | None, user: str | None, handle: str | None, query: str, error: bool
) -> None:
    command = parse_command(text)
    assert (command.verb, command.ticket, command.target_user, command.target_handle, command.query) == (
        verb, ticket, user, handle, query)  # fmt: skip
    assert (command.error is not None) == error


def _card(**overrides: object) -> TicketCard:
    hostile = "hello <@U0BOSS> & <https://evil.example|click>"
    values: dict[str, object] = {
        "id": 1, "number": 1042, "subject": "Parcel <!channel> broken", "status": "new",
        "priority": "high", "queue": "support", "assignee": "alice", "customer": "Ann <ann@example.com>",
        "channel": "webchat", "intent": "complaint", "sentiment": "negative", "sla_due": NOW,
        "last_messages": (MessageLine("customer", "Ann", hostile, NOW),),
    }  # fmt: skip
    values.update(overrides)
    return TicketCard(**values)  # type: ignore[arg-type]


def test_card_escapes_customer_text_and_mentions_the_assignee() -> None:
    rendered = card_blocks(_card(), users={"alice": "U0ALICE"})
    blocks = json.dumps(rendered)
    mrkdwn = " ".join(_mrkdwn(rendered))  # plain_text (the header) never parses mentions
    assert "&lt;!channel&gt;" in mrkdwn or "<!channel>" not in mrkdwn
    assert "<!channel>" not in mrkdwn and "<@U0BOSS>" not in mrkdwn and "<https://evil" not in mrkdwn
    assert "<@U0ALICE>" in blocks
    assert "ticket_claim" in blocks and "ticket_resolve" in blocks and "ticket_escalate" in blocks
    assert "<!date^" in blocks  # SLA due time, shown in each agent's own time zone
    closed = json.dumps(card_blocks(_card(status="closed"), users={}))
    assert "ticket_claim" not in closed


def _mrkdwn(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["text"])] if node.get("type") == "mrkdwn" else []
        return found + [t for v in node.values() for t in _mrkdwn(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn(v)]
    return []


def test_thread_lines() -> None:
    customer = FeedItem("interaction", 5, 1, "message", NOW, direction="in", role="customer", name="Ann",
                        text="are you there? <!here>", channel="webchat")  # fmt: skip
    assert thread_line(customer, users={}, assignee=None) == (
        ":speech_balloon: *Ann* (webchat): are you there? &lt;!here&gt;"
    )
    agent_out = FeedItem("interaction", 6, 1, "message", NOW, direction="out", role="agent", text="hi")
    assert thread_line(agent_out, users={}, assignee=None) is None
    from_slack = FeedItem(
        "event", 7, 1, "reply", NOW, actor="agent:alice", data={"text": "hi", "source": "slack"}
    )
    assert thread_line(from_slack, users={}, assignee=None) is None
    from_cli = FeedItem("event", 8, 1, "reply", NOW, actor="agent:alice", data={"text": "hi"})
    assert (
        thread_line(from_cli, users={}, assignee=None) == ":outbox_tray: *alice* replied to the customer: hi"
    )
    warning = FeedItem("event", 9, 1, "sla_warning", NOW, actor="system",
                       data={"target": "first_reply", "due_at": NOW.isoformat()})  # fmt: skip
    line = thread_line(warning, users={"alice": "U0ALICE"}, assignee="alice")
    assert line is not None and "first_reply" in line and "<@U0ALICE>" in line
    thanks = FeedItem("event", 10, 1, "closing", NOW, actor="customer", data={"intent": "thanks"})
    assert thread_line(thanks, users={}, assignee=None) == (
        ":wave: Customer closed the loop (thanks); the ticket stays solved"
    )
