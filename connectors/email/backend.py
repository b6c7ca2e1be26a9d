"""What the email connector needs from the rest of Frontdesk besides the inbound sink, by role.

Narrow on purpose (connectors import only core contracts): the ingest path asks
:class:`MailThreads` and :class:`MailKeeping`, the IMAP poller :class:`MailboxPosition`.
``bot/email_backend.py`` implements all three (:class:`EmailBackend`) on ticketing's repositories.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from core.contracts import InboundMessage, InboundResult, QuickReply

__all__ = ["EmailBackend", "MailKeeping", "MailThreads", "MailboxPosition"]


class MailThreads(Protocol):
    """Which conversation a mail belongs to, and which buttons it may be answering."""

    async def thread_for_ticket(self, number: int) -> str | None:
        """The email thread id of ticket ``T-<number>``'s conversation, if it is an email one."""

    async def thread_for_message_ids(self, message_ids: Sequence[str]) -> str | None:
        """The thread of the first of these Message-IDs Frontdesk has seen (received or sent)."""

    async def buttons_of(self, message_ids: Sequence[str]) -> tuple[QuickReply, ...]:
        """The quick replies of the first of these Message-IDs that is one of our replies (its
        text listed them for the customer to answer with), or none."""


class MailKeeping(Protocol):
    """Keeping what arrives: files, the mails not processed, the mails not answered."""

    async def store_file(self, area: str, filename: str, data: bytes) -> str:
        """Keep bytes (an attachment, a raw mail); returns the storage key."""

    async def read_file(self, storage_key: str) -> bytes | None:
        """The bytes of a reply's file (an agent's, kept by another channel), or None if gone."""

    async def quarantine(self, raw: bytes, *, reason: str) -> str:
        """Keep a mail that could not be processed, visible to operators; returns its id."""

    async def set_aside(self, raw: bytes, *, kind: str) -> str:
        """Keep a mail that is deliberately not processed (auto-reply, bounce, list, our own),
        visible to operators and re-processable; returns its id."""

    async def record_unanswered(self, message: InboundMessage, *, reason: str) -> InboundResult:
        """Store the message in its conversation (idempotently, by its key) without running the
        rules: nothing is answered and no ticket is opened."""


class MailboxPosition(Protocol):
    """Where the IMAP poller got to, and the lock that lets one process poll."""

    async def load_cursor(self, name: str) -> dict[str, Any] | None:
        """The saved IMAP position for a mailbox (UIDVALIDITY and last processed UID)."""

    async def save_cursor(self, name: str, value: dict[str, Any]) -> None: ...

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only one allowed to poll the mailbox."""


class EmailBackend(MailThreads, MailKeeping, MailboxPosition, Protocol):
    """Every role at once: what :class:`~connectors.email.EmailConnector` is given."""
