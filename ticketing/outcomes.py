"""Recording what the bot decided for an inbound message, exactly once.

An :class:`Outcome` (replies, a new ticket or the ticket the message joins, hand-off) is
written in one transaction together with the ``processed_at`` mark of its inbound message.
The mark is taken with a conditional update, so when a retried delivery races its original,
only one of them records replies and tickets; the other learns it lost and reads the winner's
replies instead. Replies enter the outbox in the same transaction: no reply is lost if the
process dies before delivering it. Outcomes share transactions through group commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.batching import GroupCommit
from ticketing.database import insert_returning_ids
from ticketing.models import Conversation, Interaction, OutboxItem, Ticket, TicketEvent
from ticketing.time import utcnow

__all__ = ["Applied", "Outcome", "Outcomes", "ReplyRecord", "StoredReply", "TicketDraft"]


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
class Outcome:
    inbound_id: int
    conversation_id: int
    customer_id: int
    channel: str
    analysis: dict[str, Any] | None = None
    open_ticket: TicketDraft | None = None
    ticket_id: int | None = None  # the existing ticket this message joins
    hand_off: bool = False
    replies: tuple[ReplyRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredReply:
    interaction_id: int
    created_at: datetime
    record: ReplyRecord


@dataclass(frozen=True, slots=True)
class Applied:
    applied: bool  # False: another delivery of the same message was answered first
    ticket_id: int | None = None
    replies: tuple[StoredReply, ...] = ()


class Outcomes:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._batch: GroupCommit[Outcome, Applied] = GroupCommit(self._apply_many, name="outcomes")

    async def apply(self, outcome: Outcome) -> Applied:
        return await self._batch.submit(outcome)

    async def close(self) -> None:
        await self._batch.close()

    async def _apply_many(self, outcomes: Sequence[Outcome]) -> list[Applied]:
        now = utcnow()
        async with self._engine.begin() as conn:
            won = await _claim(conn, [o.inbound_id for o in outcomes], now)
            # The same inbound id twice in one batch: the first one wins.
            winning: set[int] = set()
            for i, o in enumerate(outcomes):
                if o.inbound_id in won:
                    won.discard(o.inbound_id)
                    winning.add(i)
            winners = [outcomes[i] for i in sorted(winning)]
            tickets = await _open_tickets(conn, winners, now)
            await _update_inbound(conn, winners, tickets)
            await _update_conversations(conn, winners, tickets)
            replies = await _insert_replies(conn, winners, tickets, now)
        return [
            Applied(True, tickets.get(o.inbound_id, o.ticket_id), replies.get(o.inbound_id, ()))
            if i in winning
            else Applied(False)
            for i, o in enumerate(outcomes)
        ]


# Built once: constructing statements costs more than executing them at this batch rate.
_CLAIM = (
    update(Interaction)
    .where(Interaction.id.in_(bindparam("ids", expanding=True)), Interaction.processed_at.is_(None))
    .values(processed_at=bindparam("now"))
    .returning(Interaction.id)
)
_UPDATE_INBOUND = (
    update(Interaction)
    .where(Interaction.id == bindparam("b_id"))
    .values(analysis=bindparam("b_analysis"), ticket_id=bindparam("b_ticket"))
)
_UPDATE_CONVERSATION = (
    update(Conversation)
    .where(Conversation.id == bindparam("b_id"))
    .values(
        open_ticket_id=bindparam("b_tid"),
        open_ticket_number=bindparam("b_tnum"),
        handed_off=bindparam("b_handoff"),
    )
)


async def _claim(conn: AsyncConnection, inbound_ids: list[int], now: datetime) -> set[int]:
    return set((await conn.execute(_CLAIM, {"ids": list(set(inbound_ids)), "now": now})).scalars().all())


async def _open_tickets(conn: AsyncConnection, winners: list[Outcome], now: datetime) -> dict[int, int]:
    """Insert the new tickets and their 'created' audit events; inbound id → ticket id."""
    opening = [o for o in winners if o.open_ticket is not None]
    if not opening:
        return {}
    rows = []
    for o in opening:
        t = o.open_ticket
        assert t is not None
        rows.append(
            {
                "number": t.number,
                "customer_id": o.customer_id,
                "conversation_id": o.conversation_id,
                "channel": o.channel,
                "subject": t.subject,
                "status": "new",
                "priority": t.priority,
                "queue": t.queue,
                "tags": list(t.tags),
                "assignee": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = await insert_returning_ids(conn, Ticket.id, rows)
    events = [
        {
            "ticket_id": ticket_id,
            "actor": o.open_ticket.actor,
            "kind": "created",
            "data": {
                "status": "new",
                "priority": row["priority"],
                "queue": row["queue"],
                "subject": row["subject"],
                "inbound_interaction_id": o.inbound_id,
            },
            "created_at": now,
        }
        for o, row, ticket_id in zip(opening, rows, ids, strict=True)
        if o.open_ticket is not None
    ]
    await conn.execute(insert(TicketEvent), events)
    return {o.inbound_id: ticket_id for o, ticket_id in zip(opening, ids, strict=True)}


async def _update_inbound(conn: AsyncConnection, winners: list[Outcome], tickets: dict[int, int]) -> None:
    if not winners:
        return
    await conn.execute(
        _UPDATE_INBOUND,
        [
            {
                "b_id": o.inbound_id,
                "b_analysis": o.analysis,
                "b_ticket": tickets.get(o.inbound_id, o.ticket_id),
            }
            for o in winners
        ],
    )
    joined = {o.ticket_id for o in winners if o.ticket_id is not None}
    if joined:
        await conn.execute(update(Ticket).where(Ticket.id.in_(joined)).values(updated_at=utcnow()))


async def _update_conversations(
    conn: AsyncConnection, winners: list[Outcome], tickets: dict[int, int]
) -> None:
    changes: list[dict[str, Any]] = []
    for o in winners:
        if o.inbound_id in tickets and o.open_ticket is not None:
            changes.append(
                {
                    "b_id": o.conversation_id,
                    "b_tid": tickets[o.inbound_id],
                    "b_tnum": o.open_ticket.number,
                    "b_handoff": o.hand_off,
                }
            )
        elif o.hand_off:
            current = (
                await conn.execute(
                    select(Conversation.open_ticket_id, Conversation.open_ticket_number).where(
                        Conversation.id == o.conversation_id
                    )
                )
            ).one()
            changes.append(
                {"b_id": o.conversation_id, "b_tid": current[0], "b_tnum": current[1], "b_handoff": True}
            )
    if changes:
        await conn.execute(_UPDATE_CONVERSATION, changes)


async def _insert_replies(
    conn: AsyncConnection, winners: list[Outcome], tickets: dict[int, int], now: datetime
) -> dict[int, tuple[StoredReply, ...]]:
    pairs = [(o, r) for o in winners for r in o.replies]
    if not pairs:
        return {}
    rows = [
        {
            "conversation_id": o.conversation_id,
            "customer_id": o.customer_id,
            "ticket_id": tickets.get(o.inbound_id, o.ticket_id),
            "channel": o.channel,
            "direction": "out",
            "sender_role": r.sender_role,
            "sender_name": r.sender_name,
            "text": r.text,
            "subject": None,
            "attachments": [],
            "quick_replies": list(r.quick_replies),
            "external_message_id": None,
            "in_reply_to_id": o.inbound_id,
            "analysis": None,
            "rule": r.rule,
            "processed_at": None,
            "created_at": now,
        }
        for o, r in pairs
    ]
    ids = await insert_returning_ids(conn, Interaction.id, rows)
    await conn.execute(
        insert(OutboxItem),
        [
            {
                "interaction_id": interaction_id,
                "channel": o.channel,
                "payload": {
                    **r.delivery,
                    "interaction_id": interaction_id,
                    "text": r.text,
                    "created_at": now.isoformat(),
                },
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "claimed_until": None,
                "last_error": None,
                "external_id": None,
                "created_at": now,
                "sent_at": None,
            }
            for (o, r), interaction_id in zip(pairs, ids, strict=True)
        ],
    )
    out: dict[int, list[StoredReply]] = {}
    for (o, r), interaction_id in zip(pairs, ids, strict=True):
        out.setdefault(o.inbound_id, []).append(StoredReply(interaction_id, now, r))
    return {k: tuple(v) for k, v in out.items()}
