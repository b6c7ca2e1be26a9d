"""Starting and stopping a ticket's SLA clocks: intake, agent replies, customer messages.

*Intake* runs once per ticket, whoever opened it (the conversation flow in its batched
transaction, or the scheduler's sweep for tickets it finds un-taken): it links a follow-up to
the closed ticket before it, picks the first matching SLA policy, and starts the first-reply
and resolution targets (with warnings) and the escalation rules whose conditions hold, all
measured from the ticket's creation in the policy's business calendar. Tickets waiting for
intake are found through a partial index, so the sweep reads only those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ClauseElement

from ticketing import lifecycle, timers
from ticketing.driver import StatementBatch
from ticketing.models import Conversation, Interaction, SlaTimer, Ticket
from ticketing.sla_config import Policy, SlaConfig
from ticketing.ticket_rows import TicketRow, load_by_id, record
from ticketing.turn_state import in_ids, queue_by_ids

__all__ = [
    "REOPENED_BY_CUSTOMER",
    "acts_on",
    "after_customer_message",
    "intake",
    "on_agent_reply",
    "on_customer_message",
    "on_priority_change",
    "queue_open_tickets",
    "targets_for",
]

_WAITING = ("pending", "on-hold")


def targets_for(
    config: SlaConfig, policy: Policy, ticket: TicketRow, start: datetime, names: Sequence[str]
) -> list[timers.TimerSpec]:
    """Target (and warning) timers of ``names`` for the ticket's priority, counted from ``start``."""
    targets = policy.targets.get(ticket["priority"])
    calendar = config.calendar(policy.calendar)
    if targets is None or calendar is None:
        return []
    specs = []
    for name in names:
        seconds = getattr(targets, name)
        if seconds is None:
            continue
        specs.append(timers.TimerSpec("target", name, calendar.add(start, seconds), policy.calendar))
        if policy.warn_before is not None and policy.warn_before < seconds:
            due = calendar.add(start, seconds - policy.warn_before)
            specs.append(timers.TimerSpec("warning", name, due, policy.calendar))
    return specs


def escalation_specs(
    config: SlaConfig, policy: Policy | None, ticket: Mapping[str, Any], *, skip: Set[str] = frozenset()
) -> list[timers.TimerSpec]:
    """Clocks of the escalation rules whose conditions the ticket meets (but those in ``skip``),
    counted from its creation in the business time of its policy's calendar."""
    calendar_name = policy.calendar if policy else None
    calendar = config.calendar(calendar_name)
    start = ticket["created_at"]
    return [
        timers.TimerSpec(
            "escalation",
            rule.name,
            calendar.add(start, rule.delay) if calendar else start + timedelta(seconds=rule.delay),
            calendar_name,
        )
        for rule in config.escalations
        if rule.name not in skip and rule.when.matches(ticket)
    ]


async def intake(
    conn: AsyncConnection, config: SlaConfig, now: datetime, *, ids: Sequence[int] = (), limit: int = 500
) -> int:
    """Take in tickets not yet seen (all of ``ids``, or up to ``limit`` found by the index).

    A handful of statements for the whole batch, not a few per ticket: on SQLite the sweep's
    transaction holds the connection every chat message is written through, and tickets taken
    in one by one (each statement built, compiled and sent on its own) stalled every chat for
    as long.
    """
    stmt = select(Ticket.__table__).where(Ticket.intake_at.is_(None))
    stmt = stmt.where(Ticket.id.in_(ids)) if ids else stmt.order_by(Ticket.id).limit(limit)
    tickets = [dict(r) for r in (await conn.execute(stmt.with_for_update(skip_locked=True))).mappings()]
    if not tickets:
        return 0
    firsts = await _first_messages(conn, [t["id"] for t in tickets])
    await _follow_ups(conn, tickets, now)
    starts: list[tuple[int, timers.TimerSpec]] = []
    waiting: list[int] = []
    taken: list[dict[str, Any]] = []
    for ticket in tickets:
        ticket["sentiment"], ticket["complaint"] = firsts.get(ticket["id"], (None, None))
        policy = config.policy_for(ticket)
        specs = (
            targets_for(config, policy, ticket, ticket["created_at"], ("first_reply", "resolution"))
            if policy
            else []
        )
        specs += escalation_specs(config, policy, ticket)
        if ticket["status"] in lifecycle.UNSOLVED:
            starts += [(ticket["id"], spec) for spec in specs]
            if ticket["status"] in _WAITING:
                waiting.append(ticket["id"])
        # Which policy applies is a column (sla_policy, intake_at), not an event: taking a ticket
        # in changes nothing anybody did, and the trail stays "created" first, then real changes.
        taken.append({"b_id": ticket["id"], "b_now": now, "b_policy": policy.name if policy else None})
    await timers.start_many(conn, starts, now)
    for ticket_id in waiting:  # rare: a ticket set pending before the sweep came to it
        await timers.pause(conn, ticket_id, config.calendars, now)
    await conn.execute(_TAKEN_IN, taken)
    return len(tickets)


