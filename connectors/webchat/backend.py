"""What the web chat connector needs from the rest of Frontdesk besides the inbound sink."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from core.contracts import Attachment, CustomerView, MessageView, SessionView

__all__ = ["LiveFanout", "WebchatBackend"]


class WebchatBackend(Protocol):
    async def start_session(self) -> SessionView:
        """A new anonymous visitor with an empty conversation."""

    async def session(self, visitor_id: str, conversation_id: str) -> SessionView | None:
        """The session if this visitor still owns this conversation, else None."""

    async def identify(
        self, visitor_id: str, conversation_id: str, *, name: str | None, email: str | None
    ) -> CustomerView:
        """Attach a name and an *unverified* email to the visitor's own customer record.

        Never links to another customer on the visitor's word alone; the answer is the visitor's
        own record (the email they typed), nothing of anyone else's."""

    async def seen(self, visitor_id: str, conversation_id: str, *, up_to: int) -> None:
        """The widget showed this visitor's conversation up to message ``up_to`` in an open chat:
        agents' replies up to there need no email copy."""

    async def history(
        self, visitor_id: str, conversation_id: str, *, after: int, limit: int
    ) -> list[MessageView] | None:
        """Messages of the conversation with id > after, oldest first; None if this visitor no
        longer owns the conversation (it was erased)."""

    async def attachment(
        self, visitor_id: str, conversation_id: str, *, interaction_id: int, index: int
    ) -> tuple[Attachment, bytes] | None:
        """File ``index`` of message ``interaction_id`` with its bytes, if that message is in
        this visitor's own conversation and the file is still stored; else None."""

    async def store_upload(self, *, filename: str, data: bytes) -> str:
        """Keep a file a visitor sent; returns its storage key. Stored by content: the same
        bytes under the same name (a retried message) are written once."""


class LiveFanout(Protocol):
    """Carries live events (new message, typing) to every process that may hold the sockets.

    On SQLite there is one process and this is a direct call; on PostgreSQL every process
    publishes and listens, so a reply delivered by one process reaches a socket held by another.
    """

    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, handler: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None: ...
