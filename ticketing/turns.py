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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from ticketing import csat, sla
from ticketing.batching import GroupCommit
from ticketing.customers import ConversationRef
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
from ticketing.numbers import NumberPool
from ticketing.sla_config import SlaConfig
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
    def __init__(self, *, engine: AsyncEngine, ticket_config: Callable[[], SlaConfig] | None = None) -> None:
        self._engine = engine
        self._ticket_config = ticket_config
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
            config = self._ticket_config() if self._ticket_config is not None else None
            if config is not None:
                await _csat_answers(conn, config, turns, fresh_keys, states, now)
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
            await _apply_side_effects(conn, items, states, ticket_ids, now)
            if config is not None:  # reopen pending/solved tickets, start next-reply clocks
                await sla.on_customer_message(conn, config, _joined(items, ticket_ids), now)
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
        state = replace(
            state,
            open_ticket_id=None,
            open_ticket_number=number,
            open_tickets=state.open_tickets + 1,
            ticket_tags=plan.open_ticket.tags,
        )
    elif plan.open_ticket is not None:  # a planner may not open a second ticket
        plan = replace(plan, open_ticket=None)
    fires = dict(state.rule_fires)
    for rule in plan.rules_fired:
        fires[rule] = fires.get(rule, 0) + 1
    answered = tuple(r.rule for r in plan.replies if r.rule)
    state = replace(
        state,
        handed_off=state.handed_off or plan.hand_off,
        status="closed" if plan.close_conversation else "open",
        turns=state.turns + 1,
        automated_replies=state.automated_replies + len(plan.replies),
        rule_fires=fires,
        recent_rules=(*state.recent_rules, *answered)[-3:],
        customer_tags=state.customer_tags if plan.customer_tags is None else plan.customer_tags,
        customer_attributes=state.customer_attributes
        if plan.customer_attributes is None
        else plan.customer_attributes,
        ticket_tags=state.ticket_tags if plan.ticket_tags is None else plan.ticket_tags,
        csat_thanks=None,  # answered by this turn only
    )
    states[conversation_id] = state
    return _Fresh(turn, plan, state.customer_id, number)


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
# Which rules produced the replies of these conversations: counts, and the three most recent.
_RULE_ROWS = select(
    Interaction.conversation_id,
    Interaction.rule,
    func.row_number()
    .over(partition_by=Interaction.conversation_id, order_by=Interaction.id.desc())
    .label("recency"),
).where(
    Interaction.conversation_id.in_(bindparam("ids", expanding=True)),
    Interaction.direction == "out",
    Interaction.rule.is_not(None),
)
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


async def _states(conn: AsyncConnection, conversation_ids: set[int]) -> dict[int, ConversationState]:
    ids = {"ids": list(conversation_ids)}
    fires: dict[int, dict[str, int]] = {}
    recent: dict[int, list[tuple[int, str]]] = {}
    for conversation_id, rule, recency in await conn.execute(_RULE_ROWS, ids):
        counts = fires.setdefault(conversation_id, {})
        for name in rule.split("+"):  # a reply made by several rules names them all
            counts[name] = counts.get(name, 0) + 1
        if recency <= 3:
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
            "b_tid": tickets.get(number) if number is not None else None, "b_status": state.status,
        })  # fmt: skip
    await conn.execute(_UPDATE_CONVERSATION, changes)
    joined = {
        tickets[i.ticket_number] for i in items if i.ticket_number is not None and i.plan.open_ticket is None
    }
    if joined:
        await conn.execute(_TOUCH_TICKETS, {"ids": list(joined), "now": now})


async def _csat_answers(
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


def _joined(items: list[_Fresh], tickets: dict[int, int]) -> list[int]:
    """Existing tickets that customer messages of this batch were added to."""
    return sorted(
        {
            tickets[i.ticket_number]
            for i in items
            if i.ticket_number is not None
            and i.plan.open_ticket is None
            and i.turn.record.sender_role == "customer"
            and i.ticket_number in tickets
        }
    )


async def _apply_side_effects(
    conn: AsyncConnection,
    items: list[_Fresh],
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
