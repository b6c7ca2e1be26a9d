"""Everything a rule may look at besides the :class:`~nlp.types.Analysis`, as frozen values.

The bot fills a :class:`RuleFacts` from storage before deciding; the engine never queries
anything itself, so ``frontdesk rules test`` and the property tests can build facts by hand and
evaluation stays pure and synchronous.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from nlp.types import Analysis

__all__ = [
    "Asking",
    "ConversationFacts",
    "CustomerFacts",
    "EventKind",
    "RuleFacts",
    "TicketFacts",
    "conversation_language",
]

EventKind = Literal["message", "ticket"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_EMPTY_COUNTS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerFacts:
    name: str | None = None
    email: str | None = None
    tags: frozenset[str] = frozenset()
    attributes: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    first_contact: bool = False  # this is the customer's first conversation
    open_tickets: int = 0


@dataclass(frozen=True, slots=True)
class Asking:
    """The bot asked for a slot (a rule's ``ask``) and the next message may answer it."""

    slot: str
    rule: str  # the rule that asked; it resumes once the slot is filled
    attempts: int = 1  # how many times it has asked so far


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationFacts:
    handed_off: bool = False
    turns: int = 1  # customer messages so far, this one included
    language: str | None = None
    has_open_ticket: bool = False
    ticket_reference: str | None = None  # "T-1042" when the conversation has an open ticket
    automated_replies: int = 0  # bot replies so far in this conversation
    rule_fires: Mapping[str, int] = field(default_factory=lambda: _EMPTY_COUNTS)  # rule name → times
    recent_rules: tuple[str, ...] = ()  # rules that answered the last messages, newest last
    slots: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # values the customer gave
    asking: Asking | None = None
    ticket_priority: str | None = None  # of the open ticket
    ticket_queue: str | None = None
    ticket_status: str | None = None  # of the open ticket ("solved" until it closes)
    acknowledged: tuple[str, datetime] | None = None  # (ticket, when) the customer was last told


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketFacts:
    """A ticket change event: the ticket's fields now and the ones that changed."""

    reference: str
    status: str
    priority: str
    queue: str = "support"
    tags: frozenset[str] = frozenset()
    previous: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # field → old value (changed only)
    previous_tags: frozenset[str] | None = None  # the tags before this event, when they changed
    caused_by: tuple[str, ...] = ()  # rules whose actions led to this event, oldest first

    def changed(self, name: str) -> bool:
        return name in self.previous


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleFacts:
    channel: str = "webchat"
    event: EventKind = "message"
    customer: CustomerFacts = field(default_factory=CustomerFacts)
    conversation: ConversationFacts = field(default_factory=ConversationFacts)
    ticket: TicketFacts | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def conversation_language(analysis: Analysis, previous: str | None) -> str:
    """The conversation's language after this message, as Zendesk and Intercom decide it: the
    message's confidently detected language, else the conversation's language so far
    (``previous``), else the channel's hint, else the rulebook's default (those two are
    ``analysis.language`` when nothing was detected: nlp/pipeline.py)."""
    return analysis.detected_language or previous or analysis.language
