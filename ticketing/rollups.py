"""The report rollups job: keeps the hourly, daily and weekly report rollups current, off the message path.

Nothing is added to the turn transaction (web chat throughput is protected): the durable records
already say what happened. This job tails ``interactions`` and ``ticket_events`` in id order
after its cursors (``channel_cursors``, channel ``reports``). A batch is read and counted
(:mod:`ticketing.rollup_sources`) through :class:`~ticketing.off_loop_reads.OffLoopReads`: on
SQLite in a process and on a connection of its own, so neither the engine's one connection nor
the event loop waits for it (they did, and the web chat's tail latency showed it). Then one short
transaction adds the counts to the hourly rows, their sums per UTC day to the daily rows and per
week (from Monday, UTC) to the weekly rows (``INSERT … ON CONFLICT DO UPDATE SET value = value +
excluded.value``), so the three grains always agree, and moves the cursors, locked ``FOR
UPDATE``, if they are still where the batch was read from; if another run moved them, the batch
is dropped and read again. A row is therefore counted exactly once: a batch either commits its
counts and its cursor move together or neither. PostgreSQL commits ids out of order, so each
cursor stops before a hole until it fills or will not (:class:`~ticketing.commit_order.HoleGuard`,
as the event feed does). The loop runs only in the holder of the advisory lock; the cursor check
keeps even two concurrent runs exact, the advisory lock just spares the wasted work.

The cursors start at 0: on first start the whole history is rolled up, ``batch`` rows at a time.
Erasure (``customer_admin.erase``) keeps statistics, so it needs nothing here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from core.loops import BackgroundTask, every
from ticketing.commit_order import HoleGuard
from ticketing.leader import Leadership
from ticketing.models import ChannelCursor, Interaction, TicketEvent
from ticketing.off_loop_reads import OffLoopReads
from ticketing.rollup_models import ReportDaily, ReportHourly, ReportWeekly, week_of
from ticketing.rollup_sources import Counts, count_events, count_interactions
from ticketing.time import utcnow

__all__ = ["CURSOR_CHANNEL", "LOCK", "ReportRollups"]

_LOGGER = logging.getLogger(__name__)
LOCK = 0x46_44_52_50_54  # "FDRPT"
CURSOR_CHANNEL = "reports"
_NEWEST = select(
    select(func.coalesce(func.max(Interaction.id), 0)).scalar_subquery(),
    select(func.coalesce(func.max(TicketEvent.id), 0)).scalar_subquery(),
)


class ReportRollups:
    """``start()``/``stop()`` in the app; ``catch_up()`` rolls up everything written so far."""

    def __init__(self, *, engine: AsyncEngine, interval: float = 10.0, batch: int = 2000) -> None:
        self._engine = engine
        self._interval = interval
        self._batch = batch
        self._leadership = Leadership(engine=engine, key=LOCK, name="the report rollups")
        self._holes = {
            "interactions": HoleGuard(engine, name="report rollups (interactions)"),
            "ticket_events": HoleGuard(engine, name="report rollups (ticket events)"),
        }
        self._loop = BackgroundTask(name="report-rollups")
        self._round_lock = asyncio.Lock()
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._cursor_insert = dialect.insert(ChannelCursor).on_conflict_do_nothing()
        self._upsert = _adding_upsert(dialect, ReportHourly, "hour")
        self._upsert_daily = _adding_upsert(dialect, ReportDaily, "day")
        self._upsert_weekly = _adding_upsert(dialect, ReportWeekly, "week")
        self._reads = OffLoopReads(engine)
        # The cursors as this process last committed them: with nothing newer, a round costs one
        # read and no write transaction (SQLite's single writer is not taken every interval).
        self._taken: tuple[int, int] | None = None

    async def start(self) -> None:
        self._loop.start(every(self._interval, self._round, failed=self._failed))

    async def stop(self) -> None:
        await self._loop.stop()
        await self._leadership.release()
        await self._reads.close()

    async def catch_up(self) -> int:
        """Roll up every row written so far (stopping before a hole that may still fill);
        returns how many rows were read."""
        total = 0
        while (read := await self.run_once()) > 0:
            total += read
        return total

    async def run_once(self) -> int:
        """One batch of each source: read and counted off the message path, then committed with
        the cursor moves if no other run moved them meanwhile (else read again)."""
        async with self._round_lock:
            while True:
                newest = await self._reads.run(_newest)
                taken = self._taken
                if taken is not None and newest[0] <= taken[0] and newest[1] <= taken[1]:
                    return 0
                after, messages, events = await self._reads.run(_after_cursors, self._batch)
                upto = (
                    await self._holes["interactions"].upto(after[0], messages),
                    await self._holes["ticket_events"].upto(after[1], events),
                )
                if upto == after:  # only rows past a hole that may still fill: nothing to write
                    return 0
                counted = await self._reads.run(_count, (after[0], upto[0]), (after[1], upto[1]))
                if await self._commit(after, upto, counted):
                    self._taken = upto
                    return sum(1 for i in messages if i <= upto[0]) + sum(1 for i in events if i <= upto[1])

    async def _commit(self, after: tuple[int, int], upto: tuple[int, int], counted: Counted) -> bool:
        """Adds the counts and moves the cursors in one short transaction, if the cursors are
        still where the batch was read from (locked ``FOR UPDATE``: two runs never both add)."""
        now = utcnow()
        async with self._engine.begin() as conn:
            for name in _SOURCES:
                insert = {"channel": CURSOR_CHANNEL, "name": name, "value": {"last": 0}, "updated_at": now}
                await conn.execute(self._cursor_insert, insert)
            if _positions(await conn.execute(_CURSORS.with_for_update())) != after:
                return False
            if counted.hourly:
                await conn.execute(self._upsert, counted.hourly)
                await conn.execute(self._upsert_daily, counted.daily)
                await conn.execute(self._upsert_weekly, counted.weekly)
            for name, start, end in zip(_SOURCES, after, upto, strict=True):
                if end > start:
                    where = (ChannelCursor.channel == CURSOR_CHANNEL, ChannelCursor.name == name)
                    move = update(ChannelCursor).where(*where).values(value={"last": end}, updated_at=now)
                    await conn.execute(move)
        return True

    async def _round(self) -> None:
        if await self._leadership.check():
            await self.catch_up()

    @staticmethod
    def _failed(exc: Exception) -> None:
        _LOGGER.warning("report rollup round failed, retrying next round: %s", exc)


def _adding_upsert(dialect: Any, model: Any, grain: str) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE SET value = value + excluded.value`` for one grain's table."""
    insert = dialect.insert(model)
    return insert.on_conflict_do_update(
        index_elements=["metric", grain, "channel", "queue", "key"],
        set_={"value": model.value + insert.excluded.value},
    )


