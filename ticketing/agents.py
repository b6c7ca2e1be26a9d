"""Queues (teams) and the agents who work them: the roster that assignment picks from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.driver import CompiledStatement, StatementBatch
from ticketing.errors import InvalidValue, UnknownAgent, UnknownQueue
from ticketing.lifecycle import UNSOLVED
from ticketing.models import Agent, Queue, QueueMember, Ticket
from ticketing.time import utcnow

__all__ = ["AgentInfo", "Roster", "ensure_queues", "queue_registrations"]


async def ensure_queues(conn: AsyncConnection, names: Iterable[str], now: datetime) -> None:
    """Register the queues the rulebook routes tickets to, so that a rule or an escalation
    naming a queue nobody added by hand does not fail (and roll back) at its first ticket."""
    trip = StatementBatch()
    queue_registrations(trip, conn.dialect, names, now)
    await trip.run(conn)


def queue_registrations(trip: StatementBatch, dialect: Dialect, names: Iterable[str], now: datetime) -> None:
    """:func:`ensure_queues` as part of a batch's trip."""
    rows = [(n, "named in the rulebook", now) for n in sorted(set(names))]
    _QUEUE_INSERTS[dialect.name].queue(trip, dialect, rows)


# Built once: a new ON CONFLICT statement per call cost more than running it (every new ticket).
_QUEUE_INSERTS = {
    name: CompiledStatement(
        dialect.insert(Queue).on_conflict_do_nothing(index_elements=["name"]),
        ("name", "description", "created_at"),
    )
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


@dataclass(frozen=True, slots=True)
class AgentInfo:
    handle: str
    display_name: str | None
    available: bool
    max_open: int
    open_tickets: int
    queues: tuple[str, ...]


class Roster:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_queue(self, name: str, description: str | None = None) -> None:
        if not name.strip():
            raise InvalidValue("a queue needs a name")
        async with self._engine.begin() as conn:
            if (await conn.execute(select(Queue.name).where(Queue.name == name))).scalar() is None:
                await conn.execute(
                    insert(Queue), {"name": name, "description": description, "created_at": utcnow()}
                )

    async def queues(self) -> list[str]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(Queue.name).order_by(Queue.name))).scalars())

    async def add_agent(
        self, handle: str, *, queues: Sequence[str], display_name: str | None = None, max_open: int = 20
    ) -> None:
        """Create the agent (or update name and cap) and make them a member of ``queues``."""
        if not handle.strip() or max_open < 1:
            raise InvalidValue("an agent needs a handle and a cap of at least 1 open ticket")
        async with self._engine.begin() as conn:
            known = set((await conn.execute(select(Queue.name).where(Queue.name.in_(queues)))).scalars())
            missing = [q for q in queues if q not in known]
            if missing:
                raise UnknownQueue(f"unknown queue(s) {', '.join(missing)} (add them first)")
            agent_id = (await conn.execute(select(Agent.id).where(Agent.handle == handle))).scalar()
            if agent_id is None:
                agent_id = (
                    await conn.execute(
                        insert(Agent).returning(Agent.id),
                        {"handle": handle, "display_name": display_name, "available": True,
                         "max_open": max_open, "created_at": utcnow()},
                    )
                ).scalar_one()  # fmt: skip
            else:
                await conn.execute(
                    update(Agent)
                    .where(Agent.id == agent_id)
                    .values(display_name=display_name, max_open=max_open)
                )
            have = set(
                (
                    await conn.execute(select(QueueMember.queue).where(QueueMember.agent_id == agent_id))
                ).scalars()
            )
            new = [
                {"queue": q, "agent_id": agent_id, "last_assigned_at": None} for q in queues if q not in have
            ]
            if new:
                try:
                    await conn.execute(insert(QueueMember), new)
                except IntegrityError as exc:  # a concurrent add of the same membership
                    raise InvalidValue(f"{handle} was changed concurrently; try again") from exc

    async def link_account(self, handle: str, account_id: int) -> bool:
        return await link_account(self._engine, handle, account_id)

    async def set_available(self, handle: str, available: bool) -> None:
        async with self._engine.begin() as conn:
            agent_id = await self._agent_id(conn, handle)
            await conn.execute(update(Agent).where(Agent.id == agent_id).values(available=available))

    async def agents(self) -> list[AgentInfo]:
        async with self._engine.connect() as conn:
            agents = (await conn.execute(select(Agent.__table__).order_by(Agent.handle))).all()
            members = (await conn.execute(select(QueueMember.agent_id, QueueMember.queue))).all()
            load = dict(
                (
                    await conn.execute(
                        select(Ticket.assignee, func.count())
                        .where(Ticket.assignee.is_not(None), Ticket.status.in_(UNSOLVED))
                        .group_by(Ticket.assignee)
                    )
                ).all()
            )
        return [
            AgentInfo(a.handle, a.display_name, a.available, a.max_open, int(load.get(a.handle, 0)),
                      tuple(sorted(q for i, q in members if i == a.id)))
            for a in agents
        ]  # fmt: skip

    @staticmethod
    async def _agent_id(conn: AsyncConnection, handle: str) -> int:
        agent_id = (await conn.execute(select(Agent.id).where(Agent.handle == handle))).scalar()
        if agent_id is None:
            raise UnknownAgent(
                f"unknown agent {handle!r} (add it with `frontdesk tickets agent-add {handle} --queue QUEUE`)"
            )
        return int(agent_id)


async def link_account(engine: AsyncEngine, handle: str, account_id: int) -> bool:
    """Link agent ``handle`` to an account (ticketing/accounts.py); False if no such agent."""
    stmt = update(Agent).where(Agent.handle == handle).values(account_id=account_id)
    async with engine.begin() as conn:
        return bool((await conn.execute(stmt)).rowcount)
