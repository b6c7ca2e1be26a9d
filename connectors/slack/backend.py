"""What the Slack connector needs from the rest of Frontdesk, split by role.

Each part of the connector depends on the few methods of its role: the projection on
:class:`ProjectionFeed` and :class:`TicketCards`, the agent directory on :class:`AgentLookup`,
thread replies, card buttons and ``/ticket`` on :class:`AgentActions` and
:class:`TicketBrowser`. :class:`SlackBackend` is all of them, what the connector is built from;
``bot/slack_backend.py`` implements it on ticketing's repositories.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from connectors.slack.glance import CustomerFacts
from connectors.slack.views import AgentRef, CardRef, Feed, SlackDeletion, TicketCard, TicketEdit, TicketLine
from core.contracts import Attachment

__all__ = [
    "AgentActions",
    "AgentLookup",
    "CustomerProfiles",
    "FileStore",
    "MacroDesk",
    "ProjectionFeed",
    "SlackBackend",
    "SlackCopies",
    "TicketBrowser",
    "TicketCards",
]


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

    async def card(self, ticket_id: int, *, last_messages: int, glance: bool = False) -> TicketCard:
        """The card's facts; ``glance``: with the customer at a glance and the queues (the card
        itself; thread lines and ``/ticket show`` need neither)."""

    async def card_ref(self, ticket_id: int) -> CardRef | None: ...

    async def save_card_ref(self, ticket_id: int, ref: CardRef) -> None: ...

    async def ticket_for_thread(self, channel: str, ts: str) -> int | None:
        """The ticket number whose card is the thread root ``ts`` in ``channel``."""


class SlackCopies(Protocol):
    """Where the Slack messages showing a ticket's customer are, so that an erasure deletes them."""

    async def posted(self, ticket_id: int, channel: str, ts: str, *, kind: str, shows: datetime) -> None:
        """Slack accepted a post about ``ticket_id`` (``kind``: ``message`` | ``card`` | ``file``,
        ``ts`` then the file's id) that shows what was written at ``shows``; idempotent."""

    async def deletions_due(self, *, limit: int) -> list[SlackDeletion]:
        """An erased customer's Slack messages whose deletion is due (the erase scheduled them)."""

    async def deletion_done(self, deletion_id: int) -> None:
        """Deleted (or already gone): forget it."""

    async def deletion_later(self, deletion_id: int, error: str) -> None:
        """Slack was unavailable: try again after a backoff."""

    async def deletion_refused(self, deletion_id: int, error: str) -> None:
        """Slack refused for good: keep it as failed, with Slack's error."""


class AgentLookup(Protocol):
    async def find_agent(self, candidates: tuple[str, ...]) -> AgentRef | None:
        """The first agent whose handle is one of ``candidates`` (a mapped handle, an e-mail…);
        a first candidate ``slack:USER_ID`` stands for the agent of the account linked to it."""


class AgentActions(Protocol):
    """What agents do: one transaction each; ActionRefused says why nothing was done."""

    async def reply(
        self, number: int, text: str, *, agent: AgentRef, key: str, attachments: tuple[Attachment, ...] = ()
    ) -> bool:
        """Agent reply to the customer through the outbox, with the files the agent posted
        (stored through :class:`FileStore`); False if ``key`` was seen before."""

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

    async def edit(self, number: int, edit: TicketEdit, *, agent: AgentRef, key: str) -> bool:
        """Status (reopen too), priority, tags, queue or assignee from the card's menus or
        ``/ticket``, with its idempotency key, in one transaction; False if ``key`` was seen."""


class FileStore(Protocol):
    """The bytes of message files: agents' files kept, customers' files read for the thread."""

    async def store_file(self, *, filename: str, content_type: str, data: bytes) -> str:
        """Keep a file an agent posted; returns its storage key."""

    async def read_file(self, storage_key: str) -> bytes | None:
        """A stored file's bytes, or None when they are gone (erased, deleted, never kept)."""


class TicketBrowser(Protocol):
    """``/ticket list|show|search`` and the App Home tab."""

    async def show(self, number: int) -> tuple[TicketCard, list[str]]:
        """The card and the last lines of its audit trail."""

    async def open_tickets(self, handle: str | None, *, limit: int) -> list[TicketLine]:
        """Unsolved tickets assigned to ``handle`` (None: unassigned ones)."""

    async def search(self, text: str, *, limit: int) -> list[TicketLine]: ...

    async def customer(self, number: int, *, agent: AgentRef) -> CustomerFacts:
        """The ticket's customer at a glance, for an agent whose account may read customers."""


class CustomerProfiles(Protocol):
    """Customers writing in Slack (``connectors/slack/customers.py``)."""

    async def claim_email(
        self, channel: str, external_user_id: str, external_thread_id: str, *, name: str | None, email: str
    ) -> None:
        """Keep ``email`` (a Slack profile's, which Frontdesk cannot verify) as the claimed e-mail
        of the customer writing in that thread, creating the conversation if needed (named
        ``name``). Never links or merges records on it."""


class MacroDesk(Protocol):
    """Macros (``macros.yml``): canned replies with actions, from a thread or ``/ticket``."""

    async def macro_list(self) -> list[tuple[str, str]]:
        """(name, title) of every macro of the live rulebook, in file order."""

    async def apply_macro(self, number: int, name: str, *, agent: AgentRef, key: str) -> bool:
        """The macro's reply to the customer and its actions, with ``key``, in one transaction;
        False if ``key`` was seen before. ActionRefused says why nothing was done (no such
        macro, a variable the ticket has no value for, not allowed, a closed ticket)."""


class SlackBackend(
    ProjectionFeed,
    TicketCards,
    AgentLookup,
    AgentActions,
    TicketBrowser,
    CustomerProfiles,
    FileStore,
    MacroDesk,
    SlackCopies,
    Protocol,
):
    """Every role at once: what :class:`~connectors.slack.connector.SlackConnector` is given."""
