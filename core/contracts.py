"""Message types that flow between connectors, the conversation flow and the outbox.

One frozen :class:`InboundMessage` enters the flow per customer (or agent) message on any
channel; the flow answers with frozen :class:`OutboundMessage` values that the outbox hands
to the channel's connector. The fields cover all four channels (web chat, Slack, Telegram,
email) so a new channel needs a connector, not a change here:

* ``external_user_id`` / ``external_thread_id`` identify who wrote and in which thread
  (web chat visitor + conversation, Telegram chat, email address + thread root, Slack user +
  ticket thread);
* ``subject``, ``reply_to`` and ``attachments`` carry what email and Slack need;
* ``sender_role`` tells customer messages from agent messages that arrive on the same
  channel (an agent replying in a Slack thread);
* ``idempotency_key`` is the channel's own delivery id (client message id, Telegram
  ``update_id``, Message-ID, Slack ``event_id``) so a retried delivery never duplicates;
* ``conversation_must_exist`` marks channels whose conversations are opened only by a session
  handshake (web chat): such a message never creates one, and the sink raises
  :class:`ConversationGone` when it no longer exists (the customer was erased).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from core.errors import FrontdeskError

__all__ = [
    "Attachment",
    "ConversationGone",
    "CustomerView",
    "InboundMessage",
    "InboundResult",
    "InboundSink",
    "MessageView",
    "OutboundMessage",
    "QuickReply",
    "SenderRole",
    "SessionView",
    "attachments_of",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _frozen_map(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(data or {}))


class SenderRole(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with (or goes out with) a message; bytes live in attachment storage."""

    filename: str
    content_type: str
    size: int
    storage_key: str | None = None  # where the bytes are kept, if they were downloaded
    url: str | None = None  # where the channel serves them, if it does

    def stored(self) -> dict[str, Any]:
        """As an interaction's ``attachments`` column keeps it (read back by :func:`attachments_of`)."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "storage_key": self.storage_key,
            "url": self.url,
        }


def attachments_of(stored: Any) -> tuple[Attachment, ...]:
    """An interaction's or outbox payload's ``attachments`` (a list of dicts, as stored) as
    values; malformed entries are left out."""
    if not isinstance(stored, list | tuple):
        return ()
    return tuple(
        Attachment(
            filename=str(a.get("filename") or "file"),
            content_type=str(a.get("content_type") or "application/octet-stream"),
            size=int(a.get("size") or 0),
            storage_key=a.get("storage_key") if isinstance(a.get("storage_key"), str) else None,
            url=a.get("url") if isinstance(a.get("url"), str) else None,
        )
        for a in stored
        if isinstance(a, dict)
    )


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A button the customer can press instead of typing; ``payload`` is sent back as text."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: str
    external_user_id: str
    external_thread_id: str
    text: str
    idempotency_key: str
    received_at: datetime = field(default_factory=utcnow)
    sender_role: SenderRole = SenderRole.CUSTOMER
    sender_name: str | None = None
    sender_email: str | None = None
    subject: str | None = None
    reply_to: str | None = None  # the channel's id of the message this one answers
    external_message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    language: str | None = None
    raw_ref: str | None = None  # where the raw payload is kept (quarantine key, raw mail id)
    metadata: Mapping[str, str] = field(default_factory=_frozen_map)
    conversation_must_exist: bool = False  # web chat: only the session handshake opens one


class ConversationGone(FrontdeskError):
    """The message's conversation no longer exists (its customer was erased), and the channel
    may not open a new one from a message: the sender must start a new session.

    Here, beside the sink it crosses, because ticketing raises it and connectors answer it."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    channel: str
    external_user_id: str
    external_thread_id: str
    text: str
    interaction_id: int
    conversation_id: int
    sender_role: SenderRole = SenderRole.BOT
    sender_name: str | None = None
    subject: str | None = None
    in_reply_to: str | None = None  # channel id of the customer message being answered
    quick_replies: tuple[QuickReply, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    created_at: datetime = field(default_factory=utcnow)
    metadata: Mapping[str, str] = field(default_factory=_frozen_map)


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What the flow tells the connector after the inbound message is committed."""

    interaction_id: int
    duplicate: bool
    received_at: datetime
    replies: tuple[OutboundMessage, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageView:
    """One message of a conversation as a channel shows it (web chat history, Slack mirror)."""

    id: int
    direction: str  # "in" (from the customer) | "out" (to the customer)
    sender_role: SenderRole
    sender_name: str | None
    text: str
    created_at: datetime
    external_message_id: str | None = None
    quick_replies: tuple[QuickReply, ...] = ()
    attachments: tuple[Attachment, ...] = ()  # ``url``: where the channel serves each file


@dataclass(frozen=True, slots=True)
class CustomerView:
    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class SessionView:
    """A channel session (web chat visitor): who they are and which conversation is theirs."""

    visitor_id: str
    conversation_id: str  # the conversation's public id
    customer: CustomerView


InboundSink = Callable[[InboundMessage], Awaitable[InboundResult]]
