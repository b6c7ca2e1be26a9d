"""What a turn knows before it decides: the conversation, its customer and its history.

Read once per batch, in the batch's transaction, with one statement: the conversations (with
their counters: turns, automated replies, rule fires, recent rules) joined with their customers
and open tickets, plus two small counts per customer. On PostgreSQL the conversation rows are
locked for the batch. The batch keeps the state current in memory as each turn is planned and
writes the conversations back at the end (``turn_writes.update_conversations``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from ticketing.models import Conversation, Customer, Ticket

__all__ = ["ConversationState", "read_states"]


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the rules may know about a conversation and its customer, as of this turn."""

    customer_id: int
    status: str
    handed_off: bool
    open_ticket_id: int | None  # None while the ticket is being opened in this same batch
    open_ticket_number: int | None
    language: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_tags: tuple[str, ...] = ()
    customer_attributes: Mapping[str, Any] = field(default_factory=dict)
    customer_conversations: int = 1
    open_tickets: int = 0  # the customer's tickets not solved or closed
    ticket_tags: tuple[str, ...] = ()  # of the open ticket
    turns: int = 0  # customer messages before this one
    automated_replies: int = 0
    rule_fires: Mapping[str, int] = field(default_factory=dict)
    recent_rules: tuple[str, ...] = ()  # rules that answered the last messages, newest last
    csat_ticket_id: int | None = None  # a satisfaction question awaits its answer
    csat_thanks: str | None = None  # this message answered it: thank instead of running rules


# Built once: constructing statements costs more than executing them at this batch rate.
_open_ticket = aliased(Ticket, name="open_ticket")
_other = aliased(Conversation, name="other_conversation")
_OPEN_TICKETS = (
    select(func.count())
    .select_from(Ticket)
    .where(Ticket.customer_id == Conversation.customer_id, Ticket.status.not_in(("solved", "closed")))
    .correlate(Conversation)
    .scalar_subquery()
)
_CONVERSATIONS = (
    select(func.count())
    .select_from(_other)
    .where(_other.customer_id == Conversation.customer_id)
    .correlate(Conversation)
    .scalar_subquery()
)
_STATES = (
    select(
        Conversation.id,
        Conversation.customer_id,
        Conversation.status,
        Conversation.handed_off,
        Conversation.open_ticket_id,
        Conversation.open_ticket_number,
        Conversation.language,
        Customer.display_name,
        Customer.email,
        Customer.tags,
        Customer.attributes,
        _CONVERSATIONS,
        _OPEN_TICKETS,
        _open_ticket.tags,
        Conversation.turns,
        Conversation.automated_replies,
        Conversation.csat_ticket_id,
        Conversation.rule_fires,
        Conversation.recent_rules,
    )
    .join(Customer, Customer.id == Conversation.customer_id)
    .outerjoin(_open_ticket, _open_ticket.id == Conversation.open_ticket_id)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
    .order_by(Conversation.id)  # locks taken in one order: two batches cannot deadlock
)
# PostgreSQL: another process's batch on the same conversation waits for this one to commit and
# then reads what it wrote, so two messages can never both open "the" ticket or lose a count.
_STATES_LOCKED = _STATES.with_for_update(of=Conversation)


async def read_states(conn: AsyncConnection, conversation_ids: set[int]) -> dict[int, ConversationState]:
    stmt = _STATES_LOCKED if conn.dialect.name == "postgresql" else _STATES
    states = {}
    for row in await conn.execute(stmt, {"ids": list(conversation_ids)}):
        states[row[0]] = ConversationState(
            customer_id=row[1], status=row[2], handed_off=row[3], open_ticket_id=row[4],
            open_ticket_number=row[5], language=row[6], customer_name=row[7], customer_email=row[8],
            customer_tags=tuple(row[9] or ()), customer_attributes=dict(row[10] or {}),
            customer_conversations=row[11], open_tickets=row[12], ticket_tags=tuple(row[13] or ()),
            turns=row[14], automated_replies=row[15], csat_ticket_id=row[16],
            rule_fires=dict(row[17] or {}), recent_rules=tuple(row[18] or ()),
        )  # fmt: skip
    return states
