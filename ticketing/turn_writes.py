"""The writes of one batch of turns, each one statement for the whole batch.

Every function takes the batch's fresh turns after planning and the ids known so far, and adds
its rows; together they run inside the one transaction that ``Turns`` opens per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import csat
from ticketing.agents import ensure_queues
from ticketing.database import insert_returning_ids
from ticketing.models import (
    Conversation,
    Customer,
    InboundDedup,
    Interaction,
    OutboxItem,
    Ticket,
    TicketEvent,
)
from ticketing.sla_config import SlaConfig
from ticketing.turn_state import ConversationState
from ticketing.turn_types import Fresh, StoredReply, Turn

__all__ = [
    "apply_side_effects",
    "csat_answers",
    "insert_inbound",
    "insert_replies",
    "joined_tickets",
    "open_tickets",
    "update_conversations",
]


_LINK_DEDUP = (
    update(InboundDedup)
    .where(InboundDedup.channel == bindparam("b_channel"), InboundDedup.key == bindparam("b_key"))
    .values(interaction_id=bindparam("b_id"))
)
_UPDATE_CONVERSATION = (
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
    )
)
_UPDATE_CUSTOMER = (
    update(Customer)
    .where(Customer.id == bindparam("b_id"))
    .values(tags=bindparam("b_tags"), attributes=bindparam("b_attributes"), updated_at=bindparam("b_now"))
)
_UPDATE_TICKET_TAGS = (
    update(Ticket)
    .where(Ticket.id == bindparam("b_id"))
    .values(tags=bindparam("b_tags"), updated_at=bindparam("b_now"))
)
_TOUCH_TICKETS = (
    update(Ticket).where(Ticket.id.in_(bindparam("ids", expanding=True))).values(updated_at=bindparam("now"))
)


async def open_tickets(
    conn: AsyncConnection, items: list[Fresh], states: dict[int, ConversationState], now: datetime
) -> dict[int, int]:
    """Insert new tickets with their 'created' audit events; returns number → id for all
    tickets the batch touches (new ones and the conversations' existing open tickets)."""
    ids = {s.open_ticket_number: s.open_ticket_id for s in states.values() if s.open_ticket_id is not None}
    opening = [(item, item.plan.open_ticket) for item in items if item.plan.open_ticket is not None]
    if not opening:
        return {n: i for n, i in ids.items() if n is not None}
    rows = [
        {
            "number": t.number, "customer_id": item.customer_id,
            "conversation_id": item.turn.record.conversation.id, "channel": item.turn.record.channel,
            "subject": t.subject, "status": "new", "priority": t.priority, "queue": t.queue,
            "tags": list(t.tags), "assignee": None, "created_at": now, "updated_at": now,
        }
        for item, t in opening
        if t is not None
    ]  # fmt: skip
    await ensure_queues(conn, (t.queue for _item, t in opening if t is not None), now)
    new_ids = await insert_returning_ids(conn, Ticket.id, rows)
    await conn.execute(
        insert(TicketEvent),
        [
            {"ticket_id": ticket_id, "actor": t.actor, "kind": "created", "created_at": now,
             "data": {"status": "new", "priority": t.priority, "queue": t.queue, "subject": t.subject}}
            for (_item, t), ticket_id in zip(opening, new_ids, strict=True)
            if t is not None
        ],
    )  # fmt: skip
    ids.update(
        {t.number: ticket_id for (_item, t), ticket_id in zip(opening, new_ids, strict=True) if t is not None}
    )
    return {n: i for n, i in ids.items() if n is not None}


async def insert_inbound(
    conn: AsyncConnection, items: list[Fresh], tickets: dict[int, int], now: datetime
) -> None:
    if not items:
        return
    rows = [_inbound_row(item, tickets, now) for item in items]
    for item, inbound_id in zip(items, await insert_returning_ids(conn, Interaction.id, rows), strict=True):
        item.inbound_id = inbound_id
    await conn.execute(
        _LINK_DEDUP,
        [{"b_channel": i.turn.record.channel, "b_key": i.turn.record.idempotency_key, "b_id": i.inbound_id}
         for i in items],
    )  # fmt: skip


def _inbound_row(item: Fresh, tickets: dict[int, int], now: datetime) -> dict[str, Any]:
    r = item.turn.record
    return {
        "conversation_id": r.conversation.id, "customer_id": item.customer_id, "channel": r.channel,
        "direction": "in",
        "ticket_id": tickets.get(item.ticket_number) if item.ticket_number is not None else None,
        "sender_role": r.sender_role, "sender_name": r.sender_name, "text": r.text, "subject": r.subject,
        "attachments": list(r.attachments), "quick_replies": [], "external_message_id": r.external_message_id,
        "in_reply_to_id": None, "analysis": item.plan.analysis, "rule": None, "processed_at": now,
        "created_at": r.received_at,
    }  # fmt: skip


async def insert_replies(
    conn: AsyncConnection, items: list[Fresh], tickets: dict[int, int], now: datetime
) -> dict[int, tuple[StoredReply, ...]]:
    pairs = [(item, reply) for item in items for reply in item.plan.replies]
    if not pairs:
        return {}
    rows = [
        {
            "conversation_id": item.turn.record.conversation.id, "customer_id": item.customer_id,
            "ticket_id": tickets.get(item.ticket_number) if item.ticket_number is not None else None,
            "channel": item.turn.record.channel, "direction": "out", "sender_role": r.sender_role,
            "sender_name": r.sender_name, "text": r.text, "subject": None, "attachments": [],
            "quick_replies": list(r.quick_replies), "external_message_id": None,
            "in_reply_to_id": item.inbound_id, "analysis": None, "rule": r.rule, "processed_at": None,
            "created_at": now,
        }
        for item, r in pairs
    ]  # fmt: skip
    ids = await insert_returning_ids(conn, Interaction.id, rows)
    await conn.execute(
        insert(OutboxItem),
        [
            {"interaction_id": interaction_id, "channel": item.turn.record.channel,
             "payload": {**r.delivery, "interaction_id": interaction_id, "text": r.text,
                         "created_at": now.isoformat()},
             "state": "pending", "attempts": 0, "next_attempt_at": now, "claimed_until": None,
             "last_error": None, "external_id": None, "created_at": now, "sent_at": None}
            for (item, r), interaction_id in zip(pairs, ids, strict=True)
        ],
    )  # fmt: skip
    out: dict[int, list[StoredReply]] = {}
    for (item, r), interaction_id in zip(pairs, ids, strict=True):
        out.setdefault(item.inbound_id, []).append(StoredReply(interaction_id, now, r))
    return {k: tuple(v) for k, v in out.items()}


async def update_conversations(
    conn: AsyncConnection,
    items: list[Fresh],
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
        changes.append({
            "b_id": conversation_id, "b_now": now, "b_handoff": state.handed_off, "b_tnum": number,
            "b_tid": tickets.get(number) if number is not None else None, "b_status": state.status,
            "b_turns": state.turns, "b_automated": state.automated_replies,
            "b_fires": dict(state.rule_fires), "b_recent": list(state.recent_rules),
        })  # fmt: skip
    await conn.execute(_UPDATE_CONVERSATION, changes)
    joined = {
        tickets[i.ticket_number] for i in items if i.ticket_number is not None and i.plan.open_ticket is None
    }
    if joined:
        await conn.execute(_TOUCH_TICKETS, {"ids": list(joined), "now": now})


async def csat_answers(
    conn: AsyncConnection,
    config: SlaConfig,
    turns: Sequence[Turn],
    fresh_keys: set[tuple[str, str]],
    states: dict[int, ConversationState],
    now: datetime,
) -> None:
    """A pending satisfaction question takes the conversation's next message as its answer."""
    for turn in turns:
        conversation_id = turn.record.conversation.id
        state = states[conversation_id]
        if state.csat_ticket_id is None or turn.record.key not in fresh_keys:
            continue
        answer = await csat.record_answer(conn, config, conversation_id, turn.record.text, now)
        states[conversation_id] = replace(
            state, csat_ticket_id=None, csat_thanks=answer.thanks if answer is not None else None
        )


def joined_tickets(items: list[Fresh], tickets: dict[int, int]) -> list[int]:
    """Existing tickets that customer messages of this batch were added to (a rating of a
    solved ticket is not a reply on it: it must not reopen the ticket)."""
    return sorted(
        {
            tickets[i.ticket_number]
            for i in items
            if i.ticket_number is not None
            and not i.rated
            and i.plan.open_ticket is None
            and i.turn.record.sender_role == "customer"
            and i.ticket_number in tickets
        }
    )


async def apply_side_effects(
    conn: AsyncConnection,
    items: list[Fresh],
    states: dict[int, ConversationState],
    tickets: dict[int, int],
    now: datetime,
) -> None:
    """Customer tags/attributes, the open ticket's tags, and audit events (notes, hand-offs)."""
    customers: dict[int, ConversationState] = {}
    retagged: dict[int, tuple[str, ...]] = {}
    events: list[dict[str, Any]] = []
    for item in items:
        state = states[item.turn.record.conversation.id]
        if item.plan.customer_tags is not None or item.plan.customer_attributes is not None:
            customers[item.customer_id] = state
        ticket_id = tickets.get(item.ticket_number) if item.ticket_number is not None else None
        if ticket_id is None:
            continue
        if item.plan.ticket_tags is not None and item.plan.open_ticket is None:
            retagged[ticket_id] = state.ticket_tags
        events.extend(
            {"ticket_id": ticket_id, "actor": actor, "kind": kind, "data": data, "created_at": now}
            for actor, kind, data in item.plan.ticket_events
        )
    if customers:
        rows = [
            {"b_id": i, "b_tags": list(c.customer_tags), "b_attributes": dict(c.customer_attributes),
             "b_now": now}
            for i, c in customers.items()
        ]  # fmt: skip
        await conn.execute(_UPDATE_CUSTOMER, rows)
    if retagged:
        await conn.execute(
            _UPDATE_TICKET_TAGS,
            [{"b_id": i, "b_tags": list(tags), "b_now": now} for i, tags in retagged.items()],
        )
    if events:
        await conn.execute(insert(TicketEvent), events)
