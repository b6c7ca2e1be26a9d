"""What the web chat connector needs from the rest of Frontdesk besides the inbound sink."""

from __future__ import annotations

from typing import Protocol

from bot.contracts import CustomerView, MessageView, SessionView

__all__ = ["WebchatBackend"]


class WebchatBackend(Protocol):
    async def start_session(self) -> SessionView:
        """A new anonymous visitor with an empty conversation."""

    async def session(self, visitor_id: str, conversation_id: str) -> SessionView | None:
        """The session if this visitor still owns this conversation, else None."""

    async def identify(
        self, visitor_id: str, conversation_id: str, *, name: str | None, email: str | None
    ) -> CustomerView:
        """Attach name/email, linking to an existing customer with that email."""

    async def history(self, conversation_id: str, *, after: int, limit: int) -> list[MessageView]:
        """Messages of the conversation with id > after, oldest first."""
