"""Round-robin assignment among a queue's available agents, respecting each agent's cap.

The queue's member rows are locked (``FOR UPDATE``) for the pick, so two processes assigning
in the same queue take turns instead of both choosing the same "next" agent. The next agent is
the available member assigned longest ago (never-assigned first) whose unsolved tickets are
below their ``max_open``; ``last_assigned_at`` then moves them to the back of the line.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.errors import NoAgentAvailable, UnknownQueue
from ticketing.lifecycle import UNSOLVED, set_assignee
from ticketing.models import Agent, Queue, QueueMember, Ticket
from ticketing.ticket_rows import TicketRow

__all__ = ["assign_round_robin", "next_agent", "pick_agents"]


async def next_agent(conn: AsyncConnection, queue: str, now: datetime) -> str:
    """Pick (and move to the back of the line) the next agent of ``queue``.

    Raises:
        UnknownQueue: the queue is not configured.
        NoAgentAvailable: nobody available, or everybody at their cap.
    """
    if (await conn.execute(select(Queue.name).where(Queue.name == queue))).scalar() is None:
        raise UnknownQueue(f"unknown queue {queue!r} (add it with `frontdesk tickets queues {queue}`)")
    (handle,) = await pick_agents(conn, queue, 1, now)
    if handle is None:
        raise NoAgentAvailable(f"every available agent of queue {queue!r} is at their cap of open tickets")
    return handle


async def pick_agents(conn: AsyncConnection, queue: str, count: int, now: datetime) -> list[str | None]:
    """Round-robin picks for ``count`` tickets of ``queue`` at once (an escalation sweep moves
    many): the members are locked once, each pick moves its agent to the back of the line and
    counts against their cap; None where everybody is at their cap.

    Raises:
        NoAgentAvailable: the queue has no available agents.
    """
    members = (
        await conn.execute(
            select(QueueMember.agent_id, Agent.handle, Agent.max_open)
            .join(Agent, Agent.id == QueueMember.agent_id)
            .where(QueueMember.queue == queue, Agent.available.is_(True))
            .order_by(QueueMember.last_assigned_at.asc().nulls_first(), QueueMember.agent_id)
            .with_for_update(of=QueueMember)
        )
    ).all()
    if not members:
        raise NoAgentAvailable(f"queue {queue!r} has no available agents")
    load = dict(
        (
            await conn.execute(
                select(Ticket.assignee, func.count())
                .where(Ticket.assignee.in_([m.handle for m in members]), Ticket.status.in_(UNSOLVED))
                .group_by(Ticket.assignee)
            )
        ).all()
    )
    line = list(members)  # front = assigned longest ago
    picks: list[str | None] = []
    moved: dict[int, None] = {}
    for _ in range(count):
        member = next((m for m in line if load.get(m.handle, 0) < m.max_open), None)
        if member is None:
            picks.append(None)
            continue
        picks.append(str(member.handle))
        load[member.handle] = load.get(member.handle, 0) + 1
        line.remove(member)
        line.append(member)
        moved.pop(member.agent_id, None)
        moved[member.agent_id] = None  # in pick order: the last picked is the most recent
    if moved:
        stamps = [now + timedelta(microseconds=n) for n in range(len(moved))]  # keeps the line's order
        await conn.execute(
            update(QueueMember)
            .where(QueueMember.queue == queue, QueueMember.agent_id == bindparam("b_agent"))
            .values(last_assigned_at=bindparam("b_at")),
            [{"b_agent": agent, "b_at": at} for agent, at in zip(moved, stamps, strict=True)],
        )
    return picks


async def assign_round_robin(conn: AsyncConnection, ticket: TicketRow, actor: str, now: datetime) -> str:
    handle = await next_agent(conn, ticket["queue"], now)
    await set_assignee(conn, ticket, handle, actor, now)
    return handle
