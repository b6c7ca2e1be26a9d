"""The customer at a glance: the plain values the card and the customer view show.

``bot/slack_backend.py`` fills them from ticketing's read model; :mod:`connectors.slack.customer_blocks`
renders them. Everything here is as stored: customer text is escaped only when rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CustomerFacts", "IdentityLine", "PastTicket"]


@dataclass(frozen=True, slots=True)
class IdentityLine:
    """One channel the customer is known on (web chat visitor, Telegram user, e-mail address)."""

    channel: str
    external_id: str
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class PastTicket:
    number: int
    subject: str
    status: str
    csat_score: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerFacts:
    """Who the customer of a ticket is, and how things have gone with them."""

    number: int  # the ticket they are looked at from
    name: str  # what the card calls them
    email: str | None = None  # verified
    claimed_email: str | None = None  # typed in web chat, unverified
    phone: str | None = None
    erased: bool = False
    identities: tuple[IdentityLine, ...] = ()
    past_tickets: tuple[PastTicket, ...] = ()  # their other tickets, newest first
    past_total: int = 0
    last_csat: tuple[int, int] | None = None  # (ticket number, score 1-5)
    messages: int = 0  # their newest inbound messages the trend is over
    negative: int = 0
    complaints: int = 0
    tags: tuple[str, ...] = ()  # ``segment:…`` tags are the customer's segments
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"T-{self.number}"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(t.removeprefix("segment:") for t in self.tags if t.startswith("segment:"))
