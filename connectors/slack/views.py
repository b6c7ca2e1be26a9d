"""The plain values the Slack connector reads from the rest of Frontdesk.

The connector imports nothing of ``ticketing``; ``bot/slack_backend.py`` implements the
protocols of :mod:`connectors.slack.backend` on ticketing's repositories, returning these frozen
values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from connectors.slack.glance import CustomerFacts
from core.contracts import Attachment
from core.errors import FrontdeskError

__all__ = [
    "ActionRefused",
    "AgentRef",
    "CardRef",
    "Feed",
    "FeedItem",
    "MessageLine",
    "TicketCard",
    "TicketEdit",
    "TicketLine",
]


class ActionRefused(FrontdeskError):
    """An agent's action cannot be done (closed ticket, unknown agent); the text says why and is
    shown to the agent, and nothing has been written."""


@dataclass(frozen=True, slots=True)
class MessageLine:
    role: str  # customer | bot | agent | system
    name: str | None
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TicketCard:
    """Everything a ticket's Slack card shows, read fresh from the database."""

    id: int
    number: int
    subject: str
    status: str
    priority: str
    queue: str
    assignee: str | None
    customer: str
    channel: str
    intent: str | None
    sentiment: str | None
    sla_due: datetime | None
    tags: tuple[str, ...] = ()
    last_messages: tuple[MessageLine, ...] = ()
    last_interaction_id: int | None = None
    customer_facts: CustomerFacts | None = None  # the customer at a glance (full cards only)
    queues: tuple[str, ...] = ()  # every queue, for the card's queue menu (full cards only)

    @property
    def reference(self) -> str:
        return f"T-{self.number}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketEdit:
    """An agent's change to a ticket's fields from Slack (card menus, ``/ticket`` subcommands);
    ``assignee`` is applied only when ``set_assignee`` (None then unassigns)."""

    status: str | None = None
    priority: str | None = None
    queue: str | None = None
    set_assignee: bool = False
    assignee: str | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TicketLine:
    """One ticket in a list (slash command, App Home)."""

    number: int
    subject: str
    status: str
    priority: str
    assignee: str | None
    sla_due: datetime | None


@dataclass(frozen=True, slots=True)
class CardRef:
    channel: str
    ts: str
    covered_interaction_id: int | None


@dataclass(frozen=True, slots=True)
class SlackDeletion:
    """A Slack message to delete (``kind`` ``message``), a file (``file``: ``ts`` is its id) or
    a ticket card to redact (``card``): an erased customer's (connectors/slack/erasure.py)."""

    id: int
    channel: str
    ts: str
    kind: str
    attempts: int


@dataclass(frozen=True, slots=True)
class AgentRef:
    handle: str
    display_name: str | None

    @property
    def name(self) -> str:
        return self.display_name or self.handle


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of the audit trail (a ticket event) or one ticket-linked message."""

    source: Literal["event", "interaction"]
    id: int
    ticket_id: int
    kind: str  # the event kind, or "message" for an interaction
    created_at: datetime
    actor: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    direction: str | None = None  # in | out
    role: str | None = None
    name: str | None = None
    text: str = ""
    channel: str | None = None
    attachments: tuple[Attachment, ...] = ()  # a message's files (bytes read through ThreadFiles)


@dataclass(frozen=True, slots=True)
class Feed:
    """One batch: the items in order, and where the cursors may move once all of them are applied.
    ``waiting``: a source stopped before a hole in its ids (a row committed out of id order, or
    a rolled-back insert), so the next batch is worth asking for soon."""

    items: tuple[FeedItem, ...]
    cursor: tuple[int, int]  # (event id, interaction id)
    waiting: bool = False
