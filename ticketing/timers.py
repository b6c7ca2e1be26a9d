"""SLA timers in the database: start, stop, pause, resume, and mark fired.

A timer is one row per (ticket, kind, name). Its due time is stored and indexed with its state,
so "what is due now?" is an index range scan whose cost is the number of due timers, however
many tickets exist, and a timer that fell due while no process was running is simply due at the
next sweep (it fires once: firing and marking it fired commit together). Business-time timers
pause by storing the business seconds left and clearing ``due_at``; resuming recomputes
``due_at`` from now. All functions run inside the caller's transaction; claiming due timers
is :mod:`ticketing.escalation`'s (it locks their tickets in the same statement).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.business_hours import BusinessCalendar
from ticketing.models import SlaTimer, Ticket

__all__ = [
    "TIMER_STATES",
    "DueTimer",
    "TimerSpec",
    "TimerView",
    "listing",
    "mark",
    "overdue",
    "pause",
    "process_tag",
    "resume",
    "retry_failed",
    "start",
    "start_many",
    "stop",
    "stop_targets",
]

TIMER_STATES = ("active", "paused", "fired", "stopped", "failed")  # failed: its effect raised
# Business-time timers: paused while the ticket waits on the customer (pending / on-hold).
PAUSABLE = ("target", "warning", "escalation")


@dataclass(frozen=True, slots=True)
class TimerSpec:
    kind: str  # target | warning | escalation | autoclose
    name: str
    due_at: datetime
    calendar: str | None = None  # None: wall-clock


@dataclass(frozen=True, slots=True)
class DueTimer:
    id: int
    ticket_id: int
    kind: str
    name: str
    due_at: datetime


def process_tag() -> str:
    """Who fired a timer (host:pid), kept on the row for the audit."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _upsert(conn: AsyncConnection) -> object:
    """The upsert for this connection's dialect, built once: building it (``excluded`` copies
    every column of the table) cost more than running it, once per ticket taken in."""
    name = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    stmt = _UPSERTS.get(name)
    if stmt is None:
        insert = (postgresql if name == "postgresql" else sqlite).insert(SlaTimer)
        stmt = _UPSERTS[name] = insert.on_conflict_do_update(
            index_elements=["ticket_id", "kind", "name"],
            set_={
                "state": insert.excluded.state,
                "due_at": insert.excluded.due_at,
                "remaining_seconds": None,
                "calendar": insert.excluded.calendar,
                "fired_at": None,
                "fired_by": None,
            },
        )
    return stmt


_UPSERTS: dict[str, object] = {}


async def start(conn: AsyncConnection, ticket_id: int, specs: Iterable[TimerSpec], now: datetime) -> None:
    """(Re)start timers; a timer that exists (fired, stopped) is reset to the new due time."""
    await start_many(conn, [(ticket_id, s) for s in specs], now)


async def start_many(conn: AsyncConnection, specs: Sequence[tuple[int, TimerSpec]], now: datetime) -> None:
    """:func:`start` for the timers of many tickets, in one statement."""
    rows = [
        {"ticket_id": ticket_id, "kind": s.kind, "name": s.name, "state": "active", "due_at": s.due_at,
         "remaining_seconds": None, "calendar": s.calendar, "created_at": now, "fired_at": None,
         "fired_by": None}
        for ticket_id, s in specs
    ]  # fmt: skip
    if rows:
        await conn.execute(_upsert(conn), rows)  # type: ignore[call-overload]


async def stop(
    conn: AsyncConnection, ticket_id: int, *, kinds: Sequence[str] = (), names: Sequence[str] = ()
) -> None:
    """Stop running or paused timers (a target was met, the ticket was solved)."""
    where = [SlaTimer.ticket_id == ticket_id, SlaTimer.state.in_(("active", "paused"))]
    if kinds:
        where.append(SlaTimer.kind.in_(kinds))
    if names:
        where.append(SlaTimer.name.in_(names))
    await conn.execute(update(SlaTimer).where(and_(*where)).values(state="stopped"))


_STOP_TARGETS = (
    update(SlaTimer)
    .where(
        SlaTimer.ticket_id == bindparam("b_ticket"),
        SlaTimer.name == bindparam("b_name"),
        # or_, not in_: an IN list is expanded per execution, which executemany cannot do
        or_(SlaTimer.kind == "target", SlaTimer.kind == "warning"),
        or_(SlaTimer.state == "active", SlaTimer.state == "paused"),
    )
    .values(state="stopped")
)


_STOP_ALL = (
    update(SlaTimer)
    .where(
        SlaTimer.ticket_id == bindparam("b_ticket"),
        or_(SlaTimer.state == "active", SlaTimer.state == "paused"),  # executemany: no IN list
    )
    .values(state="stopped")
)


async def stop_many(conn: AsyncConnection, ticket_ids: Sequence[int]) -> None:
    """:func:`stop` of every running or paused timer, for many tickets in one statement."""
    if ticket_ids:
        await conn.execute(_STOP_ALL, [{"b_ticket": t} for t in ticket_ids])


async def stop_targets(conn: AsyncConnection, named: Sequence[tuple[int, str]]) -> None:
    """Stop the running or paused target and warning timers of each (ticket id, name)."""
    if named:
        await conn.execute(_STOP_TARGETS, [{"b_ticket": t, "b_name": n} for t, n in named])


