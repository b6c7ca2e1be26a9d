"""What the Slack connector reads and asks of the rest of Frontdesk: plain values and a Protocol.

The connector imports nothing of ``ticketing``; ``bot/slack_backend.py`` implements
:class:`SlackBackend` on the database and the ticket desk, returning these frozen values.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from core.errors import FrontdeskError

__all__ = [
    "ActionRefused",
    "AgentRef",
    "CardRef",
    "Feed",
    "FeedItem",
    "MessageLine",
    "SlackBackend",
    "TicketCard",
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

    @property
    def reference(self) -> str:
        return f"T-{self.number}"


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


@dataclass(frozen=True, slots=True)
class Feed:
    """One batch: the items in order, and where the cursors may move once all of them are applied.
    ``waiting``: a source stopped before a hole in its ids (a row committed out of id order, or
    a rolled-back insert), so the next batch is worth asking for soon."""

    items: tuple[FeedItem, ...]
    cursor: tuple[int, int]  # (event id, interaction id)
    waiting: bool = False


class SlackBackend(Protocol):
    # -- the projection's cursor and reads ------------------------------------------------------
    async def load_cursor(self) -> tuple[int, int] | None:
        """(last event id, last interaction id) projected so far, or None before the first run."""

    async def save_cursor(self, event_id: int, interaction_id: int) -> None: ...

    async def head(self) -> tuple[int, int]:
        """The newest event and interaction ids (where a first run starts: no history flood)."""

    async def feed(self, *, after_event: int, after_interaction: int, limit: int) -> Feed:
        """The next batch after the cursors. It never passes a row that may still appear: it
        stops before a hole in either source's ids until the hole fills or cannot any more."""

    async def card(self, ticket_id: int, *, last_messages: int) -> TicketCard: ...

    async def card_ref(self, ticket_id: int) -> CardRef | None: ...

    async def save_card_ref(self, ticket_id: int, ref: CardRef) -> None: ...

    async def ticket_for_thread(self, channel: str, ts: str) -> int | None:
        """The ticket number whose card is the thread root ``ts`` in ``channel``."""

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only one allowed to run the projection."""

    # -- agents ---------------------------------------------------------------------------------
    async def find_agent(self, candidates: tuple[str, ...]) -> AgentRef | None:
        """The first agent whose handle is one of ``candidates`` (a mapped handle, an e-mail…)."""

    # -- what agents do: one transaction each; ActionRefused says why nothing was done --------
    async def reply(self, number: int, text: str, *, agent: AgentRef, key: str) -> bool:
        """Agent reply to the customer through the outbox; False if ``key`` was seen before."""

    async def note(self, number: int, text: str, *, agent: AgentRef, key: str) -> bool: ...

    async def card_action(
        self,
        number: int,
        action: str,
        *,
        agent: AgentRef,
        key: str,
        priority: str | None = None,
        queue: str | None = None,
    ) -> bool:
        """A card button or menu choice (``claim`` | ``resolve`` | ``priority`` | ``escalate``)
        and its idempotency key ``key``, in one transaction; False if ``key`` was seen before."""

    async def assign(self, number: int, handle: str | None, *, actor: str) -> None: ...

    async def set_status(self, number: int, status: str, *, actor: str) -> None: ...

    async def show(self, number: int) -> tuple[TicketCard, list[str]]:
        """The card and the last lines of its audit trail."""

    async def open_tickets(self, handle: str | None, *, limit: int) -> list[TicketLine]:
        """Unsolved tickets assigned to ``handle`` (None: unassigned ones)."""

    async def search(self, text: str, *, limit: int) -> list[TicketLine]: ...
