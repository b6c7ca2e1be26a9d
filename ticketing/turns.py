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

A turn whose customer was erased meanwhile (``frontdesk tickets customer-erase``, perhaps in
another process, while this one still had the conversation cached) is *refused*: nothing is
stored and its dedup claim is released, so the caller can resolve the sender afresh and retry.
The erasure is seen in the state read the batch makes anyway, so normal turns pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import lifecycle, sla
from ticketing.batching import GroupCommit
from ticketing.driver import CompiledStatement, StatementBatch, commit, rollback
from ticketing.models import InboundDedup, Interaction
from ticketing.numbers import NumberTally, reserve_numbers
from ticketing.row_ids import queue_id_tops
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import load_by_id
from ticketing.time import utcnow
from ticketing.turn_state import ConversationState, queue_states, states_from_rows
from ticketing.turn_types import (
    InboundRecord,
    Plan,
    PlannedTurn,
    Planner,
    ReplyRecord,
    StoredReply,
    TicketDraft,
    Turn,
    TurnResult,
)
from ticketing.turn_writes import (
    ID_TABLES,
    apply_side_effects,
    assign_ids,
    csat_answers,
    insert_interactions,
    joined_tickets,
    open_tickets,
    update_conversations,
)

__all__ = [
    "ConversationState",
    "InboundRecord",
    "Plan",
    "Planner",
    "ReplyRecord",
    "StoredReply",
    "TicketDraft",
    "Turn",
    "TurnResult",
    "Turns",
]

_CLAIM_COLUMNS = ("channel", "key", "created_at")