_TAKEN_IN = (
    update(Ticket)
    .where(Ticket.id == bindparam("b_id"))
    .values(intake_at=bindparam("b_now"), sla_policy=bindparam("b_policy"))
)


async def on_priority_change(
    conn: AsyncConnection, config: SlaConfig, tickets: Sequence[TicketRow], now: datetime
) -> None:
    """These tickets' priorities changed (call it in the change's transaction): SLA targets follow.

    As in Zendesk, the policy is picked again and the targets not yet met or breached (first
    reply while nobody answered, resolution) are recounted from the ticket's creation with the
    new priority's durations; a target the new priority lacks stops. Escalation rules that match
    only now (``when: {priority: urgent}`` after an escalation to urgent) start their clocks,
    counted from creation as at intake. The next-reply clock keeps running as it was. A few
    statements for any number of tickets: the sweep escalates many at once.
    """
    tickets = [t for t in tickets if t["intake_at"] is not None and t["status"] in lifecycle.UNSOLVED]
    if not tickets:  # not taken in: intake will use the new priority; solved: no running targets
        return
    ids = [t["id"] for t in tickets]
    states: dict[int, dict[tuple[str, str], str]] = {i: {} for i in ids}
    rows = await conn.execute(
        select(SlaTimer.ticket_id, SlaTimer.kind, SlaTimer.name, SlaTimer.state).where(
            SlaTimer.ticket_id.in_(ids)
        )
    )
    for ticket_id, kind, name, state in rows:
        states[ticket_id][(kind, name)] = state
    firsts = await _first_messages(conn, ids)
    stops: list[tuple[int, str]] = []
    starts: list[tuple[int, timers.TimerSpec]] = []
    policies: list[dict[str, object]] = []
    for ticket in tickets:
        have = states[ticket["id"]]
        sentiment, complaint = firsts.get(ticket["id"], (None, None))
        facts = {**ticket, "sentiment": sentiment, "complaint": complaint}
        policy = config.policy_for(facts)
        names = [
            n
            for n in ("first_reply", "resolution")
            if have.get(("target", n)) != "fired" and (n != "first_reply" or ticket["first_reply_at"] is None)
        ]
        stops += [(ticket["id"], n) for n in names]
        specs = targets_for(config, policy, ticket, ticket["created_at"], names) if policy else []
        started = {rule for kind, rule in have if kind == "escalation"}
        specs += escalation_specs(config, policy, facts, skip=started)
        starts += [(ticket["id"], spec) for spec in specs]
        picked = policy.name if policy else None
        if picked != ticket["sla_policy"]:
            policies.append({"b_id": ticket["id"], "b_policy": picked})
            ticket["sla_policy"] = picked
    await timers.stop_targets(conn, stops)
    await timers.start_many(conn, starts, now)
    for ticket in tickets:
        if ticket["status"] in _WAITING:
            await timers.pause(conn, ticket["id"], config.calendars, now)
    if policies:
        await conn.execute(_SET_POLICY, policies)