async def pause(
    conn: AsyncConnection, ticket_id: int, calendars: Mapping[str, BusinessCalendar], now: datetime
) -> None:
    rows = await conn.execute(
        select(SlaTimer.id, SlaTimer.due_at, SlaTimer.calendar).where(
            SlaTimer.ticket_id == ticket_id,
            SlaTimer.state == "active",
            SlaTimer.kind.in_(PAUSABLE),
            SlaTimer.due_at > now,  # already due: it fires at the next sweep, as it should
        )
    )
    changes = []
    for row in rows:
        calendar = calendars.get(row.calendar or "")
        left = calendar.between(now, row.due_at) if calendar else (row.due_at - now).total_seconds()
        changes.append({"b_id": row.id, "b_left": left})
    if changes:
        await conn.execute(
            update(SlaTimer)
            .where(SlaTimer.id == bindparam("b_id"))
            .values(state="paused", due_at=None, remaining_seconds=bindparam("b_left")),
            changes,
        )


async def resume(
    conn: AsyncConnection, ticket_id: int, calendars: Mapping[str, BusinessCalendar], now: datetime
) -> None:
    rows = await conn.execute(
        select(SlaTimer.id, SlaTimer.remaining_seconds, SlaTimer.calendar).where(
            SlaTimer.ticket_id == ticket_id, SlaTimer.state == "paused"
        )
    )
    changes = []
    for row in rows:
        calendar = calendars.get(row.calendar or "")
        left = float(row.remaining_seconds or 0.0)
        due = calendar.add(now, left) if calendar else now + timedelta(seconds=left)
        changes.append({"b_id": row.id, "b_due": due})
    if changes:
        await conn.execute(
            update(SlaTimer)
            .where(SlaTimer.id == bindparam("b_id"))
            .values(state="active", due_at=bindparam("b_due"), remaining_seconds=None),
            changes,
        )


_MARK = (
    update(SlaTimer)
    .where(SlaTimer.id.in_(bindparam("ids", expanding=True)), SlaTimer.state == "active")
    .values(state=bindparam("b_state"), fired_at=bindparam("b_now"), fired_by=bindparam("b_by"))
)


async def mark(conn: AsyncConnection, ids: Sequence[int], state: str, now: datetime) -> None:
    """Record the outcome of claimed timers: ``fired`` (or ``failed``, kept for operators)."""
    if ids:
        by = process_tag()
        await conn.execute(_MARK, {"ids": list(ids), "b_state": state, "b_now": now, "b_by": by})


async def overdue(conn: AsyncConnection, *, now: datetime, late_before: datetime) -> tuple[int, int, int]:
    """(due, late, failed) for /metrics: active timers due by now, those due before
    ``late_before`` (the sweeps are not keeping up, or no process runs them), and failed ones.
    One read on the (state, due_at) index, at scrape time only."""
    due = SlaTimer.state == "active"
    stmt = select(
        func.coalesce(func.sum(case((and_(due, SlaTimer.due_at <= now), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(due, SlaTimer.due_at <= late_before), 1), else_=0)), 0),
        func.coalesce(func.sum(case((SlaTimer.state == "failed", 1), else_=0)), 0),
    ).where(or_(and_(due, SlaTimer.due_at <= now), SlaTimer.state == "failed"))
    row = (await conn.execute(stmt)).one()
    return int(row[0]), int(row[1]), int(row[2])


@dataclass(frozen=True, slots=True)
class TimerView:
    """A timer as operators see it (``frontdesk tickets timers``)."""

    ticket_number: int
    kind: str
    name: str
    state: str
    due_at: datetime | None
    fired_at: datetime | None
    fired_by: str | None


async def listing(
    conn: AsyncConnection, *, ticket_id: int | None = None, states: Sequence[str] = (), limit: int = 100
) -> list[TimerView]:
    """Timers soonest due first (paused ones, which have no due time, last)."""
    stmt = (
        select(Ticket.number, SlaTimer.kind, SlaTimer.name, SlaTimer.state, SlaTimer.due_at,
               SlaTimer.fired_at, SlaTimer.fired_by)
        .join(Ticket, Ticket.id == SlaTimer.ticket_id)
        .order_by(SlaTimer.due_at.is_(None), SlaTimer.due_at, SlaTimer.id)
        .limit(limit)
    )  # fmt: skip
    if ticket_id is not None:
        stmt = stmt.where(SlaTimer.ticket_id == ticket_id)
    if states:
        stmt = stmt.where(SlaTimer.state.in_(states))
    return [TimerView(*row) for row in await conn.execute(stmt)]


async def retry_failed(conn: AsyncConnection, *, ticket_id: int | None = None) -> list[tuple[int, str, str]]:
    """Make ``failed`` timers (an escalation that raised) active again with their past due
    time, so the next sweep fires them; returns (ticket id, kind, name) of each."""
    stmt = (
        update(SlaTimer)
        .where(SlaTimer.state == "failed")
        .values(state="active", fired_at=None, fired_by=None)
        .returning(SlaTimer.ticket_id, SlaTimer.kind, SlaTimer.name)
    )
    if ticket_id is not None:
        stmt = stmt.where(SlaTimer.ticket_id == ticket_id)
    return [(int(t), str(k), str(n)) for t, k, n in await conn.execute(stmt)]
