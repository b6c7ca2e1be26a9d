"""Which rollup rows a dashboard range reads, and their sums, computed in the database.

A range ``[start, until)`` (``start`` on an hour) reads hourly rows when the dashboard is bucketed
by hour. Bucketed by day, it reads ``report_daily`` for the whole UTC days inside it and
``report_hourly`` only for the hours before the first midnight and after the last (the console's
7- and 30-day ranges start at the current hour; custom ranges are whole days and read no hours).
Bucketed by week (ranges over 90 days), it reads ``report_weekly`` for the whole weeks (Monday
00:00 UTC) inside it, the daily rows for the days before the first Monday and after the last, and
the hourly rows at the edges as above. The grains hold the same counts
(:mod:`ticketing.rollup_models`), so the figures are the same as summing hours, only fewer rows
are read.

Each part is read with two grouped queries, so what crosses to Python is what the dashboard
shows, not every (channel, queue, key) row: the charted figures summed per (metric, time, group),
where the group is the chart's line (channel, queue or sentiment label); the distributions
(durations, SLA, CSAT, intents) summed per (metric, key) over the whole part.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.rollup_models import ReportDaily, ReportHourly, ReportWeekly, day_of, week_of

__all__ = [
    "CONVERSATION_METRICS",
    "Part",
    "parts",
    "read_keys",
    "read_series",
    "run_reads",
]

# The charted figures and the column their lines are drawn by ('' for one line).
_BY_CHANNEL = ("conversations", "conversations_ticketed", "messages_in")
_BY_QUEUE = ("tickets_opened", "tickets_solved")
_BY_KEY = ("sentiment",)
_ONE_LINE = ("complaints", "unanswered")
_SERIES = _BY_CHANNEL + _BY_QUEUE + _BY_KEY + _ONE_LINE
# The distributions: summed over the range per key.
_DISTRIBUTIONS = ("first_response", "resolution", "sla_met", "sla_breached", "csat", "intent")
# Figures of conversations, not tickets: the queue filter does not apply to them.
CONVERSATION_METRICS = (
    "conversations", "conversations_ticketed", "messages_in", "unanswered", "sentiment", "complaints",
    "intent",
)  # fmt: skip

_GRAINS: dict[str, tuple[Any, Any]] = {
    "hour": (ReportHourly, ReportHourly.hour),
    "day": (ReportDaily, ReportDaily.day),
    "week": (ReportWeekly, ReportWeekly.week),
}


@dataclass(frozen=True, slots=True)
class Part:
    """Rows of one grain with ``lo <= time < hi``."""

    grain: str  # hour | day | week
    lo: datetime
    hi: datetime


def parts(start: datetime, until: datetime, bucket: str) -> tuple[Part, ...]:
    """The grains that cover ``[start, until)``: whole weeks from the weekly rows when bucketed by
    week, whole UTC days from the daily rows when bucketed by day or week, the hours at the edges
    (and everything when bucketed by hour) from the hourly ones."""
    if bucket not in ("day", "week"):
        return (Part("hour", start, until),)
    first = start if day_of(start) == start else day_of(start) + timedelta(days=1)
    # the hours read are those starting before ``until``: a day is whole if its last hour is one
    last = day_of(until - timedelta(microseconds=1) + timedelta(hours=1))
    if first >= last:
        return (Part("hour", start, until),)
    out = []
    if start < first:
        out.append(Part("hour", start, first))
    out.extend(_days(first, last) if bucket == "week" else (Part("day", first, last),))
    if last < until:
        out.append(Part("hour", last, until))
    return tuple(out)


def _days(first: datetime, last: datetime) -> tuple[Part, ...]:
    """Whole days ``[first, last)`` as whole weeks and the days around them."""
    monday = first if week_of(first) == first else week_of(first) + timedelta(days=7)
    end = week_of(last)
    if monday >= end:
        return (Part("day", first, last),)
    out = []
    if first < monday:
        out.append(Part("day", first, monday))
    out.append(Part("week", monday, end))
    if end < last:
        out.append(Part("day", end, last))
    return tuple(out)


async def read_series(
    conn: AsyncConnection, ranges: Sequence[Part], channel: str | None, queue: str | None
) -> list[tuple[str, datetime, str, int]]:
    """The charted figures per (metric, time, line): metric, time, group, value."""
    out: list[tuple[str, datetime, str, int]] = []
    for part in ranges:
        model, at, where = _where(part, channel, queue)
        group = case(
            (model.metric.in_(_BY_CHANNEL), model.channel),
            (model.metric.in_(_BY_QUEUE), model.queue),
            (model.metric.in_(_BY_KEY), model.key),
            else_=literal(""),
        )
        # GROUP BY position: the CASE's bound values would be new parameters in a repeated expression
        series = (
            select(model.metric, at, group, func.sum(model.value))
            .where(model.metric.in_(_SERIES), *where)
            .group_by(text("1"), text("2"), text("3"))
        )
        out.extend(
            (metric, moment, name, int(value)) for metric, moment, name, value in await conn.execute(series)
        )
    return out


async def read_keys(
    conn: AsyncConnection, ranges: Sequence[Part], channel: str | None, queue: str | None
) -> list[tuple[str, str, int]]:
    """The distributions per (metric, key) over each part: metric, key, value."""
    out: list[tuple[str, str, int]] = []
    for part in ranges:
        model, _at, where = _where(part, channel, queue)
        keys = (
            select(model.metric, model.key, func.sum(model.value))
            .where(model.metric.in_(_DISTRIBUTIONS), *where)
            .group_by(model.metric, model.key)
        )
        out.extend((metric, key, int(value)) for metric, key, value in await conn.execute(keys))
    return out


def _where(part: Part, channel: str | None, queue: str | None) -> tuple[Any, Any, list[Any]]:
    """The part's table, its time column and the conditions for the part and the filters."""
    model, at = _GRAINS[part.grain]
    where = [at >= part.lo, at < part.hi]
    if channel is not None:
        where.append(model.channel == channel)
    if queue is not None:
        where.append(or_(model.queue == queue, model.metric.in_(CONVERSATION_METRICS)))
    return model, at, where


Read = Callable[[AsyncConnection], Awaitable[Any]]


async def run_reads(engine: AsyncEngine, *reads: Read) -> list[Any]:
    """Each read's result, in order. On PostgreSQL each read gets a connection of its own and they
    run at the same time, so the server works on them in parallel and the page waits for the
    slowest, not the sum; SQLite's engine has one connection (:mod:`ticketing.database`), so
    there they run one after the other on it. Separate connections read separate snapshots, as
    separate statements under READ COMMITTED already did."""
    if engine.dialect.name != "postgresql":
        async with engine.connect() as conn:
            return [await read(conn) for read in reads]

    async def alone(read: Read) -> Any:
        async with engine.connect() as conn:
            return await read(conn)

    async with asyncio.TaskGroup() as group:  # one failing cancels the others
        tasks = [group.create_task(alone(read)) for read in reads]
    return [task.result() for task in tasks]
