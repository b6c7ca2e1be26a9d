"""Recording a message and everything the bot does about it, in one transaction.

A *turn* is one inbound message plus a ``plan`` callback that decides, from the conversation's
current state, what to write: replies, a new ticket or the open ticket the message joins, a
hand-off. Turns go through :class:`~ticketing.batching.GroupCommit`, so all messages that
arrive while a batch is written share the next transaction, and within a batch each plan sees
the state left by the turns before it (a second message opens no second ticket).

Inside the transaction the ``inbound_dedup`` insert decides which messages are new; a retried
delivery conflicts on its key and is answered with its original's replies. The inbound message,
its ticket and its replies (with their outbox rows) commit together: there is never a stored
message without its answer, nor an answer without its message. Only after the commit does the
channel acknowledge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.batching import GroupCommit
from ticketing.customers import ConversationRef
from ticketing.database import insert_returning_ids
from ticketing.models import Conversation, InboundDedup, Interaction, OutboxItem, Ticket, TicketEvent
from ticketing.numbers import NumberPool
from ticketing.time import utcnow

__all__ = [
    "ConversationState",
    "InboundRecord",
    "Plan",
    "ReplyRecord",
    "StoredReply",
    "TicketDraft",
    "Turn",
    "TurnResult",
    "Turns",
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
class ConversationState:
    customer_id: int
    status: str
    handed_off: bool
    open_ticket_id: int | None  # None while the ticket is being opened in this same batch
    open_ticket_number: int | None


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


# Decides a turn from the conversation state; takes ticket numbers from the callable it is
# given. Runs inside the write transaction: it must be quick, pure and must not raise.
Planner = Callable[[ConversationState, Callable[[], int]], Plan]


@dataclass(frozen=True, slots=True)
class Turn:
    record: InboundRecord
    plan: Planner


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


@dataclass(slots=True)
class _Fresh:
    """A new turn while its batch is written: the plan and the ids it gets along the way."""

    turn: Turn
    plan: Plan
    customer_id: int
    ticket_number: int | None
    inbound_id: int = 0


class Turns:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._dedup_insert = dialect.insert(InboundDedup).on_conflict_do_nothing()
        self._numbers = NumberPool(name="ticket_number")
        self._batch: GroupCommit[Turn, TurnResult] = GroupCommit(self._run, name="turns")

    async def record(self, turn: Turn) -> TurnResult:
        return await self._batch.submit(turn)

    async def close(self) -> None:
        await self._batch.close()

    async def _run(self, turns: Sequence[Turn]) -> list[TurnResult]:
        try:
            return await self._write(turns)
        except BaseException:
            self._numbers.forget()  # the reservation rolled back with the transaction
            raise

    async def _write(self, turns: Sequence[Turn]) -> list[TurnResult]:
        now = utcnow()
        async with self._engine.begin() as conn:
            states = await _states(conn, {t.record.conversation.id for t in turns})
            fresh_keys = await self._claim_keys(conn, turns, now)
            await self._numbers.ensure(conn, len(fresh_keys))
            fresh: dict[tuple[str, str], _Fresh] = {}
            for turn in turns:
                key = turn.record.key
                if key in fresh_keys and key not in fresh:
                    fresh[key] = _plan(turn, states, self._numbers.take)
            items = list(fresh.values())
            ticket_ids = await _open_tickets(conn, items, states, now)
            await _insert_inbound(conn, items, ticket_ids, now)
            replies = await _insert_replies(conn, items, ticket_ids, now)
            await _update_conversations(conn, items, states, ticket_ids, now)
            originals = await _originals(conn, [t for t in turns if t.record.key not in fresh])
        results = []
        answered: set[tuple[str, str]] = set()
        for turn in turns:
            key = turn.record.key
            state = states[turn.record.conversation.id]
            item = fresh.get(key)
            if item is not None and key not in answered:
                answered.add(key)
                results.append(
                    TurnResult(
                        item.inbound_id,
                        False,
                        turn.record.received_at,
                        item.ticket_number,
                        replies.get(item.inbound_id, ()),
                        state,
                    )
                )
            else:
                interaction_id, created = originals.get(key) or (fresh[key].inbound_id, now)
                results.append(TurnResult(interaction_id, True, created, state=state))
        return results

    async def _claim_keys(
        self, conn: AsyncConnection, turns: Sequence[Turn], now: datetime
    ) -> set[tuple[str, str]]:
        rows = [
            {"channel": t.record.channel, "key": t.record.idempotency_key, "created_at": now} for t in turns
        ]
        result = await conn.execute(
            self._dedup_insert.returning(InboundDedup.channel, InboundDedup.key), rows
        )
        return {(c, k) for c, k in result.all()}


def _plan(turn: Turn, states: dict[int, ConversationState], take_number: Callable[[], int]) -> _Fresh:
    """Run the turn's planner on the state so far and fold its effects into that state."""
    conversation_id = turn.record.conversation.id
    state = states[conversation_id]
    plan = turn.plan(state, take_number)
    number = state.open_ticket_number
    if plan.open_ticket is not None and state.open_ticket_number is None:
        number = plan.open_ticket.number
        state = replace(state, open_ticket_id=None, open_ticket_number=number)
    elif plan.open_ticket is not None:  # a planner may not open a second ticket
        plan = replace(plan, open_ticket=None)
    if plan.hand_off:
        state = replace(state, handed_off=True)
    states[conversation_id] = state
    return _Fresh(turn, plan, state.customer_id, number)