def _weekly_rows(daily: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The daily increments summed per week, as ``report_weekly`` upsert rows, in key order (one
    lock order on PostgreSQL, as the hourly and daily rows)."""
    weeks: Counter[tuple[str, datetime, str, str, str]] = Counter()
    for row in daily:
        weeks[(row["metric"], week_of(row["day"]), row["channel"], row["queue"], row["key"])] += row["value"]
    return [
        {"metric": m, "week": w, "channel": c, "queue": q, "key": k, "value": v}
        for (m, w, c, q, k), v in sorted(weeks.items())
    ]


_SOURCES = ("interactions", "ticket_events")
_EVENT_COLUMNS = (
    TicketEvent.id,
    TicketEvent.ticket_id,
    TicketEvent.kind,
    TicketEvent.data,
    TicketEvent.created_at,
)


@dataclass(frozen=True, slots=True)
class Counted:
    """A batch's increments as upsert rows per grain."""

    hourly: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    weekly: list[dict[str, Any]]


_CURSORS = select(ChannelCursor.name, ChannelCursor.value).where(ChannelCursor.channel == CURSOR_CHANNEL)


def _positions(rows: Any) -> tuple[int, int]:
    """The (interactions, ticket_events) cursor positions from ``_CURSORS``'s rows (0 if absent)."""
    last = {name: int(value.get("last", 0)) for name, value in rows if isinstance(value, dict)}
    return last.get(_SOURCES[0], 0), last.get(_SOURCES[1], 0)


def _newest(conn: Connection) -> tuple[int, int]:
    newest = conn.execute(_NEWEST).one()
    return int(newest[0]), int(newest[1])


def _after_cursors(conn: Connection, batch: int) -> tuple[tuple[int, int], list[int], list[int]]:
    """The cursors (unlocked: the commit checks them) and the ids of up to ``batch`` rows of
    each source after them (for the hole guards)."""
    after = _positions(conn.execute(_CURSORS))
    messages = select(Interaction.id).where(Interaction.id > after[0]).order_by(Interaction.id).limit(batch)
    events = select(TicketEvent.id).where(TicketEvent.id > after[1]).order_by(TicketEvent.id).limit(batch)
    return after, list(conn.execute(messages).scalars()), list(conn.execute(events).scalars())


def _count(conn: Connection, messages: tuple[int, int], events: tuple[int, int]) -> Counted:
    """The increments of the messages and the ticket events with ids in these (after, upto]."""
    counts = Counts()
    count_interactions(conn, *messages, counts)
    if events[1] > events[0]:
        rows = conn.execute(
            select(*_EVENT_COLUMNS).where(TicketEvent.id > events[0], TicketEvent.id <= events[1])
        ).all()
        count_events(conn, rows, counts)
    daily = counts.daily_rows()
    return Counted(counts.rows(), daily, _weekly_rows(daily))
