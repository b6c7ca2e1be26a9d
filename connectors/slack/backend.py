"""What the Slack connector needs from the rest of Frontdesk, split by role.

Each part of the connector depends on the few methods of its role: the projection on
:class:`ProjectionFeed` and :class:`TicketCards`, the agent directory on :class:`AgentLookup`,
thread replies, card buttons and ``/ticket`` on :class:`AgentActions` and
:class:`TicketBrowser`. :class:`SlackBackend` is all of them, what the connector is built from;
``bot/slack_backend.py`` implements it on ticketing's repositories.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from connectors.slack.views import AgentRef, CardRef, Feed, TicketCard, TicketLine

__all__ = ["AgentActions", "AgentLookup", "ProjectionFeed", "SlackBackend", "TicketBrowser", "TicketCards"]


class ProjectionFeed(Protocol):
    """The projection's cursor and reads, and its single-consumer lock."""

    async def load_cursor(self) -> tuple[int, int] | None:
        """(last event id, last interaction id) projected so far, or None before the first run."""

    async def save_cursor(self, event_id: int, interaction_id: int) -> None: ...

    async def head(self) -> tuple[int, int]:
        """The newest event and interaction ids (where a first run starts: no history flood)."""

    async def feed(self, *, after_event: int, after_interaction: int, limit: int) -> Feed:
        """The next batch after the cursors. It never passes a row that may still appear: it
        stops before a hole in either source's ids until the hole fills or cannot any more."""

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only one allowed to run the projection."""


class TicketCards(Protocol):
    """Tickets' cards and where each is posted (its thread root)."""

    async def card(self, ticket_id: int, *, last_messages: int) -> TicketCard: ...

    async def card_ref(self, ticket_id: int) -> CardRef | None: ...

    async def save_card_ref(self, ticket_id: int, ref: CardRef) -> None: ...

    async def ticket_for_thread(self, channel: str, ts: str) -> int | None:
        """The ticket number whose card is the thread root ``ts`` in ``channel``."""


class AgentLookup(Protocol):
    async def find_agent(self, candidates: tuple[str, ...]) -> AgentRef | None:
        """The first agent whose handle is one of ``candidates`` (a mapped handle, an e-mail…);
        a first candidate ``slack:USER_ID`` stands for the agent of the account linked to it."""


class AgentActions(Protocol):
    """What agents do: one transaction each; ActionRefused says why nothing was done."""

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


class TicketBrowser(Protocol):
    """``/ticket list|show|search`` and the App Home tab."""

    async def show(self, number: int) -> tuple[TicketCard, list[str]]:
        """The card and the last lines of its audit trail."""

    async def open_tickets(self, handle: str | None, *, limit: int) -> list[TicketLine]:
        """Unsolved tickets assigned to ``handle`` (None: unassigned ones)."""

    async def search(self, text: str, *, limit: int) -> list[TicketLine]: ...


class SlackBackend(ProjectionFeed, TicketCards, AgentLookup, AgentActions, TicketBrowser, Protocol):
    """Every role at once: what :class:`~connectors.slack.connector.SlackConnector` is given."""