# Built once: constructing statements costs more than executing them at this batch rate.
_STATES = select(
    Conversation.id,
    Conversation.customer_id,
    Conversation.status,
    Conversation.handed_off,
    Conversation.open_ticket_id,
    Conversation.open_ticket_number,
).where(Conversation.id.in_(bindparam("ids", expanding=True)))
_LINK_DEDUP = (
    update(InboundDedup)
    .where(InboundDedup.channel == bindparam("b_channel"), InboundDedup.key == bindparam("b_key"))
    .values(interaction_id=bindparam("b_id"))
)
_UPDATE_CONVERSATION = (
    update(Conversation)
    .where(Conversation.id == bindparam("b_id"))
    .values(
        last_message_at=bindparam("b_now"),
        open_ticket_id=bindparam("b_tid"),
        open_ticket_number=bindparam("b_tnum"),
        handed_off=bindparam("b_handoff"),
    )
)
_TOUCH_TICKETS = (
    update(Ticket).where(Ticket.id.in_(bindparam("ids", expanding=True))).values(updated_at=bindparam("now"))
)


async def _states(conn: AsyncConnection, conversation_ids: set[int]) -> dict[int, ConversationState]:
    rows = await conn.execute(_STATES, {"ids": list(conversation_ids)})
    return {row.id: ConversationState(*row[1:]) for row in rows}


async def _open_tickets(
    conn: AsyncConnection, items: list[_Fresh], states: dict[int, ConversationState], now: datetime
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


async def _insert_inbound(
    conn: AsyncConnection, items: list[_Fresh], tickets: dict[int, int], now: datetime
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


def _inbound_row(item: _Fresh, tickets: dict[int, int], now: datetime) -> dict[str, Any]:
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


async def _insert_replies(
    conn: AsyncConnection, items: list[_Fresh], tickets: dict[int, int], now: datetime
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


async def _update_conversations(
    conn: AsyncConnection,
    items: list[_Fresh],
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
            "b_tid": tickets.get(number) if number is not None else None,
        })  # fmt: skip
    await conn.execute(_UPDATE_CONVERSATION, changes)
    joined = {
        tickets[i.ticket_number] for i in items if i.ticket_number is not None and i.plan.open_ticket is None
    }
    if joined:
        await conn.execute(_TOUCH_TICKETS, {"ids": list(joined), "now": now})


async def _originals(
    conn: AsyncConnection, duplicates: Sequence[Turn]
) -> dict[tuple[str, str], tuple[int, datetime]]:
    found: dict[tuple[str, str], tuple[int, datetime]] = {}
    for turn in duplicates:  # rare: retries only
        r = turn.record
        stmt = (
            select(Interaction.id, Interaction.created_at)
            .join(InboundDedup, InboundDedup.interaction_id == Interaction.id)
            .where(InboundDedup.channel == r.channel, InboundDedup.key == r.idempotency_key)
        )
        row = (await conn.execute(stmt)).first()
        if row is not None:
            found[r.key] = (row.id, row.created_at)
    return found