class Turns:
    def __init__(self, *, engine: AsyncEngine, ticket_config: Callable[[], SlaConfig] | None = None) -> None:
        self._engine = engine
        self._ticket_config = ticket_config
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        claim = dialect.insert(InboundDedup).on_conflict_do_nothing()
        self._claim = CompiledStatement(
            claim.returning(InboundDedup.channel, InboundDedup.key), _CLAIM_COLUMNS
        )
        self._batch: GroupCommit[Turn, TurnResult] = GroupCommit(self._run, name="turns")

    async def record(self, turn: Turn) -> TurnResult:
        return await self._batch.submit(turn)

    async def close(self) -> None:
        await self._batch.close()

    async def _run(self, turns: Sequence[Turn]) -> list[TurnResult]:
        now = utcnow()
        config = self._ticket_config() if self._ticket_config is not None else None
        # connect(), not begin(): the batch commits in its last trip (driver.commit), so that on
        # SQLite it reaches the driver thread twice in all (read, then write and commit).
        async with self._engine.connect() as conn:
            try:
                read = await self._read(conn, turns, now, with_tickets=config is not None)
                states, fresh_keys = read.states, read.fresh
                refused: set[tuple[str, str]] = set()
                if any(state.customer_erased for state in states.values()):  # rare: after an erasure
                    refused = await _refuse(conn, turns, states, fresh_keys)
                    fresh_keys = fresh_keys - refused
                if config is not None:
                    await csat_answers(conn, config, turns, fresh_keys, states, now)
                items = await _plan_all(conn, turns, fresh_keys, states)
                fresh = {item.turn.record.key: item for item in items}
                new_tickets = await assign_ids(conn, items, read.tops)
                trip, dialect = StatementBatch(), conn.dialect
                ticket_ids = open_tickets(trip, dialect, items, states, new_tickets, now)
                replies = insert_interactions(trip, dialect, items, ticket_ids, now)
                update_conversations(trip, dialect, items, states, ticket_ids, now)
                apply_side_effects(trip, dialect, items, states, ticket_ids, now)
                joined = set(joined_tickets(items, ticket_ids))
                rows = [row for row in read.open_tickets if row[0] in joined]
                raised = raised_priorities(items, ticket_ids)
                if raised:  # rare: a rule raised an open ticket's priority (a complaint)
                    await trip.run(conn)
                    await raise_priorities(conn, config, raised, now)
                if config is not None and sla.acts_on(rows):
                    # Reopen pending/solved tickets, start next-reply clocks: rare, and after the
                    # batch's own rows, which took the ids reserved for them.
                    await trip.run(conn)
                    await sla.after_customer_message(conn, config, rows, now)
                duplicates = [t for t in turns if t.record.key not in fresh and t.record.key not in refused]
                originals = await _originals(conn, duplicates)
                await commit(conn, trip)  # what is left of the trip, and the commit
            except BaseException:
                await rollback(conn)
                raise
        results = []
        answered: set[tuple[str, str]] = set()
        for turn in turns:
            key = turn.record.key
            state = states[turn.record.conversation.id]
            item = fresh.get(key)
            if key in refused:
                results.append(TurnResult(0, False, turn.record.received_at, state=state, refused=True))
            elif item is not None and key not in answered:
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

    async def _read(
        self, conn: AsyncConnection, turns: Sequence[Turn], now: datetime, *, with_tickets: bool
    ) -> _Read:
        """Everything a batch reads before it plans, in one trip to the driver.

        On SQLite the claim goes first: it is the transaction's first write and takes the write
        lock, so what is read after it stays true until commit. On PostgreSQL the states go
        first: their row locks order batches of the same conversations (turn_state).
        """
        dialect = conn.dialect
        trip = StatementBatch()
        conversations = {t.record.conversation.id for t in turns}
        rows = [(t.record.channel, t.record.idempotency_key, now) for t in turns]
        if dialect.name == "postgresql":
            states_at = queue_states(trip, dialect, conversations)
            claims = self._claim.queue_returning(trip, dialect, rows)
        else:
            claims = self._claim.queue_returning(trip, dialect, rows)
            states_at = queue_states(trip, dialect, conversations)
        tops_at = queue_id_tops(trip, dialect, ID_TABLES)
        tickets_at = sla.queue_open_tickets(trip, dialect, conversations) if with_tickets else None
        results = await trip.run(conn)
        return _Read(
            states=states_from_rows(dialect, results[states_at]),
            fresh={(c, k) for i in claims for c, k in results[i]},
            tops=None if tops_at is None else results[tops_at][0],
            open_tickets=() if tickets_at is None else results[tickets_at],
        )


@dataclass(frozen=True, slots=True)
class _Read:
    """What a batch read before planning (:meth:`Turns._read`)."""

    states: dict[int, ConversationState]
    fresh: set[tuple[str, str]]  # the (channel, key) of the messages this batch is first to see
    tops: Sequence[Any] | None  # SQLite: the largest ids, for assign_ids
    open_tickets: Sequence[Sequence[Any]]  # the conversations' open tickets, for sla


async def _plan_all(
    conn: AsyncConnection,
    turns: Sequence[Turn],
    fresh_keys: set[tuple[str, str]],
    states: dict[int, ConversationState],
) -> list[PlannedTurn]:
    """Plan every fresh turn in order, each on the state its predecessors left. Planned first
    with provisional ticket numbers; if any turn opens a ticket, exactly that many numbers are
    reserved (ticketing/numbers.py) and the turns from the first one that opened a ticket on are
    planned again with them. ``states`` ends as the final plan left it."""
    todo: list[Turn] = []
    seen: set[tuple[str, str]] = set()
    for turn in turns:
        key = turn.record.key
        if key in fresh_keys and key not in seen:
            seen.add(key)
            todo.append(turn)
    tally = NumberTally()
    provisional = dict(states)
    items: list[PlannedTurn] = []
    left: list[ConversationState] = []  # the state each turn left its conversation in
    for index, turn in enumerate(todo):
        tally.at_turn(index)
        items.append(_plan(turn, provisional, tally.take))
        left.append(provisional[turn.record.conversation.id])
    if tally.first_taker is None:
        states.update(provisional)
        return items
    numbers = await reserve_numbers(conn, tally.taken)

    def take() -> int:
        number = next(numbers, None)
        if number is None:  # planners are pure: the second plan cannot ask for more
            raise RuntimeError("a planner asked for more ticket numbers than its first plan")
        return number

    start = tally.first_taker
    for turn, state in zip(todo[:start], left[:start], strict=True):  # the same in both plans
        states[turn.record.conversation.id] = state
    replanned = [_plan(turn, states, take) for turn in todo[start:]]
    return items[:start] + replanned


