"""The writes of one batch of turns, each one statement for the whole batch.

Every function takes the batch's fresh turns after planning and the ids known so far, and adds
its rows to the batch's :class:`~ticketing.driver.StatementBatch`; ``Turns`` sends the trip inside the one
transaction it opens per batch, so all of a batch's writes reach SQLite in one trip to the
driver thread. The ids of new messages, replies and tickets are reserved up front
(:func:`assign_ids`), so no insert needs RETURNING, and a message and its replies go in one
statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import csat
from ticketing.agents import queue_registrations
from ticketing.driver import CompiledStatement, StatementBatch
from ticketing.models import (
    Conversation,
    Customer,
    InboundDedup,
    Interaction,
    OutboxItem,
    Ticket,
    TicketEvent,
)
from ticketing.row_ids import reserve_ids
from ticketing.sla_config import SlaConfig
from ticketing.turn_state import ConversationState
from ticketing.turn_types import PlannedTurn, StoredReply, Turn

__all__ = [
    "ID_TABLES",
    "apply_side_effects",
    "assign_ids",
    "csat_answers",
    "insert_interactions",
    "joined_tickets",
    "open_tickets",
    "update_conversations",
]


# Built and compiled once, run with positional rows (``CompiledStatement``): at this batch rate the
# per-row parameter handling of ``conn.execute(stmt, [dict, ...])`` costs more than the SQL.
_INTERACTION_COLUMNS = (
    "id", "conversation_id", "customer_id", "ticket_id", "channel", "direction", "sender_role",
    "sender_name", "text", "subject", "attachments", "quick_replies", "external_message_id",
    "in_reply_to_id", "analysis", "rule", "processed_at", "created_at",
)  # fmt: skip
_INSERT_INTERACTIONS = CompiledStatement(insert(Interaction), _INTERACTION_COLUMNS)
_INSERT_OUTBOX = CompiledStatement(
    insert(OutboxItem),
    ("interaction_id", "channel", "payload", "state", "attempts", "next_attempt_at", "claimed_until",
     "last_error", "external_id", "created_at", "sent_at"),
)  # fmt: skip
_INSERT_TICKETS = CompiledStatement(
    insert(Ticket),
    ("id", "number", "customer_id", "conversation_id", "channel", "subject", "status", "priority", "queue",
     "tags", "assignee", "created_at", "updated_at"),
)  # fmt: skip
_INSERT_EVENTS = CompiledStatement(insert(TicketEvent), ("ticket_id", "actor", "kind", "data", "created_at"))
_LINK_DEDUP = CompiledStatement(
    update(InboundDedup)
    .where(InboundDedup.channel == bindparam("b_channel"), InboundDedup.key == bindparam("b_key"))
    .values(interaction_id=bindparam("b_id")),
    ("b_id", "b_channel", "b_key"),
)
_UPDATE_CONVERSATION = CompiledStatement(
    update(Conversation)
    .where(Conversation.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        last_message_at=bindparam("b_now"),
        open_ticket_id=bindparam("b_tid"),
        open_ticket_number=bindparam("b_tnum"),
        handed_off=bindparam("b_handoff"),
        turns=bindparam("b_turns"),
        automated_replies=bindparam("b_automated"),
        rule_fires=bindparam("b_fires"),
        recent_rules=bindparam("b_recent"),
        dialog=bindparam("b_dialog"),
        language=bindparam("b_language"),
    ),
    ("b_status", "b_handoff", "b_tid", "b_tnum", "b_now", "b_turns", "b_automated", "b_fires", "b_recent",
     "b_dialog", "b_language", "b_id"),
)  # fmt: skip
_UPDATE_CUSTOMER = CompiledStatement(
    update(Customer)
    .where(Customer.id == bindparam("b_id"))
    .values(tags=bindparam("b_tags"), attributes=bindparam("b_attributes"), updated_at=bindparam("b_now")),
    ("b_tags", "b_attributes", "b_now", "b_id"),
)
_UPDATE_TICKET_TAGS = CompiledStatement(
    update(Ticket)
    .where(Ticket.id == bindparam("b_id"))
    .values(tags=bindparam("b_tags"), updated_at=bindparam("b_now")),
    ("b_tags", "b_now", "b_id"),
)
_TOUCH_TICKET = CompiledStatement(
    update(Ticket).where(Ticket.id == bindparam("b_id")).values(updated_at=bindparam("b_now")),
    ("b_now", "b_id"),
)


ID_TABLES = (Ticket, Interaction)  # the tables assign_ids reserves in, for queue_id_tops


async def assign_ids(
    conn: AsyncConnection, items: list[PlannedTurn], tops: Sequence[Any] | None
) -> list[int]:
    """Give every fresh message and reply its interaction id, with the ids of the tickets the
    batch opens (returned in item order); on PostgreSQL in one round trip, on SQLite from
    ``tops`` (``row_ids.queue_id_tops`` of ``ID_TABLES``, read after the batch's first write,
    the dedup claim). The ids are those the inserts would have been given: messages first, in
    batch order, then the replies (see :func:`~ticketing.row_ids.reserve_ids`)."""
    if not items:
        return []
    opening = sum(1 for item in items if item.plan.open_ticket is not None)
    replies = sum(len(item.plan.replies) for item in items)
    wanted = [(Ticket, opening), (Interaction, len(items) + replies)]
    tickets, interactions = await reserve_ids(conn, wanted, tops)
    position = len(items)
    for item, inbound_id in zip(items, interactions, strict=False):
        item.inbound_id = inbound_id
        count = len(item.plan.replies)
        item.reply_ids = tuple(interactions[position : position + count])
        position += count
    return tickets


def open_tickets(
    trip: StatementBatch,
    dialect: Dialect,
    items: list[PlannedTurn],
    states: dict[int, ConversationState],
    new_ids: list[int],
    now: datetime,
) -> dict[int, int]:
    """Insert new tickets (with the ids ``assign_ids`` reserved) and their 'created' audit
    events; returns number → id for all tickets the batch touches (new ones and the
    conversations' existing open tickets)."""
    ids = {s.open_ticket_number: s.open_ticket_id for s in states.values() if s.open_ticket_id is not None}
    opening = [(item, item.plan.open_ticket) for item in items if item.plan.open_ticket is not None]
    if not opening:
        return {n: i for n, i in ids.items() if n is not None}
    rows = [
        (ticket_id, t.number, item.customer_id, item.turn.record.conversation.id, item.turn.record.channel,
         t.subject, "new", t.priority, t.queue, list(t.tags), None, now, now)
        for (item, t), ticket_id in zip(opening, new_ids, strict=True)
        if t is not None
    ]  # fmt: skip
    queue_registrations(trip, dialect, (t.queue for _item, t in opening if t is not None), now)
    _INSERT_TICKETS.queue(trip, dialect, rows)
    _INSERT_EVENTS.queue(
        trip,
        dialect,
        [
            (ticket_id, t.actor, "created",
             {"status": "new", "priority": t.priority, "queue": t.queue, "subject": t.subject}, now)
            for (_item, t), ticket_id in zip(opening, new_ids, strict=True)
            if t is not None
        ],
    )  # fmt: skip
    ids.update(
        {t.number: ticket_id for (_item, t), ticket_id in zip(opening, new_ids, strict=True) if t is not None}
    )
    return {n: i for n, i in ids.items() if n is not None}


def insert_interactions(
    trip: StatementBatch, dialect: Dialect, items: list[PlannedTurn], tickets: dict[int, int], now: datetime
) -> dict[int, tuple[StoredReply, ...]]:
    """The batch's messages and replies in one statement (ids from ``assign_ids``), the
    dedup keys pointed at their messages, and an outbox row per reply; returns each
    message's stored replies."""
    if not items:
        return {}
    empty: list[Any] = []  # one object for every empty list: encoded once (see CompiledStatement)
    rows = [_inbound_row(item, tickets, now, empty) for item in items]
    outbox = []
    stamp = now.isoformat()
    out: dict[int, tuple[StoredReply, ...]] = {}
    for item in items:
        r = item.turn.record
        ticket_id = tickets.get(item.ticket_number) if item.ticket_number is not None else None
        stored = []
        for reply, reply_id in zip(item.plan.replies, item.reply_ids, strict=True):
            rows.append(
                (reply_id, r.conversation.id, item.customer_id, ticket_id, r.channel, "out",
                 reply.sender_role, reply.sender_name, reply.text, None, empty, list(reply.quick_replies),
                 None, item.inbound_id, None, reply.rule, None, now)
            )  # fmt: skip
            payload = {**reply.delivery, "interaction_id": reply_id, "text": reply.text,
                       "created_at": stamp}  # fmt: skip
            outbox.append((reply_id, r.channel, payload, "pending", 0, now, None, None, None, now, None))
            stored.append(StoredReply(reply_id, now, reply))
        if stored:
            out[item.inbound_id] = tuple(stored)
    _INSERT_INTERACTIONS.queue(trip, dialect, rows)
    _LINK_DEDUP.queue(
        trip, dialect, [(i.inbound_id, i.turn.record.channel, i.turn.record.idempotency_key) for i in items]
    )
    _INSERT_OUTBOX.queue(trip, dialect, outbox)
    return out


def _inbound_row(
    item: PlannedTurn, tickets: dict[int, int], now: datetime, empty: list[Any]
) -> tuple[Any, ...]:
    r = item.turn.record
    return (
        item.inbound_id, r.conversation.id, item.customer_id,
        tickets.get(item.ticket_number) if item.ticket_number is not None else None,
        r.channel, "in", r.sender_role, r.sender_name, r.text, r.subject,
        list(r.attachments) if r.attachments else empty, empty,
        r.external_message_id, None, item.plan.analysis, None, now, r.received_at,
    )  # fmt: skip


def update_conversations(
    trip: StatementBatch,
    dialect: Dialect,
    items: list[PlannedTurn],
    states: dict[int, ConversationState],
    tickets: dict[int, int],
    now: datetime,
) -> None:
    touched = {item.turn.record.conversation.id for item in items}
    if not touched:
        return
    changes = []
    for conversation_id in touched:
        state = states[conversation_id]
        number = state.open_ticket_number
        changes.append(
            (state.status, state.handed_off, tickets.get(number) if number is not None else None, number, now,
             state.turns, state.automated_replies, dict(state.rule_fires), list(state.recent_rules),
             dict(state.dialog) or None, state.language, conversation_id)
        )  # fmt: skip
    _UPDATE_CONVERSATION.queue(trip, dialect, changes)
    joined = {
        tickets[i.ticket_number] for i in items if i.ticket_number is not None and i.plan.open_ticket is None
    }
    _TOUCH_TICKET.queue(trip, dialect, [(now, ticket_id) for ticket_id in sorted(joined)])


async def csat_answers(
    conn: AsyncConnection,
    config: SlaConfig,
    turns: Sequence[Turn],
    fresh_keys: set[tuple[str, str]],
    states: dict[int, ConversationState],
    now: datetime,
) -> None:
    """A pending satisfaction question takes the conversation's next message as its answer; a
    rating of a solved ticket without a pending question (a button pressed again, or after the
    question was dropped) is thanked, recorded only if the ticket has none, and reopens nothing."""
    for turn in turns:
        conversation_id = turn.record.conversation.id
        state = states[conversation_id]
        if turn.record.key not in fresh_keys or turn.record_only:
            continue
        if state.csat_ticket_id is not None:
            answer = await csat.record_answer(conn, config, conversation_id, turn.record.text, now)
            states[conversation_id] = replace(
                state, csat_ticket_id=None, csat_thanks=answer.thanks if answer is not None else None
            )
        elif state.ticket_status == "solved" and state.open_ticket_id is not None:
            thanks = await csat.rating_of_solved(conn, config, state.open_ticket_id, turn.record.text, now)
            if thanks is not None:
                states[conversation_id] = replace(state, csat_thanks=thanks)


def joined_tickets(items: list[PlannedTurn], tickets: dict[int, int]) -> list[int]:
    """Existing tickets that customer messages of this batch were added to (a rating of a
    solved ticket is not a reply on it, nor is a closing "thanks, all good now": neither may
    reopen the ticket)."""
    return sorted(
        {
            tickets[i.ticket_number]
            for i in items
            if i.ticket_number is not None
            and not i.rated
            and not i.plan.keep_solved
            and i.plan.open_ticket is None
            and i.turn.record.sender_role == "customer"
            and not i.turn.record_only
            and i.ticket_number in tickets
        }
    )


def apply_side_effects(
    trip: StatementBatch,
    dialect: Dialect,
    items: list[PlannedTurn],
    states: dict[int, ConversationState],
    tickets: dict[int, int],
    now: datetime,
) -> None:
    """Customer tags/attributes, the open ticket's tags, and audit events (notes, hand-offs)."""
    customers: dict[int, ConversationState] = {}
    retagged: dict[int, tuple[str, ...]] = {}
    events: list[tuple[Any, ...]] = []
    for item in items:
        state = states[item.turn.record.conversation.id]
        if item.plan.customer_tags is not None or item.plan.customer_attributes is not None:
            customers[item.customer_id] = state
        ticket_id = tickets.get(item.ticket_number) if item.ticket_number is not None else None
        if ticket_id is None:
            continue
        if item.plan.ticket_tags is not None and item.plan.open_ticket is None:
            retagged[ticket_id] = state.ticket_tags
        events.extend((ticket_id, actor, kind, data, now) for actor, kind, data in item.plan.ticket_events)
    _UPDATE_CUSTOMER.queue(
        trip,
        dialect,
        [(list(c.customer_tags), dict(c.customer_attributes), now, i) for i, c in customers.items()],
    )
    _UPDATE_TICKET_TAGS.queue(trip, dialect, [(list(tags), now, i) for i, tags in retagged.items()])
    _INSERT_EVENTS.queue(trip, dialect, events)
