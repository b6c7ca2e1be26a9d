"""Customers' Slack messages → :class:`InboundMessage`, replies → ``chat.postMessage`` text.

Pure functions, tested against recorded JSON (``tests/slack/payloads/``). A customer writes in a
shared (Slack Connect) channel listed in ``customer_channels`` or, with ``customer_dms``, in a
direct message to the app. In a shared channel each top-level message starts a conversation
that lives in its thread: ``external_thread_id`` is ``CHANNEL_ID:ROOT_TS`` (the root's ``ts``),
and the bot's and agents' replies are posted in that thread, so several people's questions in
one channel stay apart. A DM is one conversation, like a Telegram chat: ``external_thread_id``
is ``CHANNEL_ID:`` and replies are posted in the DM itself (customers do not thread a DM; a
thread per message would open a conversation per message). The sender is ``TEAM:USER`` (the user's own team in
a shared channel, ``user_team``), so a user id that only one workspace gives out never names
two people. The idempotency key is Slack's ``event_id``, which a retry carries unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.slack.blocks import escape
from connectors.slack.channel_name import CHANNEL
from connectors.slack.translate import SlackFile, is_from_self, parse_files
from core.contracts import Attachment, InboundMessage, OutboundMessage, SenderRole

__all__ = ["CustomerMessage", "inbound_message", "outbound_text", "parse_customer_message", "thread_of"]

_HUMAN_SUBTYPES = (None, "file_share", "thread_broadcast")
_NAME_MAX_CHARS = 64
_MAX_TEXT = 3900  # Slack truncates a message's text at 40,000 characters; keep replies readable


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """A customer's message in a shared channel or a direct message to the app."""

    event_id: str
    channel: str
    channel_type: str  # channel | group | im
    team: str  # the user's own workspace
    user: str
    ts: str
    root_ts: str  # the thread the conversation lives in (the message itself if top-level)
    text: str
    client_msg_id: str | None = None
    profile_name: str | None = None  # ``user_profile`` of a Slack Connect user's event, if sent
    files: tuple[SlackFile, ...] = ()  # files posted with it (downloaded by the connector)

    @property
    def external_user_id(self) -> str:
        return f"{self.team}:{self.user}"

    @property
    def external_thread_id(self) -> str:
        return f"{self.channel}:" if self.channel_type == "im" else f"{self.channel}:{self.root_ts}"


def parse_customer_message(body: Mapping[str, Any]) -> CustomerMessage | None:
    """An ``event_callback`` body → the customer's message, or None for anything else (bots,
    edits, deletions, messages without a user or text)."""
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("type") != "message":
        return None
    if event.get("subtype") not in _HUMAN_SUBTYPES or is_from_self(event, bot_user_id=None, bot_id=None):
        return None
    channel, ts, user, event_id = (
        event.get("channel"),
        event.get("ts"),
        event.get("user"),
        body.get("event_id"),
    )
    team = _first_str(event.get("user_team"), event.get("team"), body.get("team_id"))
    if not all(isinstance(v, str) and v for v in (channel, ts, user, event_id, team)):
        return None
    thread_ts = event.get("thread_ts")
    root = thread_ts if isinstance(thread_ts, str) and thread_ts else ts
    text = plain(str(event.get("text") or "")).strip()
    files = parse_files(event.get("files"))
    if not text and files:
        text = f"(sent {', '.join(f.name for f in files)})"
    if not text:
        return None
    client_msg_id = event.get("client_msg_id")
    profile = event.get("user_profile")
    if not isinstance(profile, Mapping):
        profile = {}
    profile_name = _first_str(profile.get("real_name"), profile.get("display_name"))
    return CustomerMessage(
        event_id=str(event_id), channel=str(channel),
        channel_type=str(event.get("channel_type") or "channel"), team=str(team), user=str(user),
        ts=str(ts), root_ts=str(root), text=text,
        client_msg_id=client_msg_id if isinstance(client_msg_id, str) else None, profile_name=profile_name,
        files=files,
    )  # fmt: skip


def inbound_message(
    message: CustomerMessage, *, name: str | None, attachments: tuple[Attachment, ...] = ()
) -> InboundMessage:
    """What the flow receives. ``name`` is the Slack profile's name (a display name only: it
    links nothing). The profile e-mail is not given as ``sender_email``, which would link the
    sender to the customer who owns that address: Frontdesk cannot verify it."""
    metadata = {"slack_event_id": message.event_id, "slack_channel_type": message.channel_type}
    if message.client_msg_id:
        metadata["slack_client_msg_id"] = message.client_msg_id
    return InboundMessage(
        channel=CHANNEL,
        external_user_id=message.external_user_id,
        external_thread_id=message.external_thread_id,
        text=message.text,
        idempotency_key=f"event:{message.event_id}",
        sender_name=name,
        reply_to=message.root_ts if message.root_ts != message.ts else None,
        external_message_id=message.ts,
        attachments=attachments,
        raw_ref=f"slack:event:{message.event_id}",
        metadata=metadata,
    )


def thread_of(message: OutboundMessage) -> tuple[str, str | None] | None:
    """(channel id, thread root ts or None for a DM) a reply goes to, or None if its thread id
    is not one of ours."""
    channel, sep, root = message.external_thread_id.partition(":")
    if not (sep and channel):
        return None
    return channel, root or None


def outbound_text(message: OutboundMessage) -> str:
    """A reply as Slack ``mrkdwn``: an agent's name on its own bold line (as web chat, email and
    Telegram show it), the text escaped, quick replies listed as what the customer may answer."""
    text = escape(message.text)
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1] + "…"
    if message.sender_role == SenderRole.AGENT:
        name = " ".join((message.sender_name or "").split())[:_NAME_MAX_CHARS] or "Agent"
        text = f"*{escape(name)}:*\n{text}"
    if message.quick_replies:
        options = " · ".join(escape(q.label) for q in message.quick_replies)
        text = f"{text}\n_Reply with:_ {options}"
    return text


def plain(text: str) -> str:
    """Slack's escaping undone (``&lt;`` → ``<``); links and mentions kept readable."""
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    text = re.sub(r"<mailto:[^|>]+\|([^>]+)>", r"\1", text)
    text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>", lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = re.sub(r"<#C[A-Z0-9]+\|([^>]*)>", r"#\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _first_str(*values: object) -> str | None:
    return next((v for v in values if isinstance(v, str) and v), None)
