"""The report rollups job: keeps the hourly, daily and weekly report rollups current, off the message path.

Nothing is added to the turn transaction (web chat throughput is protected): the durable records
already say what happened. This job tails ``interactions`` and ``ticket_events`` in id order
after its cursors (``channel_cursors``, channel ``reports``), counts a bounded batch of each in
memory (:mod:`ticketing.rollup_sources`) and, in the same transaction, adds the counts to the
hourly rows, their sums per UTC day to the daily rows and per week (from Monday, UTC) to the
weekly rows (``INSERT … ON CONFLICT DO UPDATE SET value = value + excluded.value``), so the three
grains always agree, and moves the cursors, locked ``FOR UPDATE``. A row is therefore
counted exactly once: a batch either commits its counts and its cursor move together or neither.
PostgreSQL commits ids out of order, so each cursor stops before a hole until it fills or will not
(:class:`~ticketing.commit_order.HoleGuard`, as the event feed does). The loop runs only in the
holder of the advisory lock; the cursor lock keeps even two concurrent runs exact, the advisory
lock just spares the wasted work.

The cursors start at 0: on first start the whole history is rolled up, ``batch`` rows at a time.
Erasure (``customer_admin.erase``) keeps statistics, so it needs nothing here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.loops import BackgroundTask, every
from ticketing.commit_order import HoleGuard
from ticketing.leader import Leadership
from ticketing.models import ChannelCursor, Interaction, TicketEvent
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
        # The cursors as this process last committed them: with nothing newer, a round costs one
        # read and no write transaction (SQLite's single writer is not taken every interval).
        self._taken: tuple[int, int] | None = None

    async def start(self) -> None:
        self._loop.start(every(self._interval, self._round, failed=self._failed))

    async def stop(self) -> None:
        await self._loop.stop()
        await self._leadership.release()

    async def catch_up(self) -> int:
        """Roll up every row written so far (stopping before a hole that may still fill);
        returns how many rows were read."""
        total = 0
        while (read := await self.run_once()) > 0:
            total += read
        return total

    async def run_once(self) -> int:
        """One batch of each source, counted and committed with the cursor moves."""
        async with self._round_lock:
            async with self._engine.connect() as conn:
                newest = tuple(int(x) for x in (await conn.execute(_NEWEST)).one())
            taken = self._taken
            if taken is not None and newest[0] <= taken[0] and newest[1] <= taken[1]:
                return 0
            now = utcnow()
            counts = Counts()
            async with self._engine.begin() as conn:
                messages, message_upto = await self._read(conn, Interaction, _MESSAGE_COLUMNS, now)
                await count_interactions(conn, messages, counts)
                events, event_upto = await self._read(conn, TicketEvent, _EVENT_COLUMNS, now)
                await count_events(conn, events, counts)
                rows = counts.rows()
                if rows:
                    await conn.execute(self._upsert, rows)
                    daily = counts.daily_rows()
                    await conn.execute(self._upsert_daily, daily)
                    await conn.execute(self._upsert_weekly, _weekly_rows(daily))
            self._taken = (message_upto, event_upto)
            return len(messages) + len(events)

    async def _read(
        self, conn: AsyncConnection, model: Any, columns: Sequence[str], now: datetime
    ) -> tuple[list[Any], int]:
        """The rows after the cursor up to a hole, and the cursor moved past them (same transaction)."""
        name = model.__tablename__
        await conn.execute(
            self._cursor_insert,
            {"channel": CURSOR_CHANNEL, "name": name, "value": {"last": 0}, "updated_at": now},
        )
        where = (ChannelCursor.channel == CURSOR_CHANNEL, ChannelCursor.name == name)
        value = (await conn.execute(select(ChannelCursor.value).where(*where).with_for_update())).scalar_one()
        after = int(value.get("last", 0))
        stmt = (
            select(*(getattr(model, c) for c in columns))
            .where(model.id > after)
            .order_by(model.id)
            .limit(self._batch)
        )
        rows = list((await conn.execute(stmt)).all())
        upto = await self._holes[name].upto(after, [row.id for row in rows])
        rows = [row for row in rows if row.id <= upto]
        if upto > after:
            move = update(ChannelCursor).where(*where).values(value={"last": upto}, updated_at=now)
            await conn.execute(move)
        return rows, upto

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


_MESSAGE_COLUMNS = ("id", "conversation_id", "channel", "direction", "analysis", "created_at")
_EVENT_COLUMNS = ("id", "ticket_id", "kind", "data", "created_at")