_SET_POLICY = update(Ticket).where(Ticket.id == bindparam("b_id")).values(sla_policy=bindparam("b_policy"))


async def _first_messages(
    conn: AsyncConnection, ticket_ids: list[int]
) -> dict[int, tuple[str | None, bool | None]]:
    """Sentiment label and complaint flag of each ticket's first customer message (what
    escalations match on); the flag is None for messages stored before it existed."""
    rows = await conn.execute(
        select(Interaction.ticket_id, Interaction.analysis)
        .where(Interaction.ticket_id.in_(ticket_ids), Interaction.direction == "in")
        .order_by(Interaction.id)
    )
    out: dict[int, tuple[str | None, bool | None]] = {}
    for ticket_id, analysis in rows:
        if ticket_id not in out and isinstance(analysis, dict):
            label = (analysis.get("sentiment") or {}).get("label")
            complaint = (analysis.get("complaint") or {}).get("is")
            if isinstance(label, str):
                out[ticket_id] = (label, complaint if isinstance(complaint, bool) else None)
    return out


async def _follow_ups(conn: AsyncConnection, tickets: Sequence[TicketRow], now: datetime) -> None:
    """A ticket opened on a conversation whose last ticket was closed is that ticket's follow-up
    (the first new ticket of the conversation, when several wait for intake). One read finds
    the conversations with a closed ticket; linking is per follow-up, which is rare."""
    candidates = [t for t in tickets if t["conversation_id"] is not None and t["previous_ticket_id"] is None]
    if not candidates:
        return
    conversations = sorted({t["conversation_id"] for t in candidates})
    rows = await conn.execute(_CLOSED_BEFORE, {"ids": conversations})
    previous: dict[int, int | None] = {conversation: ticket for conversation, ticket in rows}
    for ticket in candidates:
        before = previous.get(ticket["conversation_id"])
        if before is None or before == ticket["id"]:
            continue
        del previous[ticket["conversation_id"]]  # taken: the conversation's next ticket is no follow-up
        number = (await conn.execute(select(Ticket.number).where(Ticket.id == before))).scalar_one()
        await conn.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(previous_ticket_id=before))
        await conn.execute(
            update(Conversation)
            .where(Conversation.id == ticket["conversation_id"])
            .values(previous_ticket_id=None)
        )
        ticket["previous_ticket_id"] = before
        await record(conn, ticket["id"], "system", "follow_up", {"of": f"T-{number}"}, now)


_CLOSED_BEFORE = select(Conversation.id, Conversation.previous_ticket_id).where(
    Conversation.id.in_(bindparam("ids", expanding=True)), Conversation.previous_ticket_id.is_not(None)
)


async def on_agent_reply(conn: AsyncConnection, config: SlaConfig, ticket: TicketRow, now: datetime) -> None:
    """An agent answered: the first-reply (or the running next-reply) target is met."""
    names = ["next_reply"]
    if ticket["first_reply_at"] is None:
        names.append("first_reply")
        await conn.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(first_reply_at=now))
        ticket["first_reply_at"] = now
        waiting = [r.name for r in config.escalations if r.after.no_first_reply is not None]
        if waiting:
            await timers.stop(conn, ticket["id"], kinds=("escalation",), names=waiting)
    await timers.stop(conn, ticket["id"], kinds=("target", "warning"), names=names)


# What a customer message needs to know of the tickets it joins, all of them locked as the
# whole row used to be: reading every column of some sixty tickets per batch cost more than
# the rest of this function. Read through the driver with the ids as one parameter, so each
# statement is compiled once per dialect (turn_state.queue_by_ids); full rows are loaded only
# for the rare reopening.
_JOINED_COLUMNS = (
    Ticket.id,
    Ticket.status,
    Ticket.first_reply_at.is_not(None),
    Ticket.intake_at.is_not(None),
    Ticket.sla_policy,
    Ticket.priority,
)


