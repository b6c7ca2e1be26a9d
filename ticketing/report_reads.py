"""Which rollup rows a dashboard range reads, and their sums, computed in the database.

A range ``[start, until)`` (``start`` on an hour) reads hourly rows when the dashboard is bucketed
by hour. Bucketed by day, it reads ``report_daily`` for the whole UTC days inside it and
``report_hourly`` only for the hours before the first midnight and after the last (the console's
7- and 30-day ranges start at the current hour; custom ranges are whole days and read no hours).
Both grains hold the same counts (:mod:`ticketing.rollup_models`), so the figures are the same as
summing hours, only fewer rows are read.

Each part is read with two grouped queries, so what crosses to Python is what the dashboard
shows, not every (channel, queue, key) row: the charted figures summed per (metric, time, group),
where the group is the chart's line (channel, queue or sentiment label); the distributions
(durations, SLA, CSAT, intents) summed per (metric, key) over the whole part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.rollup_models import ReportDaily, ReportHourly, day_of

__all__ = ["CONVERSATION_METRICS", "Part", "Sums", "parts", "read_sums"]

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


@dataclass(frozen=True, slots=True)
class Part:
    """Rows of one grain with ``lo <= time < hi``."""

    grain: str  # hour | day
    lo: datetime
    hi: datetime


@dataclass(slots=True)
class Sums:
    series: list[tuple[str, datetime, str, int]] = field(default_factory=list)  # metric, time, group, value
    keys: list[tuple[str, str, int]] = field(default_factory=list)  # metric, key, value (distributions)


def parts(start: datetime, until: datetime, bucket: str) -> tuple[Part, ...]:
    """The grains that cover ``[start, until)``: whole UTC days from the daily rows when bucketed by
    day, the hours at the edges (and everything when bucketed by hour) from the hourly ones."""
    if bucket != "day":
        return (Part("hour", start, until),)
    first = start if day_of(start) == start else day_of(start) + timedelta(days=1)
    # the hours read are those starting before ``until``: a day is whole if its last hour is one
    last = day_of(until - timedelta(microseconds=1) + timedelta(hours=1))
    if first >= last:
        return (Part("hour", start, until),)
    out = []
    if start < first:
        out.append(Part("hour", start, first))
    out.append(Part("day", first, last))
    if last < until:
        out.append(Part("hour", last, until))
    return tuple(out)


async def read_sums(
    conn: AsyncConnection, ranges: Sequence[Part], channel: str | None, queue: str | None
) -> Sums:
    sums = Sums()
    for part in ranges:
        model: Any = ReportDaily if part.grain == "day" else ReportHourly
        at = model.day if part.grain == "day" else model.hour
        where = [at >= part.lo, at < part.hi]
        if channel is not None:
            where.append(model.channel == channel)
        if queue is not None:
            where.append(or_(model.queue == queue, model.metric.in_(CONVERSATION_METRICS)))
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
        for metric, moment, name, value in await conn.execute(series):
            sums.series.append((metric, moment, name, int(value)))
        keys = (
            select(model.metric, model.key, func.sum(model.value))
            .where(model.metric.in_(_DISTRIBUTIONS), *where)
            .group_by(model.metric, model.key)
        )
        sums.keys.extend((metric, key, int(value)) for metric, key, value in await conn.execute(keys))
    return sums
