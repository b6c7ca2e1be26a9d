"""The narrow protocol every channel connector implements.

A connector verifies and translates what its channel sends (translation is a pure function in
the connector's own module), hands each :class:`~core.contracts.InboundMessage` to the injected
sink, and delivers :class:`~core.contracts.OutboundMessage` values that the outbox gives it.
Telling its own echoes (the bot's messages coming back) from input is each connector's own
business, inside its translation: nothing generic sees a channel's raw payloads.
"""

from __future__ import annotations

from typing import Protocol

from core.contracts import InboundSink, OutboundMessage
from core.errors import FrontdeskError

__all__ = ["BadRequest", "Connector", "DeliveryError"]


class BadRequest(FrontdeskError):
    """A request a connector refuses; the server answers ``status`` with ``code`` and ``message``.

    ``message`` is shown to the client, so it must say what to fix and never echo secrets.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class DeliveryError(FrontdeskError):
    """A delivery failed in a way that is worth retrying later (channel down, rate limited)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Connector(Protocol):
    name: str

    async def start(self, sink: InboundSink) -> None:
        """Begin receiving (register routes, start polling); inbound messages go to ``sink``."""

    async def stop(self) -> None:
        """Stop receiving and release the connector's resources."""

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver one message; return the channel's id for it. Raise DeliveryError to retry."""