def _joined(dialect_name: str, where: Any) -> ClauseElement:
    stmt = select(*_JOINED_COLUMNS).where(where).order_by(Ticket.id)
    return stmt.with_for_update(of=Ticket) if dialect_name == "postgresql" else stmt


def _tickets_of_ids(dialect_name: str) -> ClauseElement:
    return _joined(dialect_name, in_ids(Ticket.id, dialect_name))


def _open_of_conversations(dialect_name: str) -> ClauseElement:
    open_ids = select(Conversation.open_ticket_id).where(in_ids(Conversation.id, dialect_name))
    return _joined(dialect_name, Ticket.id.in_(open_ids.scalar_subquery()))


_RUNNING_NEXT_REPLY = select(SlaTimer.ticket_id).where(
    SlaTimer.ticket_id.in_(bindparam("ids", expanding=True)),
    SlaTimer.name == "next_reply",
    SlaTimer.kind == "target",
    SlaTimer.state.in_(("active", "paused")),
)
REOPENED_BY_CUSTOMER = ("pending", "on-hold", "solved")


async def on_customer_message(
    conn: AsyncConnection, config: SlaConfig, ticket_ids: Sequence[int], now: datetime
) -> None:
    """The customer wrote on these tickets (call it in the inbound message's transaction).

    Zendesk's semantics: a reply to a pending, on-hold or solved ticket reopens it; once an
    agent has replied, the next-reply clock starts (if the policy has one and it is not running).
    Closed tickets are left alone: the conversation no longer points at them. A few statements
    for the whole batch: the tickets, which of them have a next-reply clock running, and the
    clocks to start (reopening a ticket starts no clock, so checking after it is the same).
    """
    if not ticket_ids:
        return
    trip = StatementBatch()
    at = queue_by_ids(trip, conn.dialect, "joined tickets", _tickets_of_ids, ticket_ids)
    await after_customer_message(conn, config, (await trip.run(conn))[at], now)


def queue_open_tickets(trip: StatementBatch, dialect: Dialect, conversation_ids: set[int]) -> int:
    """The read :func:`on_customer_message` starts with, for every open ticket of these
    conversations, before a batch knows which of them its messages join: read with the batch's
    first statements, the rows of those it joins go to :func:`after_customer_message`."""
    return queue_by_ids(trip, dialect, "open tickets", _open_of_conversations, conversation_ids)


def acts_on(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether :func:`after_customer_message` does anything with these rows (reopens a ticket,
    may start a clock): most messages join a ticket that needs neither."""
    return any(
        status in REOPENED_BY_CUSTOMER or (status != "closed" and replied and taken_in)
        for _id, status, replied, taken_in, _policy, _priority in rows
    )


async def after_customer_message(
    conn: AsyncConnection, config: SlaConfig, rows: Sequence[Sequence[Any]], now: datetime
) -> None:
    """The rest of :func:`on_customer_message`, given the rows of its joined tickets."""
    tickets: list[dict[str, Any]] = []
    for ticket_id, status, replied, taken_in, policy_name, priority in rows:
        if status in REOPENED_BY_CUSTOMER:
            ticket = await load_by_id(conn, ticket_id, lock=False)  # locked above
            await lifecycle.set_status(conn, config, ticket, "open", "customer", now)
            status = ticket["status"]
        if status != "closed" and replied and taken_in:
            tickets.append({"id": ticket_id, "sla_policy": policy_name, "priority": priority})
    if not tickets:
        return
    result = await conn.execute(_RUNNING_NEXT_REPLY, {"ids": [t["id"] for t in tickets]})
    running = set(result.scalars().all())
    policies = {p.name: p for p in reversed(config.policies)}  # the first of a name, as next() found
    starts: list[tuple[int, timers.TimerSpec]] = []
    for ticket in tickets:
        policy = policies.get(ticket["sla_policy"])
        if policy is not None and ticket["id"] not in running:
            starts += [(ticket["id"], s) for s in targets_for(config, policy, ticket, now, ("next_reply",))]
    await timers.start_many(conn, starts, now)
