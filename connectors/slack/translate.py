"""Slack payloads → Frontdesk values: pure functions, tested against recorded JSON.

Three kinds of input reach Frontdesk from Slack: ``message`` events in a ticket's thread (an
agent's reply, ``note:`` or ``macro: NAME``), ``block_actions`` from a ticket card's buttons and menu, and
``/ticket`` slash commands. Each parser returns a frozen value or None for payloads that are
not meant for Frontdesk (bot messages, edits, messages outside a thread, unknown actions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.slack.blocks import (
    ACTION_ASSIGNEE,
    ACTION_CLAIM,
    ACTION_CUSTOMER,
    ACTION_ESCALATE,
    ACTION_PRIORITY,
    ACTION_QUEUE,
    ACTION_RESOLVE,
    ACTION_STATUS,
    PRIORITIES,
    STATUS_CHOICES,
)
from connectors.slack.channel_name import CHANNEL

__all__ = [
    "CHANNEL",
    "CardAction",
    "SlackFile",
    "SlashCommand",
    "ThreadMessage",
    "is_from_self",
    "parse_action",
    "parse_command",
    "parse_files",
    "parse_thread_message",
]

_HUMAN_SUBTYPES = (None, "file_share", "thread_broadcast")
_NOTE = re.compile(r"^\s*note:\s*", re.IGNORECASE)
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_TICKET = re.compile(r"^(?:T-?)?\d+$", re.IGNORECASE)
_ACTIONS = (ACTION_CLAIM, ACTION_RESOLVE, ACTION_ESCALATE, ACTION_PRIORITY, ACTION_STATUS, ACTION_QUEUE,
            ACTION_ASSIGNEE, ACTION_CUSTOMER)  # fmt: skip
_BLOCK_TICKET = re.compile(r"^ticket-(\d+)(?:-|$)")
EDIT_VERBS = ("status", "reopen", "priority", "tag", "untag", "queue")  # connectors/slack/edits.py
VERBS = ("list", "show", "assign", "solve", "search", "help", "customer", *EDIT_VERBS, "macro", "macros")
_MACRO = re.compile(r"^\s*macro:\s*", re.IGNORECASE)  # `macro: NAME` in a thread (rules/macros.py)
_NEEDS = {"status": "a status, e.g. `status T-1042 pending`", "priority": "one, e.g. `priority T-1042 high`",
          "tag": "tags, e.g. `tag T-1042 vip refund`", "untag": "tags, e.g. `untag T-1042 refund`",
          "queue": "a queue, e.g. `queue T-1042 tier2`"}  # fmt: skip


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
    files: tuple[SlackFile, ...] = ()  # files posted with it (``file_share``, or a plain message)
    macro: str | None = None  # ``macro: NAME``: apply that macro instead of sending the text


@dataclass(frozen=True, slots=True)
class SlackFile:
    """A file an agent posted in a thread, as the event describes it."""

    id: str
    name: str
    mimetype: str
    size: int
    url: str | None  # ``url_private_download``: fetched with the bot token; None: ask files.info


@dataclass(frozen=True, slots=True)
class CardAction:
    """A press of a card's button or a choice in one of its menus."""

    action: str  # claim | resolve | escalate | priority | status | queue | assignee | customer
    number: int
    user: str
    key: str  # unique per press: Slack's retry of the same request carries the same one
    priority: str | None = None
    channel: str | None = None
    value: str | None = None  # the status or queue chosen, the Slack user picked as assignee
    trigger_id: str | None = None  # lets the answer open a modal (the customer view)


@dataclass(frozen=True, slots=True)
class SlashCommand:
    verb: str  # one of VERBS; "help" for anything unknown
    ticket: str | None = None  # "T-1042"
    target_user: str | None = None  # a Slack user id from an escaped mention
    target_handle: str | None = None  # or an agent handle written as @alice
    query: str = ""
    error: str | None = None
    args: tuple[str, ...] = ()  # what follows the ticket (status, priority, tags, queue)


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
    files = parse_files(event.get("files"))
    if not text.strip() and not files:
        return None
    macro = _MACRO.match(text) if note is None else None  # anything after `macro:` is a name, never sent
    return ThreadMessage(
        str(event_id), str(channel), str(thread_ts), str(ts), str(user), text.strip(), bool(note), files,
        macro=text[macro.end() :].strip() if macro is not None else None,
    )  # fmt: skip


def parse_files(value: Any) -> tuple[SlackFile, ...]:
    """A message's ``files`` (a list of file objects); entries without an id are left out."""
    if not isinstance(value, list):
        return ()
    found = []
    for f in value:
        if not isinstance(f, Mapping) or not isinstance(f.get("id"), str) or f.get("mode") == "tombstone":
            continue
        url = f.get("url_private_download") or f.get("url_private")
        size = f.get("size")
        found.append(
            SlackFile(
                id=f["id"],
                name=str(f.get("name") or f.get("title") or f["id"]),
                mimetype=str(f.get("mimetype") or "application/octet-stream"),
                size=size if isinstance(size, int) else 0,
                url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
            )
        )
    return tuple(found)


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
    choice: str | None = None
    if action_id in (ACTION_PRIORITY, ACTION_STATUS, ACTION_QUEUE):
        value = str((action.get("selected_option") or {}).get("value", ""))
        number_text, _, choice = value.partition(":")
        if action_id == ACTION_PRIORITY:
            priority, choice = choice, None
            if priority not in PRIORITIES:
                return None
        elif not choice or (action_id == ACTION_STATUS and choice not in STATUS_CHOICES):
            return None
    elif action_id == ACTION_ASSIGNEE:  # a users_select has no value: the block names the ticket
        block = _BLOCK_TICKET.match(str(action.get("block_id", "")))
        choice = action.get("selected_user")
        if block is None or not isinstance(choice, str) or not choice:
            return None
        number_text = block.group(1)
    else:
        number_text = str(action.get("value", ""))
    if not number_text.isdigit():
        return None
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    key = f"action:{user}:{action.get('action_ts')}:{action_id}"
    trigger = body.get("trigger_id")
    return CardAction(
        action=str(action_id).removeprefix("ticket_"),
        number=int(number_text),
        user=user,
        key=key,
        priority=priority,
        channel=channel if isinstance(channel, str) else None,
        value=choice,
        trigger_id=trigger if isinstance(trigger, str) else None,
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
    if verb == "macros":
        return SlashCommand("macros")
    if verb in EDIT_VERBS or verb in ("customer", "macro"):
        return _ticket_first(verb, rest)
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


def _ticket_first(verb: str, rest: list[str]) -> SlashCommand:
    """``VERB T-1042 args…``: the ticket comes first, so a tag may be a number."""
    if not rest or not _TICKET.match(rest[0]):
        return SlashCommand(verb, error=f"{verb} needs a ticket first, e.g. `{verb} T-1042`")
    ticket = rest[0].upper()
    ticket = ticket if ticket.startswith("T") else f"T-{ticket}"
    if verb in _NEEDS and len(rest) < 2:
        return SlashCommand(verb, ticket=ticket, error=f"{verb} needs {_NEEDS[verb]}")
    # Slack escapes ``&``, ``<``, ``>`` in a command's text: tags and names are stored as typed.
    return SlashCommand(verb, ticket=ticket, args=tuple(_unescape(w) for w in rest[1:]))


def _unescape(word: str) -> str:
    return word.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