def _plan(turn: Turn, states: dict[int, ConversationState], take_number: Callable[[], int]) -> PlannedTurn:
    """Run the turn's planner on the state so far and fold its effects into that state."""
    conversation_id = turn.record.conversation.id
    state = states[conversation_id]
    rated = state.csat_thanks is not None
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
            ticket_priority=plan.open_ticket.priority,
            ticket_queue=plan.open_ticket.queue,
            ticket_status="new",
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
        dialog=state.dialog if plan.dialog is None else plan.dialog,
        language=plan.language or state.language,
        ticket_priority=plan.ticket_priority or state.ticket_priority,
        ticket_status=_status_after(turn, plan, state.ticket_status, rated=rated),
    )
    states[conversation_id] = state
    return PlannedTurn(turn, plan, state.customer_id, number, rated=rated)


def _status_after(turn: Turn, plan: Plan, status: str | None, *, rated: bool) -> str | None:
    """The open ticket's status as the next turn of the batch sees it: a customer's message
    reopens a waiting or solved ticket (sla.after_customer_message), unless it only rated it,
    closed the loop ("thanks") or was only recorded."""
    if status not in sla.REOPENED_BY_CUSTOMER or rated or plan.keep_solved or turn.record_only:
        return status
    return "open" if turn.record.sender_role == "customer" else status


def raised_priorities(items: list[PlannedTurn], tickets: dict[int, int]) -> list[tuple[int, str, str]]:
    """(ticket id, priority, actor) for each existing ticket a plan raises."""
    return [
        (tickets[i.ticket_number], i.plan.ticket_priority, f"rule:{i.plan.rules_fired[0]}"[:200])
        for i in items
        if i.plan.ticket_priority is not None and i.ticket_number in tickets and i.plan.open_ticket is None
    ]


async def raise_priorities(
    conn: AsyncConnection, config: SlaConfig | None, raised: list[tuple[int, str, str]], now: datetime
) -> None:
    """Raise these tickets' priorities the way an agent's change would (event, SLA targets), and
    never lower one: a complaint on an urgent ticket leaves it urgent."""
    changed = []
    for ticket_id, priority, actor in raised:
        ticket = await load_by_id(conn, ticket_id)
        if ticket["status"] == "closed" or _RANK[priority] <= _RANK.get(ticket["priority"], 0):
            continue
        if await lifecycle.set_priority(conn, ticket, priority, actor, now):
            changed.append(ticket)
    if changed and config is not None:
        await sla.on_priority_change(conn, config, changed, now)


_RANK = {name: rank for rank, name in enumerate(lifecycle.PRIORITIES)}


async def _refuse(
    conn: AsyncConnection,
    turns: Sequence[Turn],
    states: dict[int, ConversationState],
    claimed: set[tuple[str, str]],
) -> set[tuple[str, str]]:
    """The keys of the turns whose customer was erased; the claims this batch took for them are
    released, so that a retry (under a fresh customer) is not mistaken for a duplicate."""
    refused = {t.record.key for t in turns if states[t.record.conversation.id].customer_erased}
    for channel, key in sorted(refused & claimed):
        await conn.execute(
            delete(InboundDedup).where(InboundDedup.channel == channel, InboundDedup.key == key)
        )
    return refused


# Built once: constructing statements costs more than executing them at this batch rate.
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
