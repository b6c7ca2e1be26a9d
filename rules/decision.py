"""What the rule engine decides: ordered actions plus which rule fired and why.

The engine never performs an action; the bot executes a :class:`Decision`. That keeps rule
evaluation pure (``frontdesk rules test`` can show a decision without side effects) and lets
storage apply all of a message's effects in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Action", "Decision", "HandOff", "OpenTicket", "QuickReplyButton", "Reply"]


@dataclass(frozen=True, slots=True)
class QuickReplyButton:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """Send text to the customer. ``{ticket}`` and other variables are filled in by the bot."""

    template: str
    quick_replies: tuple[QuickReplyButton, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """Open a ticket, or add the message to the conversation's open ticket if it has one."""

    subject: str
    queue: str = "support"
    priority: str = "normal"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandOff:
    """From now on an agent answers this conversation; the bot stays quiet."""


Action = Reply | OpenTicket | HandOff


@dataclass(frozen=True, slots=True)
class Decision:
    actions: tuple[Action, ...]
    rule: str
    reason: str
