"""The records a turn is made of: what arrives, what the rules plan, what is stored."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ticketing.customers import ConversationRef
from ticketing.turn_state import ConversationState

__all__ = [
    "InboundRecord",
    "Plan",
    "PlannedTurn",
    "Planner",
    "ReplyRecord",
    "StoredReply",
    "TicketDraft",
    "Turn",
    "TurnResult",
]


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """One inbound message as storage sees it (the bot builds it from an InboundMessage)."""

    conversation: ConversationRef
    channel: str
    idempotency_key: str
    text: str
    received_at: datetime
    sender_role: str = "customer"
    sender_name: str | None = None
    subject: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    external_message_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.idempotency_key)


@dataclass(frozen=True, slots=True)
class TicketDraft:
    number: int
    subject: str
    actor: str  # who opened it: "rule:fallback", "agent:U123"
    queue: str = "support"
    priority: str = "normal"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplyRecord:
    text: str
    delivery: dict[str, Any]  # what the outbox needs to deliver it (channel addressing)
    sender_role: str = "bot"
    sender_name: str | None = None
    rule: str | None = None
    quick_replies: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    analysis: dict[str, Any] | None = None
    open_ticket: TicketDraft | None = None
    hand_off: bool = False
    replies: tuple[ReplyRecord, ...] = ()
    rules_fired: tuple[str, ...] = ()
    customer_tags: tuple[str, ...] | None = None  # the customer's new tag set, when changed
    customer_attributes: Mapping[str, Any] | None = None  # the new attributes, when changed
    ticket_tags: tuple[str, ...] | None = None  # the open ticket's new tag set, when changed
    ticket_events: tuple[tuple[str, str, dict[str, Any]], ...] = ()  # (actor, kind, data): notes, ...
    close_conversation: bool = False
    dialog: Mapping[str, Any] | None = None  # the conversation's new dialog (slots, question), when changed
    ticket_priority: str | None = None  # raise the open ticket to this priority (rare: its own statements)
    keep_solved: bool = False  # a closing message ("thanks"): its solved ticket is not reopened
    language: str | None = None  # the conversation's language from now on (None: unchanged)


# Decides a turn from the conversation state; takes ticket numbers from the callable it is
# given. Runs inside the write transaction: it must be quick, pure and must not raise.
Planner = Callable[[ConversationState, Callable[[], int]], Plan]


@dataclass(frozen=True, slots=True)
class Turn:
    record: InboundRecord
    plan: Planner
    # Only recorded (a mail over its sender's rate limit): it joins the conversation and its open
    # ticket, but answers no satisfaction question, reopens nothing and starts no SLA clock.
    record_only: bool = False


@dataclass(frozen=True, slots=True)
class StoredReply:
    interaction_id: int
    created_at: datetime
    record: ReplyRecord


@dataclass(frozen=True, slots=True)
class TurnResult:
    interaction_id: int
    duplicate: bool
    created_at: datetime
    ticket_number: int | None = None
    replies: tuple[StoredReply, ...] = ()  # empty for duplicates: read them from history
    state: ConversationState | None = field(default=None, compare=False)
    # The conversation's customer was erased: nothing was stored (``interaction_id`` is 0). The
    # caller forgets the conversation and resolves the sender again, or tells them it is gone.
    refused: bool = False


@dataclass(slots=True)
class PlannedTurn:
    """A new turn while its batch is written: the plan and the ids it gets along the way."""

    turn: Turn
    plan: Plan
    customer_id: int
    ticket_number: int | None
    inbound_id: int = 0
    reply_ids: tuple[int, ...] = ()  # of plan.replies, in order
    rated: bool = False  # the message answered a satisfaction question: not a reply on the ticket
