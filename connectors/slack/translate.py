"""Slack payloads → Frontdesk values: pure functions, tested against recorded JSON.

Three kinds of input reach Frontdesk from Slack: ``message`` events in a ticket's thread (an
agent's reply or ``note:``), ``block_actions`` from a ticket card's buttons and menu, and
``/ticket`` slash commands. Each parser returns a frozen value or None for payloads that are
not meant for Frontdesk (bot messages, edits, messages outside a thread, unknown actions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.slack.blocks import ACTION_CLAIM, ACTION_ESCALATE, ACTION_PRIORITY, ACTION_RESOLVE, PRIORITIES
from connectors.slack.channel_name import CHANNEL

__all__ = [
    "CHANNEL",
    "CardAction",
    "SlashCommand",
    "ThreadMessage",
    "is_from_self",
    "parse_action",
    "parse_command",
    "parse_thread_message",
]

_HUMAN_SUBTYPES = (None, "file_share", "thread_broadcast")
_NOTE = re.compile(r"^\s*note:\s*", re.IGNORECASE)
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_TICKET = re.compile(r"^(?:T-?)?\d+$", re.IGNORECASE)
_ACTIONS = (ACTION_CLAIM, ACTION_RESOLVE, ACTION_ESCALATE, ACTION_PRIORITY)
VERBS = ("list", "show", "assign", "solve", "search", "help")


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """An agent's message in a ticket's thread."""

    event_id: str
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str  # without the ``note:`` prefix
    is_note: bool


@dataclass(frozen=True, slots=True)
class CardAction:
    """A press of a card's button or a choice in its priority menu."""

    action: str  # claim | resolve | escalate | priority
    number: int
    user: str
    key: str  # unique per press: Slack's retry of the same request carries the same one
    priority: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class SlashCommand:
    verb: str  # one of VERBS; "help" for anything unknown
    ticket: str | None = None  # "T-1042"
    target_user: str | None = None  # a Slack user id from an escaped mention
    target_handle: str | None = None  # or an agent handle written as @alice
    query: str = ""
    error: str | None = None


def is_from_self(event: Mapping[str, Any], *, bot_user_id: str | None, bot_id: str | None) -> bool:
    """True for messages Frontdesk (or any bot) posted: they must never become input."""
    if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("bot_profile"):
        return True
    if bot_id is not None and event.get("bot_id") == bot_id:
        return True
    return bot_user_id is not None and event.get("user") == bot_user_id


def parse_thread_message(body: Mapping[str, Any]) -> ThreadMessage | None:
    """An ``event_callback`` body → the agent's thread message, or None if it is not one."""
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("type") != "message":
        return None
    if event.get("subtype") not in _HUMAN_SUBTYPES or is_from_self(event, bot_user_id=None, bot_id=None):
        return None
    thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
    channel, event_id = event.get("channel"), body.get("event_id")
    if not all(isinstance(v, str) and v for v in (thread_ts, ts, user, channel, event_id)) or thread_ts == ts:
        return None
    text = _plain(str(event.get("text") or ""))
    note = _NOTE.match(text)
    if note is not None:
        text = text[note.end() :]
    if not text.strip():
        return None
    return ThreadMessage(
        str(event_id), str(channel), str(thread_ts), str(ts), str(user), text.strip(), bool(note)
    )


def _plain(text: str) -> str:
    """Slack's escaping undone for text that goes to a customer (``&lt;`` → ``<``); links kept readable."""
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    text = re.sub(r"<mailto:[^|>]+\|([^>]+)>", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_action(body: Mapping[str, Any]) -> CardAction | None:
    """A ``block_actions`` body → the card action, or None for actions that are not ours."""
    actions = body.get("actions")
    user = (body.get("user") or {}).get("id")
    if not isinstance(actions, list) or not actions or not isinstance(user, str):
        return None
    action = actions[0]
    action_id = action.get("action_id")
    if action_id not in _ACTIONS:
        return None
    priority: str | None = None
    if action_id == ACTION_PRIORITY:
        value = str((action.get("selected_option") or {}).get("value", ""))
        number_text, _, priority = value.partition(":")
        if priority not in PRIORITIES:
            return None
    else:
        number_text = str(action.get("value", ""))
    if not number_text.isdigit():
        return None
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    key = f"action:{user}:{action.get('action_ts')}:{action_id}"
    return CardAction(
        action=str(action_id).removeprefix("ticket_"),
        number=int(number_text),
        user=user,
        key=key,
        priority=priority,
        channel=channel if isinstance(channel, str) else None,
    )


def parse_command(text: str) -> SlashCommand:
    """``list`` | ``show T-1042`` | ``assign T-1042 @x`` | ``solve T-1042`` | ``search words``."""
    words = text.split()
    if not words:
        return SlashCommand("help")
    verb, rest = words[0].lower(), words[1:]
    if verb not in VERBS:
        return SlashCommand("help", error=f"unknown action {words[0]!r}")
    if verb == "list":
        return SlashCommand("list")
    if verb == "search":
        query = text.split(None, 1)[1].strip() if rest else ""
        return SlashCommand("search", query=query, error=None if query else "search needs some text")
    tickets = [w for w in rest if _TICKET.match(w)]
    ticket = tickets[0].upper() if tickets else None
    if ticket is not None and not ticket.startswith("T"):
        ticket = f"T-{ticket}"
    if ticket is None and verb in ("show", "assign", "solve"):
        return SlashCommand(verb, error=f"{verb} needs a ticket, e.g. `{verb} T-1042`")
    if verb != "assign":
        return SlashCommand(verb, ticket=ticket)
    others = [w for w in rest if not _TICKET.match(w)]
    if not others:
        return SlashCommand(
            "assign", ticket=ticket, error="assign needs someone, e.g. `assign T-1042 @alice`"
        )
    mention = _USER_MENTION.match(others[0])
    if mention is not None:
        return SlashCommand("assign", ticket=ticket, target_user=mention.group(1))
    return SlashCommand("assign", ticket=ticket, target_handle=others[0].lstrip("@"))
