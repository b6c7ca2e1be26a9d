"""What a turn knows before it decides: the conversation, its customer and its history.

Read once per batch, in the batch's transaction, with one statement for the conversations
(joined with their customers and open tickets, counts as correlated subqueries) and two for
the rules that answered them (counts per rule, the three most recent); the batch then keeps the
state current in memory as each turn is planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from ticketing.models import Conversation, Customer, Interaction, Ticket

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
_TURNS = (
    select(func.count())
    .select_from(Interaction)
    .where(Interaction.conversation_id == Conversation.id, Interaction.direction == "in")
    .correlate(Conversation)
    .scalar_subquery()
)
_AUTOMATED = (
    select(func.count())
    .select_from(Interaction)
    .where(
        Interaction.conversation_id == Conversation.id,
        Interaction.direction == "out",
        Interaction.sender_role == "bot",
    )
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
        _TURNS,
        _AUTOMATED,
        Conversation.csat_ticket_id,
    )
    .join(Customer, Customer.id == Conversation.customer_id)
    .outerjoin(_open_ticket, _open_ticket.id == Conversation.open_ticket_id)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
)
# Which rules produced the replies of these conversations: counts per rule and the three most
# recent, aggregated in SQL so a long conversation costs index work, not rows sent to Python.
_RULE_FILTER = (
    Interaction.conversation_id.in_(bindparam("ids", expanding=True)),
    Interaction.direction == "out",
    Interaction.rule.is_not(None),
)
_RULE_COUNTS = (
    select(Interaction.conversation_id, Interaction.rule, func.count())
    .where(*_RULE_FILTER)
    .group_by(Interaction.conversation_id, Interaction.rule)
)
_ranked = (
    select(
        Interaction.conversation_id,
        Interaction.rule,
        func.row_number()
        .over(partition_by=Interaction.conversation_id, order_by=Interaction.id.desc())
        .label("recency"),
    )
    .where(*_RULE_FILTER)
    .subquery()
)
_RECENT_RULES = select(_ranked.c.conversation_id, _ranked.c.rule, _ranked.c.recency).where(
    _ranked.c.recency <= 3
)


async def read_states(conn: AsyncConnection, conversation_ids: set[int]) -> dict[int, ConversationState]:
    ids = {"ids": list(conversation_ids)}
    fires: dict[int, dict[str, int]] = {}
    recent: dict[int, list[tuple[int, str]]] = {}
    for conversation_id, rule, count in await conn.execute(_RULE_COUNTS, ids):
        counts = fires.setdefault(conversation_id, {})
        for name in str(rule).split("+"):  # a reply made by several rules names them all
            counts[name] = counts.get(name, 0) + count
    for conversation_id, rule, recency in await conn.execute(_RECENT_RULES, ids):
        recent.setdefault(conversation_id, []).append((recency, rule))
    states = {}
    for row in await conn.execute(_STATES, ids):
        states[row[0]] = ConversationState(
            customer_id=row[1], status=row[2], handed_off=row[3], open_ticket_id=row[4],
            open_ticket_number=row[5], language=row[6], customer_name=row[7], customer_email=row[8],
            customer_tags=tuple(row[9] or ()), customer_attributes=dict(row[10] or {}),
            customer_conversations=row[11], open_tickets=row[12], ticket_tags=tuple(row[13] or ()),
            turns=row[14], automated_replies=row[15], rule_fires=fires.get(row[0], {}),
            recent_rules=tuple(rule for _, rule in sorted(recent.get(row[0], []), reverse=True)),
            csat_ticket_id=row[16],
        )  # fmt: skip
    return states
